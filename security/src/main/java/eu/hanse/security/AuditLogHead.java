package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The head file of an {@link AuditLog}: the seq and hash of the log's last entry, optionally
 * signed.
 *
 * <p>A hash chain shows that nothing was changed, inserted or reordered, but a chain with entries
 * cut off its end is still a valid chain. The head records where the trail ends; signed with an
 * Ed25519 key that the attacker does not hold, it cannot be rewritten to match a shortened log.
 *
 * <p>Format: exactly this compact JSON object and a newline, {@code signature} absent when
 * unsigned (any other spelling is refused as malformed):
 *
 * <pre>{@code
 * {"seq":12,"hash":"<64 hex>","signature":"<base64>"}
 * }</pre>
 *
 * <p>{@code hash} is the hash of entry {@code seq}, or 64 zeros for an empty log.
 *
 * <p>The signature is Ed25519 (the JDK's "Ed25519" Signature) over the UTF-8 bytes of
 * {@code "hanse-audit-head/1\nseq <seq>\nhash <hash>\n"}.
 *
 * @param seq the seq of the last entry, 0 for an empty log
 * @param hash the hash of the last entry, {@link AuditEntry#GENESIS_PREV} for an empty log
 * @param signature the base64 Ed25519 signature, or null if unsigned
 */
record AuditLogHead(long seq, String hash, String signature) {
  private static final String ALGORITHM = "Ed25519";
  private static final Set<String> MEMBERS = Set.of("seq", "hash", "signature");
  private static final Pattern HEX_HASH = Pattern.compile("[0-9a-f]{64}");

  AuditLogHead {
    if (seq < 0) {
      throw new IllegalArgumentException("seq must not be negative, not " + seq);
    }
    if (hash == null || !HEX_HASH.matcher(hash).matches()) {
      throw new IllegalArgumentException("hash must be 64 lower-case hex digits");
    }
  }

  /**
   * The head file next to {@code log}: {@code audit.log} has {@code audit.head}; a name without the
   * {@code .log} suffix gets {@code .head} appended.
   */
  static Path fileFor(Path log) {
    String name = log.getFileName().toString();
    String base = name.endsWith(".log") ? name.substring(0, name.length() - 4) : name;
    return log.resolveSibling(base + ".head");
  }

  /** The head after entry {@code seq} whose hash is {@code hash}, signed unless the key is null. */
  static AuditLogHead of(long seq, String hash, PrivateKey keyOrNull) {
    if (keyOrNull == null) {
      return new AuditLogHead(seq, hash, null);
    }
    return new AuditLogHead(
        seq, hash, Base64.getEncoder().encodeToString(sign(keyOrNull, message(seq, hash))));
  }

  /**
   * Checks up front that {@code key} can sign heads, so a wrong key fails at open, not at the first
   * append.
   *
   * @throws IllegalArgumentException if it is not an Ed25519 private key
   */
  static void requireSigningKey(PrivateKey key) {
    try {
      Signature.getInstance(ALGORITHM).initSign(key);
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException(
          "The audit head signing key must be an Ed25519 private key, not "
              + key.getAlgorithm() + " (" + e.getMessage() + ")",
          e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK has no Ed25519", e);
    }
  }

  /**
   * Reads a head file.
   *
   * @return the head, or null if the file does not exist
   * @throws IllegalArgumentException if the file is not a well-formed head, saying why
   * @throws IOException if it cannot be read
   */
  static AuditLogHead read(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file, UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    }
    JsonNode node;
    try {
      node = AuditEntryCodec.JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    for (Map.Entry<String, JsonNode> member : node.properties()) {
      if (!MEMBERS.contains(member.getKey())) {
        throw new IllegalArgumentException("unknown member \"" + member.getKey() + "\"");
      }
    }
    JsonNode seq = node.get("seq");
    JsonNode hash = node.get("hash");
    JsonNode signature = node.get("signature");
    if (seq == null || !seq.isIntegralNumber() || !seq.canConvertToLong()) {
      throw new IllegalArgumentException("\"seq\" is missing or not an integer");
    }
    if (hash == null || !hash.isTextual()) {
      throw new IllegalArgumentException("\"hash\" is missing or not a string");
    }
    if (signature != null && !signature.isTextual()) {
      throw new IllegalArgumentException("\"signature\" is not a string");
    }
    AuditLogHead head = new AuditLogHead(
        seq.longValue(), hash.textValue(), signature == null ? null : signature.textValue());
    // Only the writer's exact bytes are accepted: the head is machine-written, and this way no
    // byte of it can change unnoticed, not even whitespace.
    if (!text.equals(head.text())) {
      throw new IllegalArgumentException("not in the form the audit log writes");
    }
    return head;
  }

  /** Replaces the head file atomically (see {@link AuditLogFiles#writeAtomically}). */
  void write(Path file) {
    AuditLogFiles.writeAtomically(file, text().getBytes(UTF_8));
  }

  /** The file's content: compact JSON, members in the documented order, and a newline. */
  private String text() {
    ObjectNode node = AuditEntryCodec.JSON.createObjectNode();
    node.put("seq", seq);
    node.put("hash", hash);
    if (signature != null) {
      node.put("signature", signature);
    }
    return node + "\n";
  }

  /** Whether this head carries a signature that verifies with {@code key}. */
  boolean signatureVerifies(PublicKey key) {
    byte[] bytes = signatureBytes();
    if (bytes == null) {
      return false;
    }
    try {
      Signature verifier = Signature.getInstance(ALGORITHM);
      verifier.initVerify(key);
      verifier.update(message(seq, hash));
      return verifier.verify(bytes);
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException(
          "The audit head verifying key must be an Ed25519 public key, not " + key.getAlgorithm(),
          e);
    } catch (GeneralSecurityException e) {
      // A signature of the wrong length or encoding is simply not a valid signature.
      return false;
    }
  }

  /**
   * Whether this head's signature is the one {@code key} makes for it. The writer holds only the
   * private key; Ed25519 signatures are deterministic (RFC 8032), so signing again and comparing
   * checks the signature without needing the public key.
   */
  boolean signedWith(PrivateKey key) {
    byte[] bytes = signatureBytes();
    return bytes != null && MessageDigest.isEqual(bytes, sign(key, message(seq, hash)));
  }

  private byte[] signatureBytes() {
    if (signature == null) {
      return null;
    }
    try {
      byte[] bytes = Base64.getDecoder().decode(signature);
      // The decoder ignores unused low bits of the last character; accept only the one spelling.
      return Base64.getEncoder().encodeToString(bytes).equals(signature) ? bytes : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static byte[] message(long seq, String hash) {
    return ("hanse-audit-head/1\nseq " + seq + "\nhash " + hash + "\n").getBytes(UTF_8);
  }

  private static byte[] sign(PrivateKey key, byte[] message) {
    try {
      Signature signer = Signature.getInstance(ALGORITHM);
      signer.initSign(key);
      signer.update(message);
      return signer.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Could not sign the audit head: " + e.getMessage(), e);
    }
  }
}
