package eu.hanse.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * An open float32 safetensors file read in place: its layout and metadata from the header, its
 * values block by block in flat order (the order of the tensors' data, which is model order), so
 * a checkpoint of any size is read through a fixed buffer. Not thread-safe.
 */
public final class SafetensorsFile implements FlatReader, AutoCloseable {
  private final Path file;
  private final FileChannel channel;
  private final FloatChannel values;
  private final List<TensorSpec> specs;
  private final Map<String, String> metadata;
  private final long dataStart;
  private final long length;

  private SafetensorsFile(Path file, FileChannel channel, Safetensors.Header header) {
    this.file = file;
    this.channel = channel;
    this.values = new FloatChannel(channel, file);
    this.specs = header.specs();
    this.metadata = header.metadata();
    this.dataStart = header.dataStart();
    this.length = header.elementCount();
  }

  /** Opens a checkpoint and checks its header; CheckpointFormatException says what is wrong with a bad one. */
  public static SafetensorsFile open(Path file) {
    FileChannel channel = null;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
      return new SafetensorsFile(file, channel, Safetensors.readHeader(channel, file));
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot read checkpoint " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  public Path file() {
    return file;
  }

  /** The tensors in model order. */
  public List<TensorSpec> specs() {
    return specs;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public synchronized void read(long offset, float[] into, int count) {
    FlatReader.requireRange(offset, count, length);
    values.read(dataStart + offset * Float.BYTES, into, count);
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // Read-only: nothing is lost.
      }
    }
  }
}
