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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real mutual TLS over loopback: grpc-netty server and client with the contexts under test. */
class MutualTlsTest {
  private static final Duration VALIDITY = Duration.ofDays(1);

  @TempDir Path tmp;

  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private CertificateAuthority ca;
  private int port;

  @BeforeEach
  void startCoordinator() throws IOException {
    ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, Clock.systemUTC());
    TlsFiles coordinator = ca.issue(NodeIdentity.coordinator("main"),
        List.of("localhost", "127.0.0.1"), VALIDITY, tmp.resolve("coordinator"));
    port = startServer(coordinator);
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
  void siteLearnsItsOwnName() throws Exception {
    TlsFiles site = ca.issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), VALIDITY, tmp.resolve("juelich"));
    assertEquals("juelich", WhoAmI.ask(dial(site, port)));
  }

  @Test
  void coordinatorIdentityWorksAsClientToo() throws Exception {
    TlsFiles other = ca.issue(
        NodeIdentity.coordinator("standby"), List.of(), VALIDITY, tmp.resolve("standby"));
    assertEquals("standby", WhoAmI.ask(dial(other, port)));
  }

  @Test
  void dnsNameInCertificateIsAccepted() throws Exception {
    TlsFiles site = ca.issue(
        NodeIdentity.site(new SiteId("cineca")), List.of(), VALIDITY, tmp.resolve("cineca"));
    ManagedChannel channel = track(NettyChannelBuilder
        .forAddress(new InetSocketAddress("127.0.0.1", port))
        .overrideAuthority("localhost:" + port)
        .sslContext(TlsContexts.forClient(site))
        .build());
    assertEquals("cineca", WhoAmI.ask(channel));
  }

  @Test
  void clientCertificateFromAnotherCaIsRejected() throws Exception {
    // A differently named CA: the JDK client does not even offer a certificate the server's
    // CertificateRequest does not ask for, so the server sees none and refuses.
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> WhoAmI.ask(dial(foreignClient("Other"), port)));
    assertHandshakeFailure(e, "certificate_required");
  }

  @Test
  void clientCertificateFromImpostorCaWithTheSameNameIsRejected() throws Exception {
    // Same subject as the real CA, so the client presents the certificate and the server's own
    // trust check has to catch the wrong signature.
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> WhoAmI.ask(dial(foreignClient("Hanse"), port)));
    assertHandshakeFailure(e, "Received fatal alert: certificate_unknown");
  }

  @Test
  void serverFromAnotherCaIsRejected() throws Exception {
    TlsFiles site = ca.issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), VALIDITY, tmp.resolve("juelich"));
    CertificateAuthority otherCa =
        CertificateAuthority.create(tmp.resolve("other-ca"), "Other", false, Clock.systemUTC());
    int impostor = startServer(otherCa.issue(NodeIdentity.coordinator("main"),
        List.of("127.0.0.1"), VALIDITY, tmp.resolve("impostor")));
    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> WhoAmI.ask(dial(site, impostor)));
    assertHandshakeFailure(e, "PKIX path");
  }

  @Test
  void serverCertificateMustNameTheDialedAddress() throws Exception {
    int wrongHost = startServer(ca.issue(NodeIdentity.coordinator("main"),
        List.of("coordinator.example"), VALIDITY, tmp.resolve("wrong-host")));
    TlsFiles site = ca.issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), VALIDITY, tmp.resolve("juelich"));
    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> WhoAmI.ask(dial(site, wrongHost)));
    assertHandshakeFailure(e, "No subject alternative names matching IP address 127.0.0.1");
  }

  @Test
  void certificateWithoutHanseIdentityIsUnauthenticated() throws Exception {
    TlsFiles rogue = TestCertificates.issueWithoutHanseUri(tmp.resolve("ca"), tmp.resolve("rogue"));
    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> WhoAmI.ask(dial(rogue, port)));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.toString());
    assertTrue(e.getStatus().getDescription().contains("no Hanse identity"), e.toString());
  }

  /**
   * Files for a site whose certificate comes from a second CA named {@code consortium}, while it
   * trusts the real CA: only the server's check of the client certificate can fail.
   */
  private TlsFiles foreignClient(String consortium) {
    CertificateAuthority otherCa = CertificateAuthority.create(
        tmp.resolve("other-ca"), consortium, false, Clock.systemUTC());
    TlsFiles foreign = otherCa.issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), VALIDITY, tmp.resolve("foreign"));
    return new TlsFiles(
        TlsFiles.in(tmp.resolve("coordinator")).caCertificate(),
        foreign.certificate(),
        foreign.privateKey());
  }

  /** The call failed as UNAVAILABLE because the TLS handshake failed, with {@code detail}. */
  private static void assertHandshakeFailure(StatusRuntimeException e, String detail) {
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof SSLHandshakeException && cause.getMessage().contains(detail)) {
        return;
      }
    }
    throw new AssertionError(
        "no SSLHandshakeException mentioning '" + detail + "' among the causes", e);
  }

  private int startServer(TlsFiles files) throws IOException {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .sslContext(TlsContexts.forServer(files))
        .addService(WhoAmI.service())
        .build();
    servers.add(server);
    server.start();
    return server.getPort();
  }

  private ManagedChannel dial(TlsFiles files, int serverPort) {
    return track(NettyChannelBuilder.forAddress("127.0.0.1", serverPort)
        .sslContext(TlsContexts.forClient(files))
        .build());
  }

  private ManagedChannel track(ManagedChannel channel) {
    channels.add(channel);
    return channel;
  }
}
