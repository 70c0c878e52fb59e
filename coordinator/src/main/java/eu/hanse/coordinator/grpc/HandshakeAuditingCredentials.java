package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.consortium.Consortium;
import io.grpc.ServerCredentials;
import io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.InternalProtocolNegotiators;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsciiString;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLException;

/**
 * The coordinator's server TLS, as gRPC's own negotiator does it, plus an observer right after it
 * that writes every failed handshake to the audit trail: also a client that sent no certificate at
 * all, which the JDK refuses before any trust manager (and so {@link Consortium#auditRefusedHandshake})
 * sees it.
 *
 * <p>Uses grpc-netty's {@code Internal*} API, the only way to reach the server's handshake; if a
 * grpc upgrade changes it, this class is the one place to adapt.
 */
public final class HandshakeAuditingCredentials {
  private HandshakeAuditingCredentials() {}

  public static ServerCredentials of(SslContext sslContext, Consortium consortium) {
    InternalProtocolNegotiator.ProtocolNegotiator tls = InternalProtocolNegotiators.serverTls(sslContext);
    return InternalNettyServerCredentials.create(new InternalProtocolNegotiator.ProtocolNegotiator() {
      @Override
      public AsciiString scheme() {
        return tls.scheme();
      }

      @Override
      public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
        return new Observer(tls.newHandler(grpcHandler), consortium);
      }

      @Override
      public void close() {
        tls.close();
      }
    });
  }

  /** Puts gRPC's TLS handler in front of itself, then watches for the handshake failing. */
  private static final class Observer extends ChannelInboundHandlerAdapter {
    private final ChannelHandler tls;
    private final Consortium consortium;
    private boolean reported;

    Observer(ChannelHandler tls, Consortium consortium) {
      this.tls = tls;
      this.consortium = consortium;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      ctx.pipeline().addBefore(ctx.name(), null, tls);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      io.netty.handler.ssl.SslHandler ssl = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class);
      boolean handshakeDone = ssl != null && ssl.handshakeFuture().isSuccess();
      if (!reported && !handshakeDone && isHandshakeFailure(cause)) {
        reported = true;
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("peer", String.valueOf(ctx.channel().remoteAddress()));
        fields.put("reason", innermostMessage(cause));
        consortium.audit("tls.handshake-failed", fields);
      }
      ctx.fireExceptionCaught(cause);
    }

    private static boolean isHandshakeFailure(Throwable cause) {
      for (Throwable t = cause; t != null; t = t.getCause()) {
        if (t instanceof SSLException) {
          return true;
        }
      }
      return false;
    }

    private static String innermostMessage(Throwable cause) {
      String message = String.valueOf(cause);
      for (Throwable t = cause; t != null; t = t.getCause()) {
        if (t.getMessage() != null) {
          message = t.getMessage();
        }
      }
      return message;
    }
  }
}
