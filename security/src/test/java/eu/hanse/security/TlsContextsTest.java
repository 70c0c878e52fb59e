package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a TLS context says of client certificates is read from its engine, not assumed. */
class TlsContextsTest {
  @TempDir Path tmp;

  @Test
  void theCoordinatorsServerContextRequiresClientCertificatesAndOthersDoNot() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, Clock.systemUTC());
    TlsFiles coordinator = ca.issue(NodeIdentity.coordinator("main"), List.of("127.0.0.1"), Duration.ofDays(1),
        tmp.resolve("coordinator"));

    assertTrue(TlsContexts.requiresClientCertificates(TlsContexts.forServer(coordinator)));
    for (ClientAuth weaker : List.of(ClientAuth.NONE, ClientAuth.OPTIONAL)) {
      assertFalse(TlsContexts.requiresClientCertificates(SslContextBuilder
          .forServer(coordinator.certificate().toFile(), coordinator.privateKey().toFile())
          .clientAuth(weaker).build()), weaker.name());
    }
    assertFalse(TlsContexts.requiresClientCertificates(TlsContexts.forClient(coordinator)), "a client context");
  }
}
