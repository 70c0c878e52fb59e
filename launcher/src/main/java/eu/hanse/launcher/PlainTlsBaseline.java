package eu.hanse.launcher;

import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The transport benchmark's baseline: the same number of bytes through one plain TLS connection on
 * 127.0.0.1 (TCP and TLS only: no HTTP/2, no framing, hashing or checks), with the TLS contexts
 * the gRPC links use, the coordinator's and a site's certificates and mutual authentication. The
 * receiver drops what it reads. Timed from the first byte written, after the handshake, to the
 * last byte read.
 */
final class PlainTlsBaseline {
  private static final int WRITE = 1 << 20;

  private PlainTlsBaseline() {}

  /** MB/s (10^6 bytes a second) of {@code bytes} from {@code client} to {@code server}. */
  static double megabytesPerSecond(long bytes, TlsFiles server, TlsFiles client) throws Exception {
    SslContext serverTls = TlsContexts.forServer(server);
    SslContext clientTls = TlsContexts.forClient(client);
    CompletableFuture<Long> lastByte = new CompletableFuture<>();
    CompletableFuture<Long> firstByte = new CompletableFuture<>();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    try {
      Channel listening = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel channel) {
              channel.pipeline().addLast(serverTls.newHandler(channel.alloc()), new Receiver(bytes, lastByte));
            }
          })
          .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
      int port = ((java.net.InetSocketAddress) listening.localAddress()).getPort();
      Channel connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel channel) {
              channel.pipeline().addLast(clientTls.newHandler(channel.alloc(), "127.0.0.1", port),
                  new Sender(bytes, firstByte));
            }
          })
          .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
      long end = lastByte.get(30, TimeUnit.MINUTES);
      connection.close().sync();
      listening.close().sync();
      return bytes / 1e6 / ((end - firstByte.get()) / 1e9);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  /** Writes the bytes in 1 MiB pieces once the handshake is done, as fast as the channel takes them. */
  private static final class Sender extends ChannelInboundHandlerAdapter {
    private final long bytes;
    private final CompletableFuture<Long> started;
    private final ByteBuf piece = Unpooled.directBuffer(WRITE).writeZero(WRITE);
    private long sent;

    Sender(long bytes, CompletableFuture<Long> started) {
      this.bytes = bytes;
      this.started = started;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext context, Object event) {
      if (event instanceof SslHandshakeCompletionEvent handshake) {
        if (!handshake.isSuccess()) {
          started.completeExceptionally(handshake.cause());
          return;
        }
        started.complete(System.nanoTime());
        writeWhileWritable(context);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext context) {
      writeWhileWritable(context);
    }

    private void writeWhileWritable(ChannelHandlerContext context) {
      while (sent < bytes && context.channel().isWritable()) {
        int length = (int) Math.min(WRITE, bytes - sent);
        context.writeAndFlush(piece.retainedSlice(0, length));
        sent += length;
      }
    }
  }

  /** Counts and drops what arrives; notes the time of the last byte. */
  private static final class Receiver extends ChannelInboundHandlerAdapter {
    private final long bytes;
    private final CompletableFuture<Long> done;
    private long received;

    Receiver(long bytes, CompletableFuture<Long> done) {
      this.bytes = bytes;
      this.done = done;
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object message) {
      received += ((ByteBuf) message).readableBytes();
      ReferenceCountUtil.release(message);
      if (received >= bytes) {
        done.complete(System.nanoTime());
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
      done.completeExceptionally(cause);
      context.close();
    }
  }
}
