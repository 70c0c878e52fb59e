package eu.hanse.aggregation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Reads N spooled updates side by side, one block of elements at a time, each multiplied by its
 * {@link SpooledUpdate#scale}, so that an aggregator that needs every update at once holds N
 * blocks, not N models. Not thread-safe.
 */
final class SpoolBlocks implements AutoCloseable {
  /** Elements per block: 64 Ki floats, 256 KiB per update. */
  static final int BLOCK = 1 << 16;

  private final List<SpooledUpdate> updates;
  private final FileChannel[] files;
  private final long elementCount;
  private final int block;
  private final float[][] values;
  private final ByteBuffer buffer;
  private long offset;
  private int length;

  SpoolBlocks(List<SpooledUpdate> updates, long elementCount) {
    this(updates, elementCount, BLOCK);
  }

  SpoolBlocks(List<SpooledUpdate> updates, long elementCount, int block) {
    this.updates = List.copyOf(updates);
    this.elementCount = elementCount;
    this.block = block;
    this.files = new FileChannel[updates.size()];
    this.values = new float[updates.size()][block];
    this.buffer = ByteBuffer.allocate(block * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    this.offset = -block;
    try {
      for (int u = 0; u < files.length; u++) {
        files[u] = FileChannel.open(updates.get(u).file(), StandardOpenOption.READ);
        long size = files[u].size();
        if (size != elementCount * Float.BYTES) {
          throw new IllegalArgumentException("spooled update of " + updates.get(u).site() + " holds " + size
              + " bytes, not the " + elementCount * Float.BYTES + " of " + elementCount + " elements");
        }
      }
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("cannot open the spooled updates: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Moves to the next block; false when every element has been read. */
  boolean next() {
    offset += block;
    if (offset >= elementCount) {
      length = 0;
      return false;
    }
    length = (int) Math.min(block, elementCount - offset);
    for (int u = 0; u < files.length; u++) {
      read(u);
    }
    return true;
  }

  private void read(int u) {
    buffer.clear().limit(length * Float.BYTES);
    try {
      long position = offset * Float.BYTES;
      while (buffer.hasRemaining()) {
        int read = files[u].read(buffer, position + buffer.position());
        if (read < 0) {
          throw new IOException("ended early");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read the spooled update of " + updates.get(u).site() + ": " + e.getMessage(), e);
    }
    buffer.flip();
    float[] target = values[u];
    buffer.asFloatBuffer().get(target, 0, length);
    float scale = (float) updates.get(u).scale();
    if (scale != 1f) {
      for (int i = 0; i < length; i++) {
        target[i] *= scale;
      }
    }
  }

  /** Element offset of the current block in the flat update. */
  long offset() {
    return offset;
  }

  /** Elements in the current block. */
  int length() {
    return length;
  }

  /** The current block of every update: {@code values()[u][0, length())}. */
  float[][] values() {
    return values;
  }

  @Override
  public void close() {
    for (FileChannel file : files) {
      if (file != null) {
        try {
          file.close();
        } catch (IOException ignored) {
          // Read-only; nothing is lost.
        }
      }
    }
  }
}
