package eu.hanse.security;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS for the one link that cannot have a client certificate: a site enrolling for its first one.
 *
 * <p>The coordinator proves itself with its certificate and sends the CA certificate along; the site
 * trusts that CA only if its SHA-256 fingerprint equals the one in its invitation token, and then
 * checks the coordinator's certificate against it as usual (chain, validity, host name). The token
 * authenticates the site. TLS 1.3 only.
 */
public final class EnrolmentTls {
  private EnrolmentTls() {}

  /** The enrolment server's context: presents the coordinator certificate and the CA; asks for no client certificate. */
  public static SslContext forServer(TlsFiles tls) {
    tls.requireReadable();
    try (InputStream chain = chainOf(tls); InputStream key = Files.newInputStream(tls.privateKey())) {
      return GrpcSslContexts.configure(io.netty.handler.ssl.SslContextBuilder.forServer(chain, key), SslProvider.JDK)
          .clientAuth(ClientAuth.NONE)
          .protocols("TLSv1.3")
          .build();
    } catch (IOException e) {
      throw new IllegalStateException("cannot build the enrolment TLS context from " + tls + ": " + e.getMessage(), e);
    }
  }

  /** A client context that trusts only the CA with this SHA-256 fingerprint (hex). */
  public static SslContext forClient(String caFingerprintHex) {
    try {
      return GrpcSslContexts.configure(io.netty.handler.ssl.SslContextBuilder.forClient(), SslProvider.JDK)
          .trustManager(new PinnedCaTrustManager(caFingerprintHex))
          .protocols("TLSv1.3")
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build the enrolment TLS context: " + e.getMessage(), e);
    }
  }

  /** Lower-case hex SHA-256 of a certificate's DER encoding: what an invitation pins. */
  public static String fingerprint(X509Certificate certificate) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static InputStream chainOf(TlsFiles tls) throws IOException {
    byte[] node = Files.readAllBytes(tls.certificate());
    byte[] ca = Files.readAllBytes(tls.caCertificate());
    byte[] both = new byte[node.length + 1 + ca.length];
    System.arraycopy(node, 0, both, 0, node.length);
    both[node.length] = '\n';
    System.arraycopy(ca, 0, both, node.length + 1, ca.length);
    return new java.io.ByteArrayInputStream(both);
  }

  /** Finds the pinned CA in the server's chain, then validates the chain against it alone. */
  static final class PinnedCaTrustManager extends X509ExtendedTrustManager {
    private final String pin;

    PinnedCaTrustManager(String caFingerprintHex) {
      if (!caFingerprintHex.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("CA fingerprint must be 64 lower-case hex digits");
      }
      this.pin = caFingerprintHex;
    }

    private X509ExtendedTrustManager delegateFor(X509Certificate[] chain) throws CertificateException {
      for (X509Certificate candidate : chain) {
        if (fingerprint(candidate).equals(pin)) {
          try {
            KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            anchors.setCertificateEntry("consortium-ca", candidate);
            TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(anchors);
            return (X509ExtendedTrustManager) factory.getTrustManagers()[0];
          } catch (GeneralSecurityException | IOException e) {
            throw new CertificateException("cannot trust the pinned CA: " + e.getMessage(), e);
          }
        }
      }
      throw new CertificateException("the coordinator's chain holds no CA with the invitation's fingerprint "
          + pin.substring(0, 16) + "...: wrong coordinator, or the invitation is from another consortium");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      delegateFor(chain).checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegateFor(chain).checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegateFor(chain).checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      throw new CertificateException("an enrolling site does not accept client connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      throw new CertificateException("an enrolling site does not accept client connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("an enrolling site does not accept client connections");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  /** Reads one PEM certificate, e.g. a node's {@code node.crt}. */
  public static X509Certificate readCertificate(java.nio.file.Path file) {
    return PemFiles.readCertificate(file);
  }
}
