package eu.hanse.launcher;

import eu.hanse.kernels.SumOfSquares;
import eu.hanse.security.Digests;
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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The transport benchmark's baselines: the same number of bytes through one plain TLS connection
 * on 127.0.0.1 (TCP and TLS only: no HTTP/2 or gRPC framing), with the TLS contexts the gRPC links
 * use, the coordinator's and a site's certificates and mutual authentication. Timed from the first
 * byte written, after the handshake, to the last byte read and, when checked, checked.
 *
 * <p>The receiver either drops what it reads ({@link Receiving#DROP}: the link alone), or does what
 * the coordinator must do to an update's bytes and nothing else ({@link Receiving#CHECK}): gathers
 * them into 1 MiB chunks and, on a thread of its own while the next ones arrive, hashes each with
 * SHA-256 against its expected hash and checks its float32 values finite. No spool, no signature
 * (once per update, not per byte), no framing: what no implementation of the update can go below.
 */
final class PlainTlsBaseline {
  /** An update's chunk, as the bench's job sends them; the sender writes as much at a time. */
  static final int CHUNK = 1 << 20;
  /** Chunks read but not yet checked, as the coordinator allows one call. */
  private static final int CHECKS_IN_FLIGHT = 4;

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
    // One thread each: the checking receiver waits for a free chunk on its own, as a slow reader would.
    EventLoopGroup receivingThread = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventLoopGroup sendingThread = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    byte[] piece = piece();
    ChunkChecker checker = receiving == Receiving.CHECK ? new ChunkChecker(bytes, piece, lastByte) : null;
    try {
      Channel listening = new ServerBootstrap().group(receivingThread).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel channel) {
              channel.pipeline().addLast(serverTls.newHandler(channel.alloc()),
                  checker == null ? new Receiver(bytes, lastByte) : checker);
            }
          })
          .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
      int port = ((java.net.InetSocketAddress) listening.localAddress()).getPort();
      Channel connection = new Bootstrap().group(sendingThread).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel channel) {
              channel.pipeline().addLast(clientTls.newHandler(channel.alloc(), "127.0.0.1", port),
                  new Sender(bytes, piece, firstByte));
            }
          })
          .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
      long end = lastByte.get(30, TimeUnit.MINUTES);
      connection.close().sync();
      listening.close().sync();
      return bytes / 1e6 / ((end - firstByte.get()) / 1e9);
    } finally {
      if (checker != null) {
        checker.close();
      }
      receivingThread.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
      sendingThread.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  /** What each 1 MiB the sender writes holds: float32 values, little-endian, as an update's chunk. */
  static byte[] piece() {
    ByteBuffer values = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    SplittableRandom random = new SplittableRandom(CHUNK);
    while (values.hasRemaining()) {
      values.putFloat((float) random.nextGaussian() * 1e-3f);
    }
    return values.array();
  }

  /** Writes the bytes, {@code piece} over and over, once the handshake is done, as fast as the channel takes them. */
  private static final class Sender extends ChannelInboundHandlerAdapter {
    private final long bytes;
    private final CompletableFuture<Long> started;
    private final ByteBuf piece;
    private long sent;

    Sender(long bytes, byte[] piece, CompletableFuture<Long> started) {
      this.bytes = bytes;
      this.piece = Unpooled.directBuffer(CHUNK).writeBytes(piece);
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
        int length = (int) Math.min(CHUNK, bytes - sent);
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

  /**
   * Gathers what arrives into chunks and checks each on a thread of its own: its SHA-256 against
   * the hash of what was sent (each chunk is the sender's piece, the last one a part of it), and
   * its values finite. Waits, on the
   * receiving thread, while {@link #CHECKS_IN_FLIGHT} chunks are being checked. Notes the time the
   * last chunk passes.
   */
  static final class ChunkChecker extends ChannelInboundHandlerAdapter implements AutoCloseable {
    private final long bytes;
    private final CompletableFuture<Long> done;
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(CHECKS_IN_FLIGHT + 1);
    private final ExecutorService checking =
        Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("baseline-check").factory());
    private final MessageDigest digest = Digests.sha256();
    private final byte[] fullChunkHash;
    private final byte[] lastChunkHash;
    private byte[] chunk;
    private int filled;
    private long received;
    private long chunks;

    /** A checker of {@code bytes} that are {@code piece} (one chunk) over and over; {@code done} completes at the end. */
    ChunkChecker(long bytes, byte[] piece, CompletableFuture<Long> done) {
      if (piece.length != CHUNK) {
        throw new IllegalArgumentException("the piece must be one chunk, " + CHUNK + " bytes, was " + piece.length);
      }
      this.bytes = bytes;
      this.done = done;
      for (int i = 0; i <= CHECKS_IN_FLIGHT; i++) {
        free.add(new byte[CHUNK]);
      }
      this.fullChunkHash = Digests.sha256().digest(piece);
      int last = (int) (bytes % CHUNK);
      this.lastChunkHash = last == 0 ? fullChunkHash : Digests.sha256().digest(Arrays.copyOf(piece, last));
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object message) {
      ByteBuf in = (ByteBuf) message;
      try {
        while (in.isReadable()) {
          if (chunk == null) {
            chunk = free.take();
            filled = 0;
          }
          int length = Math.min(in.readableBytes(), CHUNK - filled);
          in.readBytes(chunk, filled, length);
          filled += length;
          received += length;
          if (filled == CHUNK || received == bytes) {
            submit(chunk, filled, received == bytes);
            chunk = null;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        done.completeExceptionally(e);
      } finally {
        in.release();
      }
    }

    private void submit(byte[] data, int length, boolean last) {
      long index = chunks++;
      checking.execute(() -> {
        try {
          check(index, data, length, last);
          free.add(data);
          if (last) {
            done.complete(System.nanoTime());
          }
        } catch (RuntimeException e) {
          done.completeExceptionally(e);
        }
      });
    }

    private void check(long index, byte[] data, int length, boolean last) {
      digest.update(data, 0, length);
      if (!MessageDigest.isEqual(digest.digest(), last ? lastChunkHash : fullChunkHash)) {
        throw new IllegalStateException("chunk " + index + " does not hash to what was sent");
      }
      if (!Double.isFinite(SumOfSquares.ofLittleEndianFloats(data, 0, length / Float.BYTES))) {
        throw new IllegalStateException("chunk " + index + " holds a value that is not finite");
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
      done.completeExceptionally(cause);
      context.close();
    }

    @Override
    public void close() {
      checking.shutdownNow();
    }
  }
}
