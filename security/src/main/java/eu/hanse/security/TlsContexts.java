package eu.hanse.security;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;

/**
 * Netty TLS contexts for Hanse's gRPC connections: mutual TLS 1.3, trusting only the consortium
 * CA.
 *
 * <p>Both sides use the JDK's TLS implementation ({@link SslProvider#JDK}) so behaviour does not
 * depend on whether a native BoringSSL happens to be on the class path. The contexts come from
 * {@link GrpcSslContexts}, which adds the HTTP/2 ALPN and cipher settings gRPC needs.
 */
public final class TlsContexts {
  private static final String TLS_1_3 = "TLSv1.3";

  private TlsContexts() {}

  /**
   * A server context that presents {@code files.certificate()} and requires every client to
   * present a valid certificate issued by {@code files.caCertificate()}; no certificate counts as
   * revoked.
   *
   * <p>Pair it with {@link PeerIdentityInterceptor} to learn which node a call comes from.
   *
   * @throws IllegalStateException if a file is missing or unusable, with what to do about it
   */
  public static SslContext forServer(TlsFiles files) {
    return forServer(files, certificate -> false);
  }

  /**
   * Like {@link #forServer(TlsFiles)}, and also refuses clients whose certificate
   * {@code isRevoked} reports as revoked: after the usual validation (chain to the CA, validity
   * period), the handshake fails with a {@link java.security.cert.CertificateException} saying
   * {@code certificate <serial hex> is revoked}.
   *
   * <p>{@code isRevoked} is called on every handshake, from Netty's event-loop threads, so it must
   * be fast and thread-safe; a revocation it reports applies to the next new connection at once
   * (the server never resumes TLS sessions, so no connection skips the check). Connections that
   * are already open stay open; close them separately if needed. Typically
   * {@code cert -> current.get().isRevoked(cert)} over an {@link RevocationList} reference.
   *
   * @throws IllegalStateException if a file is missing or unusable, with what to do about it
   */
  public static SslContext forServer(TlsFiles files, Predicate<X509Certificate> isRevoked) {
    return forServer(files, isRevoked, (leaf, reason) -> { });
  }

  /**
   * Whether a server context asks every client for a certificate and refuses a handshake without
   * one, as its engine is configured: what the coordinator reports as its links' mutual TLS.
   */
  public static boolean requiresClientCertificates(SslContext server) {
    javax.net.ssl.SSLEngine engine = server.newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT);
    try {
      return !server.isClient() && engine.getNeedClientAuth();
    } finally {
      io.netty.util.ReferenceCountUtil.release(engine);
    }
  }

  /** Hears of every client certificate the server refuses during a handshake. */
  @FunctionalInterface
  public interface RefusalListener {
    /**
     * @param leaf the client's certificate, or null if it sent none that could be read
     * @param reason why it was refused (foreign CA, expired, revoked), in the JDK's words
     */
    void refused(X509Certificate leaf, String reason);
  }

  /**
   * A JDK TLS context for HTTPS clients (the CLI and tests calling the coordinator's HTTP console):
   * presents {@code files.certificate()} and trusts only servers whose certificate
   * {@code files.caCertificate()} issued.
   *
   * @throws IllegalStateException if a file is missing or unusable
   */
  public static javax.net.ssl.SSLContext forHttpsClient(TlsFiles files) {
    Objects.requireNonNull(files, "files").requireReadable();
    try {
      char[] password = new char[0];
      java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      keys.setKeyEntry("client", PemFiles.readEcPrivateKey(files.privateKey()), password,
          new java.security.cert.Certificate[] {PemFiles.readCertificate(files.certificate())});
      javax.net.ssl.KeyManagerFactory keyManagers =
          javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      keyManagers.init(keys, password);
      java.security.KeyStore anchors = java.security.KeyStore.getInstance("PKCS12");
      anchors.load(null, null);
      anchors.setCertificateEntry("consortium-ca", PemFiles.readCertificate(files.caCertificate()));
      javax.net.ssl.TrustManagerFactory trust =
          javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      trust.init(anchors);
      javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);
      return context;
    } catch (java.security.GeneralSecurityException | java.io.IOException | RuntimeException e) {
      throw unusable("client", files, e);
    }
  }

  /**
   * A trust manager for servers other than gRPC's (the coordinator's HTTP console): it trusts
   * client certificates {@code caFile} issued unless {@code isRevoked} says they are revoked.
   */
  public static javax.net.ssl.X509TrustManager consortiumTrust(java.nio.file.Path caFile,
      Predicate<X509Certificate> isRevoked) {
    return RevocationCheckingTrustManager.forCa(caFile, isRevoked);
  }

  /**
   * Like {@link #forServer(TlsFiles, Predicate)}, and tells {@code onRefused} of each refused client
   * certificate (for the audit trail). A client that sends no certificate at all is refused by the
   * JDK's TLS stack before any trust manager runs, so it is not reported here.
   */
  public static SslContext forServer(TlsFiles files, Predicate<X509Certificate> isRevoked,
      RefusalListener onRefused) {
    Objects.requireNonNull(files, "files").requireReadable();
    Objects.requireNonNull(isRevoked, "isRevoked");
    try {
      SslContextBuilder builder = SslContextBuilder.forServer(
          files.certificate().toFile(), files.privateKey().toFile());
      return GrpcSslContexts.configure(builder, SslProvider.JDK)
          .trustManager(RevocationCheckingTrustManager.forCa(files.caCertificate(), isRevoked).onRefused(onRefused))
          .clientAuth(ClientAuth.REQUIRE)
          .protocols(TLS_1_3)
          .build();
    } catch (SSLException | IllegalArgumentException | IllegalStateException e) {
      throw unusable("server", files, e);
    }
  }

  /**
   * A client context that presents {@code files.certificate()} and trusts only servers whose
   * certificate {@code files.caCertificate()} issued.
   *
   * <p>Hostname verification stays on: the server certificate must name the host or IP address
   * the client dials (see the {@code hosts} of {@link CertificateAuthority#issue}).
   *
   * @throws IllegalStateException if a file is missing or unusable, with what to do about it
   */
  public static SslContext forClient(TlsFiles files) {
    Objects.requireNonNull(files, "files").requireReadable();
    try {
      // configure() also sets endpoint identification to HTTPS, i.e. hostname verification.
      return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
          .keyManager(files.certificate().toFile(), files.privateKey().toFile())
          .trustManager(files.caCertificate().toFile())
          .protocols(TLS_1_3)
          .build();
    } catch (SSLException | IllegalArgumentException e) {
      throw unusable("client", files, e);
    }
  }

  private static IllegalStateException unusable(String side, TlsFiles files, Exception e) {
    return new IllegalStateException(
        "Could not set up TLS " + side + " from " + files.certificate() + ", "
            + files.privateKey() + " and " + files.caCertificate() + ": " + e.getMessage()
            + ". The files must be PEM, node.key the PKCS#8 key of node.crt, and ca.crt the CA"
            + " that issued node.crt; re-issue them with `hanse ca issue-site` if unsure.", e);
  }
}
