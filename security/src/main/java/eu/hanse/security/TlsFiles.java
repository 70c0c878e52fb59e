package eu.hanse.security;

import java.nio.file.Files;
import java.nio.file.Path;
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
