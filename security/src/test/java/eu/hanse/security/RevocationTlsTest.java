package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real mutual TLS over loopback with a revocation-aware server: revoked and expired client
 * certificates must fail the handshake, everyone else must get through.
 */
class RevocationTlsTest {
  private static final Duration VALIDITY = Duration.ofDays(1);

  @TempDir Path tmp;

  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final AtomicReference<RevocationList> revoked =
      new AtomicReference<>(RevocationList.empty());
  private CertificateAuthority ca;
  private int port;

  @BeforeEach
  void startCoordinator() throws IOException {
    ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, Clock.systemUTC());
    TlsFiles coordinator = ca.issue(NodeIdentity.coordinator("main"), List.of("127.0.0.1"),
        VALIDITY, tmp.resolve("coordinator"));
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(TlsContexts.forServer(coordinator, cert -> revoked.get().isRevoked(cert)))
        .addService(WhoAmI.service())
        .build();
    servers.add(server);
    server.start();
    port = server.getPort();
  }

  @AfterEach
  void shutDown() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    for (Server server : servers) {
      server.shutdownNow();
    }
    for (ManagedChannel channel : channels) {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Server server : servers) {
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void revokedClientFailsTheHandshakeWhileAnotherSiteGetsThrough() throws Exception {
    TlsFiles juelich = issueSite("juelich");
    TlsFiles cineca = issueSite("cineca");
    revoke(juelich);

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> WhoAmI.ask(dial(TlsContexts.forClient(juelich))));
    assertHandshakeFailure(e);
    assertEquals("cineca", WhoAmI.ask(dial(TlsContexts.forClient(cineca))));
  }

  @Test
  void revokingAfterAConnectionMakesTheNextNewConnectionFail() throws Exception {
    TlsFiles juelich = issueSite("juelich");
    // One client context for both connections, as an agent that reconnects has: its JDK session
    // cache would offer TLS session resumption, which must not skip the revocation check.
    SslContext client = TlsContexts.forClient(juelich);
    ManagedChannel first = dial(client);
    assertEquals("juelich", WhoAmI.ask(first));

    revoke(juelich);

    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> WhoAmI.ask(dial(client)));
    assertHandshakeFailure(e);
    // The connection opened before the revocation stays up: closing it is the caller's job.
    assertEquals("juelich", WhoAmI.ask(first));
  }

  @Test
  void unrevokedClientReconnectsWithTheSameContext() throws Exception {
    SslContext client = TlsContexts.forClient(issueSite("juelich"));
    for (int i = 0; i < 3; i++) {
      assertEquals("juelich", WhoAmI.ask(dial(client)));
    }
  }

  @Test
  void expiredClientCertificateFailsTheHandshake() throws Exception {
    Clock twoDaysAgo = Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC);
    TlsFiles expired = CertificateAuthority.load(tmp.resolve("ca"), twoDaysAgo).issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), Duration.ofHours(1),
        tmp.resolve("expired"));
    X509Certificate cert = PemFiles.readCertificate(expired.certificate());
    assertTrue(cert.getNotAfter().toInstant().isBefore(Instant.now()), "really expired");

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> WhoAmI.ask(dial(TlsContexts.forClient(expired))));
    assertHandshakeFailure(e);
  }

  @Test
  void revocationIsReportedWithTheSerialInHex() throws Exception {
    X509Certificate cert = PemFiles.readCertificate(issueSite("juelich").certificate());
    RevocationCheckingTrustManager trust = RevocationCheckingTrustManager.forCa(
        tmp.resolve("ca/ca.crt"), c -> c.getSerialNumber().equals(cert.getSerialNumber()));
    CertificateException e = assertThrows(CertificateException.class,
        () -> trust.checkClientTrusted(new X509Certificate[] {cert}, "UNKNOWN"));
    assertEquals("certificate " + cert.getSerialNumber().toString(16) + " is revoked",
        e.getMessage());
  }

  @Test
  void revocationIsCheckedOnlyAfterNormalValidation() throws Exception {
    CertificateAuthority other =
        CertificateAuthority.create(tmp.resolve("other"), "Hanse", false, Clock.systemUTC());
    X509Certificate foreign = PemFiles.readCertificate(other.issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), VALIDITY, tmp.resolve("f"))
        .certificate());
    List<X509Certificate> asked = new ArrayList<>();
    RevocationCheckingTrustManager trust =
        RevocationCheckingTrustManager.forCa(tmp.resolve("ca/ca.crt"), c -> {
          asked.add(c);
          return false;
        });
    assertThrows(CertificateException.class,
        () -> trust.checkClientTrusted(new X509Certificate[] {foreign}, "UNKNOWN"));
    assertTrue(asked.isEmpty(), "a foreign certificate is refused before revocation is asked");
  }

  @Test
  void siteEnrolledByCertificateRequestConnects() throws Exception {
    CertificateRequest request = CertificateRequest.generate("juelich");
    Path tlsDir = tmp.resolve("enrolled");
    request.savePrivateKey(TlsFiles.in(tlsDir).privateKey());
    X509Certificate cert = ca.issueFromRequest(request.der(),
        NodeIdentity.site(new SiteId("juelich")), SigningKey.generate().publicKey(), List.of(),
        VALIDITY);
    TlsFiles files = TlsFiles.writeIssued(tlsDir, cert, ca.certificate());
    assertEquals("juelich", WhoAmI.ask(dial(TlsContexts.forClient(files))));
  }

  private TlsFiles issueSite(String name) {
    return ca.issue(NodeIdentity.site(new SiteId(name)), List.of(), VALIDITY, tmp.resolve(name));
  }

  private void revoke(TlsFiles files) {
    X509Certificate cert = PemFiles.readCertificate(files.certificate());
    revoked.updateAndGet(list -> list.with(cert.getSerialNumber()));
  }

  /**
   * The call failed as UNAVAILABLE because the server refused the client certificate it was
   * shown: the JDK server answers any refused client certificate with the certificate_unknown
   * alert (a client that presented none would see certificate_required instead).
   */
  private static void assertHandshakeFailure(StatusRuntimeException e) {
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof SSLHandshakeException
          && cause.getMessage().contains("Received fatal alert: certificate_unknown")) {
        return;
      }
    }
    throw new AssertionError(
        "no SSLHandshakeException with the certificate_unknown alert among the causes", e);
  }

  private ManagedChannel dial(SslContext client) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(client)
        .build();
    channels.add(channel);
    return channel;
  }
}
