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
 * The transport benchmark's baselines: the same number of bytes through one plain TLS connection
 * on 127.0.0.1 (TCP and TLS only: no HTTP/2 or gRPC framing), with the TLS contexts the gRPC links
 * use, the coordinator's and a site's certificates and mutual authentication. Timed from the first
 * byte written, after the handshake, to the last byte read and, when checked, checked.
 *
 * <p>The receiver either drops what it reads ({@link Receiving#DROP}: the link alone), or gathers
 * it into chunks and checks each as the coordinator must ({@link Receiving#CHECK}, by
 * {@link CheckedChunks}): no framing, no spool, no signature (once per update, not per byte).
 */
final class PlainTlsBaseline {
  /** What the receiving end does with the bytes. */
  enum Receiving { DROP, CHECK }

  private PlainTlsBaseline() {}

  /** MB/s (10^6 bytes a second) of {@code bytes} from {@code client} to {@code server}, dropped on arrival. */
  static double megabytesPerSecond(long bytes, TlsFiles server, TlsFiles client) throws Exception {
    return megabytesPerSecond(bytes, server, client, Receiving.DROP);
  }

  /** MB/s of {@code bytes} from {@code client} to {@code server}, the receiver doing as {@code receiving} says. */
  static double megabytesPerSecond(long bytes, TlsFiles server, TlsFiles client, Receiving receiving)
      throws Exception {
    SslContext serverTls = TlsContexts.forServer(server);
    SslContext clientTls = TlsContexts.forClient(client);
    CompletableFuture<Long> lastByte = new CompletableFuture<>();
    CompletableFuture<Long> firstByte = new CompletableFuture<>();
    // One thread each: the checking receiver waits for its checks on its own, as a slow reader would.
    EventLoopGroup receivingThread = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventLoopGroup sendingThread = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    CheckedChunks checks = receiving == Receiving.CHECK ? new CheckedChunks(bytes, lastByte) : null;
    try {
      Channel listening = new ServerBootstrap().group(receivingThread).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel channel) {
              channel.pipeline().addLast(serverTls.newHandler(channel.alloc()),
                  checks == null ? new Receiver(bytes, lastByte) : new ChunkGatherer(checks));
            }
          })
          .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
      int port = ((java.net.InetSocketAddress) listening.localAddress()).getPort();
      Channel connection = new Bootstrap().group(sendingThread).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel channel) {
              channel.pipeline().addLast(clientTls.newHandler(channel.alloc(), "127.0.0.1", port),
                  new Sender(bytes, CheckedChunks.piece(), firstByte));
            }
          })
          .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
      long end = lastByte.get(30, TimeUnit.MINUTES);
      connection.close().sync();
      listening.close().sync();
      return bytes / 1e6 / ((end - firstByte.get()) / 1e9);
    } finally {
      if (checks != null) {
        checks.close();
      }
      receivingThread.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
      sendingThread.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  /** Writes the bytes, {@code piece} over and over, once the handshake is done, as fast as the channel takes them. */
  private static final class Sender extends ChannelInboundHandlerAdapter {
    private final long bytes;
    private final CompletableFuture<Long> started;
    private final ByteBuf piece;
    private long sent;

    Sender(long bytes, byte[] piece, CompletableFuture<Long> started) {
      this.bytes = bytes;
      this.piece = Unpooled.directBuffer(CheckedChunks.CHUNK).writeBytes(piece);
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

    @Override
    public void handlerRemoved(ChannelHandlerContext context) {
      piece.release();
    }

    private void writeWhileWritable(ChannelHandlerContext context) {
      while (sent < bytes && context.channel().isWritable()) {
        int length = (int) Math.min(CheckedChunks.CHUNK, bytes - sent);
        // Counted before the write, which may call back into this method when the channel's writability changes.
        sent += length;
        context.writeAndFlush(piece.retainedSlice(0, length));
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

  /** Gathers what arrives into chunks, and hands each to its checks. */
  static final class ChunkGatherer extends ChannelInboundHandlerAdapter {
    private final CheckedChunks checks;
    private byte[] chunk;
    private int filled;

    ChunkGatherer(CheckedChunks checks) {
      this.checks = checks;
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object message) {
      ByteBuf in = (ByteBuf) message;
      try {
        while (in.isReadable()) {
          if (chunk == null) {
            chunk = checks.take();
            filled = 0;
          }
          int length = Math.min(in.readableBytes(), chunk.length - filled);
          in.readBytes(chunk, filled, length);
          filled += length;
          if (filled == chunk.length || checks.completes(filled)) {
            checks.submit(chunk, filled);
            chunk = null;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        checks.done().completeExceptionally(e);
      } finally {
        in.release();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
      checks.done().completeExceptionally(cause);
      context.close();
    }
  }
}
