package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PeerIdentityInterceptorTest {
  @Test
  void currentFailsOutsideACall() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, PeerIdentityInterceptor::current);
    assertTrue(e.getMessage().contains("PeerIdentityInterceptor"), e.getMessage());
  }

  @Test
  void currentReadsTheContext() throws Exception {
    NodeIdentity site = NodeIdentity.site(new SiteId("juelich"));
    NodeIdentity seen = Context.current().withValue(PeerIdentityInterceptor.PEER, site)
        .call(PeerIdentityInterceptor::current);
    assertEquals(site, seen);
  }

  @Test
  void plaintextCallIsUnauthenticatedAndNeverReachesTheHandler() throws Exception {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(WhoAmI.service())
        .build();
    ManagedChannel channel = null;
    try {
      server.start();
      channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
      ManagedChannel plaintext = channel;
      // Reaching the handler would throw from current() and give UNKNOWN, not UNAUTHENTICATED.
      StatusRuntimeException e =
          assertThrows(StatusRuntimeException.class, () -> WhoAmI.ask(plaintext));
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.toString());
      assertTrue(e.getStatus().getDescription().contains("not TLS"), e.toString());
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
