package eu.hanse.agent;

import eu.hanse.security.Signatures;
import eu.hanse.security.SigningKey;
import eu.hanse.security.TlsFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Base64;

/**
 * A site's key material under {@code <data-dir>/tls}: its TLS key and certificate and the CA
 * certificate ({@link TlsFiles}), its Ed25519 key for signing updates ({@code signing.key},
 * {@code signing.pub}), and the consortium's key that signs checkpoints ({@code checkpoint-signing.pub}).
 * Every private key was made here and never leaves this folder.
 */
public record SiteCredentials(Path tlsDir) {
  public TlsFiles tls() {
    return TlsFiles.in(tlsDir);
  }

  public Path signingKeyFile() {
    return tlsDir.resolve("signing.key");
  }

  public Path signingPublicKeyFile() {
    return tlsDir.resolve("signing.pub");
  }

  public Path checkpointVerifyingKeyFile() {
    return tlsDir.resolve("checkpoint-signing.pub");
  }

  /** True when the site has enrolled: a certificate, its keys and the consortium's checkpoint key. */
  public boolean complete() {
    return Files.isRegularFile(tls().certificate()) && Files.isRegularFile(tls().privateKey())
        && Files.isRegularFile(signingKeyFile()) && Files.isRegularFile(checkpointVerifyingKeyFile());
  }

  /** Fails with what is missing and how to get it. */
  public SiteCredentials requireComplete() {
    if (!complete()) {
      throw new IllegalStateException("site credentials in " + tlsDir + " are incomplete: enrol first with "
          + "'hanse agent enroll --coordinator HOST:PORT --token TOKEN --data-dir " + tlsDir.getParent() + "'");
    }
    return this;
  }

  public SigningKey signingKey() {
    return SigningKey.load(signingKeyFile());
  }

  public PublicKey checkpointVerifyingKey() {
    return Signatures.loadPublicKey(checkpointVerifyingKeyFile());
  }

  /** Writes a public key as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo). */
  static void writePublicKey(Path file, PublicKey key) {
    String pem = "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
    try {
      Files.writeString(file, pem, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
