package eu.hanse.coordinator.grpc;

import com.google.protobuf.ByteString;
import eu.hanse.protocol.v1.CheckpointChunk;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Streams a checkpoint file's bytes from an offset to an end, one chunk each time the transport is ready for more,
 * so a slow reader never makes the coordinator buffer the file. Runs on the call's serialized
 * callbacks: never concurrently with itself.
 */
final class CheckpointSender implements Runnable {
  static final int CHUNK_BYTES = 1 << 20;

  private final ServerCallStreamObserver<CheckpointChunk> stream;
  private final FileChannel file;
  private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK_BYTES);
  private long offset;
  private final long end;
  private final java.util.function.LongConsumer sent;
  private boolean done;

  private CheckpointSender(ServerCallStreamObserver<CheckpointChunk> stream, FileChannel file, long offset, long end,
      java.util.function.LongConsumer sent) {
    this.stream = stream;
    this.file = file;
    this.offset = offset;
    this.end = end;
    this.sent = sent;
  }

  /** Starts sending; {@code sent} is told the size of every chunk handed to the transport. */
  static void start(ServerCallStreamObserver<CheckpointChunk> stream, Path path, long offset, long end,
      java.util.function.LongConsumer sent) throws IOException {
    FileChannel file = FileChannel.open(path, StandardOpenOption.READ);
    CheckpointSender sender = new CheckpointSender(stream, file, offset, end, sent);
    stream.setOnCancelHandler(sender::closeFile);
    stream.setOnReadyThreshold(eu.hanse.protocol.TransportSettings.IN_FLIGHT_BYTES);
    stream.setOnReadyHandler(sender);
    sender.run();
  }

  @Override
  public void run() {
    try {
      while (!done && stream.isReady()) {
        buffer.clear().limit((int) Math.min(CHUNK_BYTES, end - offset));
        int read = offset >= end ? -1 : file.read(buffer, offset);
        if (read <= 0) {
          done = true;
          closeFile();
          stream.onCompleted();
          return;
        }
        buffer.flip();
        stream.onNext(CheckpointChunk.newBuilder().setOffset(offset).setData(ByteString.copyFrom(buffer)).build());
        offset += read;
        sent.accept(read);
      }
    } catch (IOException e) {
      done = true;
      closeFile();
      stream.onError(Status.INTERNAL.withDescription("cannot read checkpoint: " + e.getMessage()).asRuntimeException());
    }
  }

  private void closeFile() {
    try {
      file.close();
    } catch (IOException ignored) {
      // Read-only file: nothing to lose.
    }
  }
}
