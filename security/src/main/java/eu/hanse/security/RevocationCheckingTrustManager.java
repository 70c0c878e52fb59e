package eu.hanse.security;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Objects;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JDK's PKIX trust manager for the consortium CA, plus a revocation check on client
 * certificates after the normal validation (chain to the CA, validity period, key usage) passed.
 *
 * <p>The predicate is asked on every full handshake, so a revocation applies to the next new
 * connection. TLS session resumption would skip this check, so a server session whose client
 * passed is invalidated at once: clients can never resume it and every connection gets a full
 * handshake. Connections already open are not affected; closing them is the caller's job.
 *
 * <p>Thread-safe if the predicate is; it is called from Netty's event-loop threads.
 */
final class RevocationCheckingTrustManager extends X509ExtendedTrustManager {
  private static final Logger log = LoggerFactory.getLogger(RevocationCheckingTrustManager.class);

  private final X509ExtendedTrustManager delegate;
  private final Predicate<X509Certificate> isRevoked;
  private volatile TlsContexts.RefusalListener onRefused = (leaf, reason) -> { };

  private RevocationCheckingTrustManager(
      X509ExtendedTrustManager delegate, Predicate<X509Certificate> isRevoked) {
    this.delegate = delegate;
    this.isRevoked = isRevoked;
  }

  /** Tells {@code listener} of every client certificate this manager refuses, before the handshake fails. */
  RevocationCheckingTrustManager onRefused(TlsContexts.RefusalListener listener) {
    this.onRefused = Objects.requireNonNull(listener, "listener");
    return this;
  }

  private CertificateException refused(X509Certificate[] chain, CertificateException e) {
    String reason = e.getMessage();
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      if (t.getMessage() != null) {
        reason = t.getMessage();
      }
    }
    try {
      onRefused.refused(chain == null || chain.length == 0 ? null : chain[0], reason);
    } catch (RuntimeException listenerFailure) {
      log.warn("Could not report a refused TLS client: {}", listenerFailure.toString());
    }
    return e;
  }

  /**
   * A trust manager that trusts every certificate in {@code caFile} (PEM, one or more) as an
   * anchor and refuses clients for which {@code isRevoked} is true.
   *
   * @throws IllegalStateException if {@code caFile} cannot be read or holds no certificate
   */
  static RevocationCheckingTrustManager forCa(Path caFile, Predicate<X509Certificate> isRevoked) {
    Objects.requireNonNull(isRevoked, "isRevoked");
    try (InputStream in = Files.newInputStream(caFile)) {
      Collection<? extends Certificate> anchors =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (anchors.isEmpty()) {
        throw new IllegalStateException(caFile + " holds no certificate; expected the CA's PEM");
      }
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      int i = 0;
      for (Certificate anchor : anchors) {
        store.setCertificateEntry("ca-" + i++, anchor);
      }
      // PKIX with a KeyStore: revocation checking via OCSP/CRL download stays off (the default),
      // so nothing here reaches the network; revocation is our predicate's job.
      TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
      factory.init(store);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager extended) {
          return new RevocationCheckingTrustManager(extended, isRevoked);
        }
      }
      throw new IllegalStateException("This JDK's PKIX TrustManagerFactory gives no X509 manager");
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(
          "Could not read the CA certificate " + caFile + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    try {
      delegate.checkClientTrusted(chain, authType, engine);
      refuseIfRevoked(chain);
    } catch (CertificateException e) {
      throw refused(chain, e);
    }
    preventResumption(engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    try {
      delegate.checkClientTrusted(chain, authType, socket);
      refuseIfRevoked(chain);
    } catch (CertificateException e) {
      throw refused(chain, e);
    }
    preventResumption(socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    try {
      delegate.checkClientTrusted(chain, authType);
      refuseIfRevoked(chain);
    } catch (CertificateException e) {
      throw refused(chain, e);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    delegate.checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }

  private void refuseIfRevoked(X509Certificate[] chain) throws CertificateException {
    X509Certificate leaf = chain[0];
    if (isRevoked.test(leaf)) {
      String serial = leaf.getSerialNumber().toString(16);
      log.warn("Refused TLS client certificate {} ({}): it is revoked", serial,
          NodeIdentity.fromCertificate(leaf).map(NodeIdentity::uri).orElse("no Hanse identity"));
      // A CertPathValidatorException with reason REVOKED as the cause, as the JDK's own
      // revocation checker reports it, so TLS stacks that look at the reason can report it too.
      throw new CertificateException("certificate " + serial + " is revoked",
          new CertPathValidatorException("certificate " + serial + " is revoked", null, null, -1,
              CertPathValidatorException.BasicReason.REVOKED));
    }
  }

  /**
   * Marks the server's session as not resumable. The JDK sends no session ticket for an
   * invalidated session, and the open connection keeps working (see
   * {@link SSLSession#invalidate()}).
   */
  private static void preventResumption(SSLSession handshakeSession) {
    if (handshakeSession != null) {
      handshakeSession.invalidate();
    }
  }
}
