package eu.hanse.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A site's request for a TLS certificate: a fresh EC P-256 key pair and a PKCS#10 certificate
 * signing request (CSR) signed by it, so the private key never leaves the site.
 *
 * <p>The site sends {@link #der()} to the CA ({@link CertificateAuthority#issueFromRequest}),
 * stores the key with {@link #savePrivateKey} as its {@code node.key}, and the issued certificate
 * with {@link TlsFiles#writeIssued}.
 *
 * <p>Immutable and safe to share between threads. The instance owns the private key; only
 * {@link #savePrivateKey} lets it out.
 */
public final class CertificateRequest {
  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
  private static final int MAX_COMMON_NAME_LENGTH = 64;

  private final KeyPair keyPair;
  private final byte[] der;

  private CertificateRequest(KeyPair keyPair, byte[] der) {
    this.keyPair = keyPair;
    this.der = der;
  }

  /**
   * Generates a key pair and a CSR with subject {@code CN=<commonName>}, signed with
   * SHA256withECDSA.
   *
   * <p>The subject is informational: the CA decides the certificate's identity itself (see
   * {@link CertificateAuthority#issueFromRequest}), so a CSR cannot claim to be another node.
   *
   * @throws IllegalArgumentException if {@code commonName} is blank, longer than 64 characters or
   *     contains control characters
   */
  public static CertificateRequest generate(String commonName) {
    if (commonName == null || commonName.isBlank()
        || commonName.length() > MAX_COMMON_NAME_LENGTH
        || commonName.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException(
          "CSR common name must be 1 to " + MAX_COMMON_NAME_LENGTH + " characters without control"
              + " characters, got " + (commonName == null ? "null" : "'" + commonName + "'")
              + "; use the site name");
    }
    KeyPair keyPair = CertificateAuthority.newEcKeyPair();
    try {
      PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(
          new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build(),
          keyPair.getPublic())
          .build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(keyPair.getPrivate()));
      return new CertificateRequest(keyPair, csr.getEncoded());
    } catch (OperatorCreationException e) {
      throw new IllegalStateException(
          "Could not sign the certificate request: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not encode the certificate request", e);
    }
  }

  /** The DER-encoded PKCS#10 request, a fresh copy each call. */
  public byte[] der() {
    return der.clone();
  }

  /** The public key the certificate will carry. */
  public PublicKey publicKey() {
    return keyPair.getPublic();
  }

  /**
   * Writes the private key as PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), owner-only (rw-------) from
   * its first byte, atomically, replacing an existing file: the same form as the {@code node.key}
   * that {@link CertificateAuthority#issue} writes. The parent directory is created rwx------ if
   * absent.
   *
   * @throws java.io.UncheckedIOException if the file cannot be written
   */
  public void savePrivateKey(Path file) {
    Objects.requireNonNull(file, "file");
    PemFiles.createPrivateDirectory(file.toAbsolutePath().getParent());
    PemFiles.writePrivateKey(file, keyPair.getPrivate());
  }
}
