package eu.hanse.launcher;

import eu.hanse.protocol.TransportSettings;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The transport benchmark's gRPC baseline: the same bytes as a stream of 1 MiB messages over one
 * gRPC call between a server and a channel in this process, over 127.0.0.1 with the TLS contexts,
 * flow-control window, on-ready threshold and call executor the coordinator and the agents use;
 * the server reads each message into an array, as the coordinator reads an update's chunks (here
 * from a pool, which the coordinator does not have), and checks it as the coordinator must
 * ({@link CheckedChunks}). What it leaves out of the
 * update: protocol buffers around the bytes, the signature, the spool, and the agent's reading
 * and encoding of its values. Timed from the call's start, on a connection already open, to the
 * last chunk checked.
 */
final class GrpcBaseline {
  private static final String SERVICE = "hanse.bench.Baseline";

  /** The first {@code length} bytes of {@code data}: one message. */
  record Chunk(byte[] data, int length) {}

  private GrpcBaseline() {}

  /** MB/s (10^6 bytes a second) of {@code bytes} from {@code client} to {@code server}, each chunk checked. */
  static double megabytesPerSecond(long bytes, TlsFiles server, TlsFiles client) throws Exception {
    CompletableFuture<Long> lastChunk = new CompletableFuture<>();
    ExecutorService callExecutor = Executors.newVirtualThreadPerTaskExecutor();
    Server listening = null;
    ManagedChannel channel = null;
    try (CheckedChunks checks = new CheckedChunks(bytes, lastChunk)) {
      MethodDescriptor<Chunk, Chunk> send = send(checks);
      listening = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .sslContext(TlsContexts.forServer(server))
          .addService(ServerServiceDefinition.builder(SERVICE)
              .addMethod(send, ServerCalls.asyncClientStreamingCall(response -> new Receiver(checks, response)))
              .build())
          .executor(callExecutor)
          .flowControlWindow(TransportSettings.FLOW_CONTROL_WINDOW)
          .build().start();
      channel = NettyChannelBuilder.forAddress("127.0.0.1", listening.getPort())
          .sslContext(TlsContexts.forClient(client))
          .flowControlWindow(TransportSettings.FLOW_CONTROL_WINDOW)
          .build();
      awaitReady(channel);
      long started = System.nanoTime();
      send(channel, send, bytes);
      long end = lastChunk.get(30, TimeUnit.MINUTES);
      return bytes / 1e6 / ((end - started) / 1e9);
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
      if (listening != null) {
        listening.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
      callExecutor.shutdownNow();
    }
  }

  /** Opens the connection, handshake and all, before the timing starts. */
  private static void awaitReady(ManagedChannel channel) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    ConnectivityState state;
    while ((state = channel.getState(true)) != ConnectivityState.READY) {
      if (state == ConnectivityState.TRANSIENT_FAILURE || System.nanoTime() > deadline) {
        throw new IllegalStateException("the gRPC baseline could not connect (" + state + ")");
      }
      CompletableFuture<Void> changed = new CompletableFuture<>();
      channel.notifyWhenStateChanged(state, () -> changed.complete(null));
      try {
        changed.get(1, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        // look again
      }
    }
  }

  /** The call: a stream of chunks, read into arrays from {@code checks}; a chunk of none in answer. */
  private static MethodDescriptor<Chunk, Chunk> send(CheckedChunks checks) {
    ChunkMarshaller chunks = new ChunkMarshaller(checks);
    return MethodDescriptor.<Chunk, Chunk>newBuilder()
        .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Send"))
        .setRequestMarshaller(chunks)
        .setResponseMarshaller(chunks)
        .build();
  }

  /** Sends the bytes a chunk at a time, each when the transport is ready for it, as the agent's uploader does. */
  private static void send(ManagedChannel channel, MethodDescriptor<Chunk, Chunk> send, long bytes)
      throws InterruptedException {
    byte[] piece = CheckedChunks.piece();
    Object ready = new Object();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<Chunk, Chunk> call = channel.newCall(send,
        CallOptions.DEFAULT.withOnReadyThreshold(TransportSettings.IN_FLIGHT_BYTES));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onReady() {
        synchronized (ready) {
          ready.notifyAll();
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
        synchronized (ready) {
          ready.notifyAll();
        }
      }
    }, new Metadata());
    call.request(1);
    for (long sent = 0; sent < bytes && !closed.isDone(); sent += CheckedChunks.CHUNK) {
      synchronized (ready) {
        while (!call.isReady() && !closed.isDone()) {
          ready.wait(100);
        }
      }
      int length = (int) Math.min(CheckedChunks.CHUNK, bytes - sent);
      call.sendMessage(new Chunk(piece, length));
    }
    call.halfClose();
  }

  /** Hands each message to its checks; answers once the call ends. */
  private static final class Receiver implements StreamObserver<Chunk> {
    private final CheckedChunks checks;
    private final StreamObserver<Chunk> response;

    Receiver(CheckedChunks checks, StreamObserver<Chunk> response) {
      this.checks = checks;
      this.response = response;
    }

    @Override
    public void onNext(Chunk chunk) {
      try {
        checks.submit(chunk.data(), chunk.length());
      } catch (RuntimeException e) {
        checks.done().completeExceptionally(e);
        throw e;
      }
    }

    @Override
    public void onError(Throwable t) {
      checks.done().completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      response.onNext(new Chunk(new byte[0], 0));
      response.onCompleted();
    }
  }

  /** Chunks as they are: read into an array from the checks on arrival, written from their array when sent. */
  private static final class ChunkMarshaller implements MethodDescriptor.Marshaller<Chunk> {
    private final CheckedChunks checks;

    ChunkMarshaller(CheckedChunks checks) {
      this.checks = checks;
    }

    @Override
    public InputStream stream(Chunk value) {
      return new ChunkStream(value);
    }

    @Override
    public Chunk parse(InputStream stream) {
      try {
        int length = stream.available();
        if (!(stream instanceof KnownLength) || length > CheckedChunks.CHUNK) {
          throw new IllegalStateException("a message of " + length + " bytes, more than a chunk");
        }
        byte[] data = checks.take();
        stream.readNBytes(data, 0, length);
        return new Chunk(data, length);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while reading a chunk", e);
      }
    }
  }

  /** A chunk that gRPC writes into its frames at once, as it does a protocol buffer. */
  private static final class ChunkStream extends ByteArrayInputStream implements Drainable, KnownLength {
    ChunkStream(Chunk chunk) {
      super(chunk.data(), 0, chunk.length());
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int length = count - pos;
      target.write(buf, pos, length);
      pos = count;
      return length;
    }
  }
}
