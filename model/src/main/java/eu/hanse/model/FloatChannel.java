package eu.hanse.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Little-endian float32 values at byte positions of a file, moved through one direct buffer that
 * grows to the largest block asked for. Not thread-safe.
 */
final class FloatChannel {
  private final FileChannel channel;
  private final Path file;
  private ByteBuffer buffer = ByteBuffer.allocateDirect(0);

  FloatChannel(FileChannel channel, Path file) {
    this.channel = channel;
    this.file = file;
  }

  void read(long position, float[] into, int count) {
    ByteBuffer bytes = buffer(count);
    try {
      while (bytes.hasRemaining()) {
        if (channel.read(bytes, position + bytes.position()) < 0) {
          throw new CheckpointFormatException(file + ": ends early (truncated)");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    bytes.flip().asFloatBuffer().get(into, 0, count);
  }

  void write(long position, float[] from, int count) {
    ByteBuffer bytes = buffer(count);
    bytes.asFloatBuffer().put(from, 0, count);
    try {
      while (bytes.hasRemaining()) {
        channel.write(bytes, position + bytes.position());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  private ByteBuffer buffer(int count) {
    int bytes = Math.multiplyExact(count, Float.BYTES);
    if (buffer.capacity() < bytes) {
      buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
    buffer.clear().limit(bytes);
    return buffer;
  }
}
