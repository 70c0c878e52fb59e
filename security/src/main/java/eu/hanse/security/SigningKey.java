package eu.hanse.security;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.EdECPrivateKey;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;

/**
 * An Ed25519 key pair that signs Hanse claims ({@link UpdateClaims}, {@link CheckpointClaims}).
 *
 * <p>Ed25519 is for signing only, never for TLS (TLS uses EC P-256 keys from the
 * {@link CertificateAuthority}). Keys come from the JDK's own {@code Ed25519} provider.
 *
 * <p>Immutable; {@link #sign} may be called from several threads at once (each call uses its own
 * {@link Signature}). The instance owns its private key; nothing else holds it unless
 * {@link #save} writes it out.
 */
public final class SigningKey {
  private final PrivateKey privateKey;
  private final PublicKey publicKey;

  private SigningKey(PrivateKey privateKey, PublicKey publicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** A fresh random Ed25519 key pair. */
  public static SigningKey generate() {
    try {
      KeyPair pair = KeyPairGenerator.getInstance(Signatures.ALGORITHM).generateKeyPair();
      return new SigningKey(pair.getPrivate(), pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "This JDK cannot generate Ed25519 keys: " + e.getMessage() + ". Use JDK 21 or newer.", e);
    }
  }

  /**
   * Loads a private key written by {@link #save}; the public key is derived from it, so the
   * public PEM is not needed.
   *
   * @throws IllegalStateException naming the file if it is missing or not a PKCS#8 Ed25519 key
   * @throws java.io.UncheckedIOException if the file cannot be read
   */
  public static SigningKey load(Path privatePem) {
    Objects.requireNonNull(privatePem, "privatePem");
    PrivateKey key = PemFiles.readPrivateKey(privatePem, Signatures.ALGORITHM);
    byte[] seed = key instanceof EdECPrivateKey edKey ? edKey.getBytes().orElse(null) : null;
    if (seed == null) {
      throw new IllegalStateException(
          privatePem + " holds an Ed25519 key whose bytes this JDK does not expose; cannot"
              + " derive its public key");
    }
    // The JDK has no public API to derive an Ed25519 public key; Bouncy Castle's lightweight
    // API does it without registering a provider.
    byte[] rawPublic = new Ed25519PrivateKeyParameters(seed, 0).generatePublicKey().getEncoded();
    return new SigningKey(key, Signatures.publicKeyFromRaw(rawPublic));
  }

  /**
   * Writes the private key to {@code privatePem} (PKCS#8 PEM, {@code BEGIN PRIVATE KEY},
   * rw------- from its first byte) and the public key to {@code publicPem} (X.509
   * SubjectPublicKeyInfo PEM, {@code BEGIN PUBLIC KEY}, rw-r--r--). Both are written atomically
   * and replace existing files; their directories must exist.
   *
   * @throws java.io.UncheckedIOException if a file cannot be written
   */
  public void save(Path privatePem, Path publicPem) {
    Objects.requireNonNull(privatePem, "privatePem");
    Objects.requireNonNull(publicPem, "publicPem");
    // Private first: a crash in between leaves a key whose public half can be re-derived,
    // never a published public key whose private half is lost.
    PemFiles.writePrivateKey(privatePem, privateKey);
    PemFiles.writePem(publicPem, Signatures.PUBLIC_KEY_PEM, publicKey.getEncoded(), false);
  }

  /** The public half, for {@link Signatures#verify}. */
  /** For signers in this package (the audit trail's head); the key never leaves the package. */
  PrivateKey privateKey() {
    return privateKey;
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  /** The 64-byte Ed25519 signature of {@code message}. */
  public byte[] sign(byte[] message) {
    Objects.requireNonNull(message, "message");
    try {
      Signature signer = Signature.getInstance(Signatures.ALGORITHM);
      signer.initSign(privateKey);
      signer.update(message);
      return signer.sign();
    } catch (InvalidKeyException | SignatureException e) {
      throw new IllegalStateException("Could not sign with Ed25519: " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("This JDK has no Ed25519 signer: " + e.getMessage(), e);
    }
  }

  /** Names the key by its public half only; the private key never appears in logs. */
  @Override
  public String toString() {
    return "SigningKey[Ed25519 " + Digests.hex(Signatures.rawPublicKey(publicKey)) + "]";
  }
}
