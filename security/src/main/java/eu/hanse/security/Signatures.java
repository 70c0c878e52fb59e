package eu.hanse.security;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;

/**
 * Verifying Ed25519 signatures and moving Ed25519 public keys between their forms: the JDK's
 * {@link PublicKey}, PEM ({@code BEGIN PUBLIC KEY}, X.509 SubjectPublicKeyInfo) and the 32 raw
 * bytes of RFC 8032 that certificates and wire messages carry.
 *
 * <p>Uses the JDK's own {@code Ed25519} provider. Stateless; every method is safe to call from any
 * thread.
 */
public final class Signatures {
  /** Length of a raw Ed25519 public key. */
  public static final int PUBLIC_KEY_LENGTH = 32;
  /** Length of an Ed25519 signature. */
  public static final int SIGNATURE_LENGTH = 64;

  static final String ALGORITHM = "Ed25519";
  static final String PUBLIC_KEY_PEM = "PUBLIC KEY";
  /**
   * DER prefix of every Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID
   * 1.3.101.112 }, BIT STRING (33 bytes, no unused bits) }. The raw key follows it.
   */
  private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private Signatures() {}

  /**
   * Whether {@code signature} is a valid Ed25519 signature of {@code message} under
   * {@code publicKey}.
   *
   * <p>Returns false, and never throws, for a null, wrong-length or malformed signature: a
   * signature arrives from the network and a bad one is an answer, not an error.
   *
   * @throws NullPointerException if {@code publicKey} or {@code message} is null
   * @throws IllegalArgumentException if {@code publicKey} is not an Ed25519 key (a programming
   *     error, unlike a bad signature)
   */
  public static boolean verify(PublicKey publicKey, byte[] message, byte[] signature) {
    Objects.requireNonNull(publicKey, "publicKey");
    Objects.requireNonNull(message, "message");
    rawPublicKey(publicKey);
    if (signature == null || signature.length != SIGNATURE_LENGTH) {
      return false;
    }
    try {
      Signature verifier = Signature.getInstance(ALGORITHM);
      verifier.initVerify(publicKey);
      verifier.update(message);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      // The JDK throws SignatureException for some malformed signatures (e.g. S >= group order);
      // for the caller those are just as invalid as a mismatching one.
      return false;
    }
  }

  /**
   * Reads an Ed25519 public key from a PEM file ({@code BEGIN PUBLIC KEY}, as written by
   * {@link SigningKey#save}).
   *
   * @throws IllegalStateException naming the file if it is missing, not PEM, or not an Ed25519
   *     public key
   * @throws java.io.UncheckedIOException if the file cannot be read
   */
  public static PublicKey loadPublicKey(Path pem) {
    Objects.requireNonNull(pem, "pem");
    byte[] der = PemFiles.readPem(pem, PUBLIC_KEY_PEM);
    if (der.length != SPKI_PREFIX.length + PUBLIC_KEY_LENGTH
        || !Arrays.equals(der, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw new IllegalStateException(
          pem + " does not hold an Ed25519 public key; expected the " + PUBLIC_KEY_PEM
              + " file written next to the signing key (e.g. checkpoint-signing.pub)");
    }
    try {
      return publicKeyFromRaw(Arrays.copyOfRange(der, SPKI_PREFIX.length, der.length));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(pem + ": " + e.getMessage(), e);
    }
  }

  /**
   * The 32 raw bytes (RFC 8032 encoding) of an Ed25519 public key.
   *
   * @throws IllegalArgumentException if {@code publicKey} is not an Ed25519 key
   */
  public static byte[] rawPublicKey(PublicKey publicKey) {
    Objects.requireNonNull(publicKey, "publicKey");
    byte[] der = publicKey.getEncoded();
    // Every provider encodes Ed25519 keys as the same 44-byte SubjectPublicKeyInfo, so checking
    // the fixed prefix identifies the key type without depending on provider class names.
    if (der == null
        || der.length != SPKI_PREFIX.length + PUBLIC_KEY_LENGTH
        || !Arrays.equals(der, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw new IllegalArgumentException(
          "Expected an Ed25519 public key, got a " + publicKey.getAlgorithm() + " key; Hanse"
              + " signs updates and checkpoints with Ed25519 only (see SigningKey)");
    }
    return Arrays.copyOfRange(der, SPKI_PREFIX.length, der.length);
  }

  /**
   * The Ed25519 public key whose raw encoding is {@code raw}.
   *
   * @throws IllegalArgumentException if {@code raw} is not 32 bytes or does not encode a point on
   *     the curve
   */
  public static PublicKey publicKeyFromRaw(byte[] raw) {
    Objects.requireNonNull(raw, "raw");
    if (raw.length != PUBLIC_KEY_LENGTH) {
      throw new IllegalArgumentException(
          "An Ed25519 public key is " + PUBLIC_KEY_LENGTH + " bytes, got " + raw.length);
    }
    try {
      // The JDK decodes any 32 bytes without checking the point; Bouncy Castle's lightweight
      // parser does, so a corrupt key is refused here rather than failing every verification.
      new Ed25519PublicKeyParameters(raw, 0);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "The 32 bytes " + HexFormat.of().formatHex(raw) + " are not a valid Ed25519 public key"
              + " (not a point on the curve)", e);
    }
    byte[] der = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + PUBLIC_KEY_LENGTH);
    System.arraycopy(raw, 0, der, SPKI_PREFIX.length, PUBLIC_KEY_LENGTH);
    try {
      return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("This JDK cannot decode Ed25519 keys: " + e.getMessage(), e);
    }
  }
}
