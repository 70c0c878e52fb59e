package eu.hanse.security;

import java.security.KeyStore;
import java.security.cert.Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A JDK {@link SSLContext} over a node's TLS files, the same keys and trust the gRPC links use,
 * for plain TLS sockets: the baseline the transport benchmark measures Hanse's uploads against.
 */
public final class PlainTls {
  private PlainTls() {}

  /** TLS 1.3 presenting {@code files.certificate()} and trusting only what the consortium CA issued. */
  public static SSLContext context(TlsFiles files) {
    files.requireReadable();
    try {
      char[] none = new char[0];
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, none);
      keys.setKeyEntry("node", PemFiles.readEcPrivateKey(files.privateKey()), none,
          new Certificate[] {PemFiles.readCertificate(files.certificate())});
      KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keyManagers.init(keys, none);
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, none);
      trust.setCertificateEntry("consortium", PemFiles.readCertificate(files.caCertificate()));
      TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trust);
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
      return context;
    } catch (java.security.GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot make a TLS context of " + files.certificate() + ": " + e.getMessage(), e);
    }
  }
}
