package eu.hanse.security;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The three PEM files a node needs for mutual TLS.
 *
 * @param caCertificate the consortium CA certificate, the only certificate the node trusts
 * @param certificate the node's own certificate, issued by that CA
 * @param privateKey the node's private key, PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), owner-only
 */
public record TlsFiles(Path caCertificate, Path certificate, Path privateKey) {
  /** File name of the CA certificate inside a TLS directory. */
  public static final String CA_CERTIFICATE = "ca.crt";
  /** File name of the node certificate inside a TLS directory. */
  public static final String CERTIFICATE = "node.crt";
  /** File name of the node private key inside a TLS directory. */
  public static final String PRIVATE_KEY = "node.key";

  /** Requires all three paths. */
  public TlsFiles {
    Objects.requireNonNull(caCertificate, "caCertificate");
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  /**
   * The standard layout written by {@link CertificateAuthority#issue}: {@code tlsDir/ca.crt},
   * {@code tlsDir/node.crt} and {@code tlsDir/node.key}.
   */
  public static TlsFiles in(Path tlsDir) {
    Objects.requireNonNull(tlsDir, "tlsDir");
    return new TlsFiles(
        tlsDir.resolve(CA_CERTIFICATE), tlsDir.resolve(CERTIFICATE), tlsDir.resolve(PRIVATE_KEY));
  }

  /**
   * Stores a certificate issued from a {@link CertificateRequest} next to the node's key:
   * {@code tlsDir/node.crt} and the CA certificate as {@code tlsDir/ca.crt}, each written
   * atomically and replacing an existing file. The key must already be there as
   * {@code tlsDir/node.key} ({@link CertificateRequest#savePrivateKey}), so a node never ends up
   * with a certificate it cannot use.
   *
   * @return {@code TlsFiles.in(tlsDir)}
   * @throws IllegalArgumentException if {@code certificate} is not signed by {@code ca}, or
   *     {@code node.key} is not the key of {@code certificate}
   * @throws IllegalStateException if {@code node.key} is missing or malformed
   * @throws java.io.UncheckedIOException if a file cannot be written
   */
  public static TlsFiles writeIssued(
      Path tlsDir, X509Certificate certificate, X509Certificate ca) {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(ca, "ca");
    TlsFiles files = in(tlsDir);
    try {
      certificate.verify(ca.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "Certificate " + certificate.getSerialNumber().toString(16) + " was not issued by the"
              + " CA '" + ca.getSubjectX500Principal().getName() + "' (" + e.getMessage() + ");"
              + " refusing to store a pair that cannot work together", e);
    }
    if (!Files.isRegularFile(files.privateKey())) {
      throw new IllegalStateException(
          files.privateKey() + " does not exist; save the CertificateRequest's private key there"
              + " before storing the certificate issued for it");
    }
    PrivateKey key = PemFiles.readEcPrivateKey(files.privateKey());
    if (!CertificateAuthority.keyMatches(key, certificate.getPublicKey())) {
      throw new IllegalArgumentException(
          files.privateKey() + " is not the key of certificate "
              + certificate.getSerialNumber().toString(16) + "; it was issued for another"
              + " request. Request a certificate for this key, or restore the matching key.");
    }
    PemFiles.writeCertificate(files.caCertificate(), ca);
    PemFiles.writeCertificate(files.certificate(), certificate);
    return files;
  }

  /**
   * Checks that all three files exist and are readable, so a node fails at start-up with one
   * message listing everything that is missing instead of a TLS error at the first connection.
   *
   * @return this
   * @throws IllegalStateException listing each missing or unreadable file and how to create it
   */
  public TlsFiles requireReadable() {
    List<String> missing = new ArrayList<>();
    check(caCertificate, "CA certificate", missing);
    check(certificate, "node certificate", missing);
    check(privateKey, "node private key", missing);
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "TLS files missing or unreadable:\n  " + String.join("\n  ", missing)
              + "\nCreate the consortium CA with `hanse ca init`, then issue this node's"
              + " certificate with `hanse ca issue-site` (which writes ca.crt, node.crt and"
              + " node.key) and copy them here.");
    }
    return this;
  }

  private static void check(Path file, String what, List<String> missing) {
    if (!Files.isRegularFile(file)) {
      missing.add(file + " (" + what + ") does not exist");
    } else if (!Files.isReadable(file)) {
      missing.add(file + " (" + what + ") is not readable by this user");
    }
  }
}
