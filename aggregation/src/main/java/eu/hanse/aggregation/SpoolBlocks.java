package eu.hanse.aggregation;

import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ChunkCodecs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Reads N spooled updates side by side, one chunk of elements at a time, decoded from their codec
 * and multiplied by their {@link SpooledUpdate#scale}, so that an aggregator that needs every update
 * at once holds N chunks, not N models. The updates of one round share their codec and chunk size.
 * Not thread-safe.
 */
public final class SpoolBlocks implements AutoCloseable {

  private final List<SpooledUpdate> updates;
  private final FileChannel[] files;
  private final long elementCount;
  private final int block;
  private final TensorBackend backend;
  private final ChunkCodecs decoder;
  private long position;
  private final float[][] values;
  private final ByteBuffer buffer;
  private long offset;
  private int length;

  public SpoolBlocks(List<SpooledUpdate> updates, long elementCount) {
    this.updates = List.copyOf(updates);
    this.elementCount = elementCount;
    SpooledUpdate first = updates.get(0);
    for (SpooledUpdate update : updates) {
      if (!update.codec().equals(first.codec()) || update.chunkElements() != first.chunkElements()) {
        throw new IllegalArgumentException("the updates of one round must share codec and chunk size; "
            + update.site() + " has " + update.codec().describe() + " in chunks of " + update.chunkElements());
      }
    }
    this.block = first.chunkElements();
    this.files = new FileChannel[updates.size()];
    this.values = new float[updates.size()][(int) Math.min(block, Math.max(1, elementCount))];
    this.buffer = ByteBuffer.allocate(first.codec().encodedBytes(values[0].length)).order(ByteOrder.LITTLE_ENDIAN);
    this.backend = TensorBackend.cpu(1);
    this.decoder = new ChunkCodecs(first.codec(), backend);
    this.offset = -block;
    try {
      for (int u = 0; u < files.length; u++) {
        files[u] = FileChannel.open(updates.get(u).file(), StandardOpenOption.READ);
        long size = files[u].size();
        long expected = updates.get(u).expectedBytes(elementCount);
        if (size != expected) {
          throw new IllegalArgumentException("spooled update of " + updates.get(u).site() + " holds " + size
              + " bytes, not the " + expected + " of " + elementCount + " elements as "
              + first.codec().describe());
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
  public boolean next() {
    offset += block;
    if (offset >= elementCount) {
      length = 0;
      return false;
    }
    length = (int) Math.min(block, elementCount - offset);
    for (int u = 0; u < files.length; u++) {
      read(u);
    }
    position += buffer.limit();
    return true;
  }

  private void read(int u) {
    buffer.clear().limit(decoder.codec().encodedBytes(length));
    try {
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
    try {
      decoder.decode(buffer, length, target);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("spooled update of " + updates.get(u).site() + ", elements from " + offset
          + ": " + e.getMessage(), e);
    }
    float scale = (float) updates.get(u).scale();
    if (scale != 1f) {
      for (int i = 0; i < length; i++) {
        target[i] *= scale;
      }
    }
  }

  /** Element offset of the current block in the flat update. */
  public long offset() {
    return offset;
  }

  /** Elements in the current block. */
  public int length() {
    return length;
  }

  /** The current block of every update: {@code values()[u][0, length())}. */
  public float[][] values() {
    return values;
  }

  @Override
  public void close() {
    if (backend != null) {
      backend.close();
    }
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
