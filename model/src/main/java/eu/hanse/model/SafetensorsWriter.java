package eu.hanse.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Writes a float32 safetensors file of a given layout: the header first, then the values block by
 * block at their flat offsets, in any order, through a fixed buffer. {@link #finish()} forces the
 * file to disk once every value is written. Not thread-safe.
 */
public final class SafetensorsWriter implements FlatWriter, AutoCloseable {
  private final Path file;
  private final FileChannel channel;
  private final FloatChannel values;
  private final long dataStart;
  private final long length;

  /** Creates (or truncates) {@code file} with the layout's header; the values are zero until written. */
  public SafetensorsWriter(Path file, List<TensorSpec> specs, Map<String, String> metadata) {
    this.file = file;
    byte[] header = Safetensors.header(specs, metadata);
    long count = 0;
    for (TensorSpec spec : specs) {
      count += spec.elementCount();
    }
    this.length = count;
    this.dataStart = 8L + header.length;
    try {
      this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.WRITE, StandardOpenOption.READ);
      ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
      prefix.putLong(header.length).put(header).flip();
      while (prefix.hasRemaining()) {
        channel.write(prefix);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + file + ": " + e.getMessage(), e);
    }
    this.values = new FloatChannel(channel, file);
  }

  /** Elements in all. */
  public long length() {
    return length;
  }

  @Override
  public void write(long offset, float[] from, int count) {
    FlatReader.requireRange(offset, count, length);
    values.write(dataStart + offset * Float.BYTES, from, count);
  }

  /** Copies every value from {@code source}, a block at a time. */
  public void writeAll(FlatReader source) {
    if (source.length() != length) {
      throw new IllegalArgumentException("a source of " + source.length() + " elements for a layout of " + length);
    }
    float[] block = new float[(int) Math.min(Safetensors.BLOCK_ELEMENTS, Math.max(1, length))];
    for (long offset = 0; offset < length; offset += block.length) {
      int count = (int) Math.min(block.length, length - offset);
      source.read(offset, block, count);
      write(offset, block, count);
    }
  }

  /** Sizes the file to its whole layout and forces it to disk. */
  public void finish() {
    try {
      long size = dataStart + length * Float.BYTES;
      if (channel.size() < size) {
        // Values never written are zero: a sparse tail is still the right size.
        channel.write(ByteBuffer.allocate(1), size - 1);
      }
      channel.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
    }
  }
}
