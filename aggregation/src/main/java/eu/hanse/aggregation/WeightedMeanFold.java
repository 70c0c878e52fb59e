package eu.hanse.aggregation;

import eu.hanse.kernels.Axpy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The sample-weighted mean of updates, folded one chunk at a time into a single accumulator.
 *
 * <p>Memory is one float per model element, whatever the number of updates folded: the coordinator
 * never holds a whole update, let alone one per site. The accumulator is an array, or, for a model
 * too large for the heap, a file that each chunk is folded into in place, so memory is one chunk.
 * Each chunk comes decoded, whatever its codec, at an element offset into the flat update, which
 * is all tensors concatenated in model order.
 *
 * <p>Not thread-safe: a round folds under its own lock.
 */
public final class WeightedMeanFold implements AutoCloseable {
  private final long length;
  /** The accumulator in memory; null when it is a file. */
  private final float[] sum;
  private final Path file;
  private final FileChannel channel;
  private final FloatChannel values;
  private float[] block = new float[0];
  private double totalWeight;
  private int updates;

  /** A fold whose accumulator is an array. */
  public WeightedMeanFold(long elementCount) {
    if (elementCount < 0 || elementCount > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("cannot fold " + elementCount + " elements in one array");
    }
    this.length = elementCount;
    this.sum = new float[(int) elementCount];
    this.file = null;
    this.channel = null;
    this.values = null;
  }

  /** A fold whose accumulator is {@code file}, created afresh and deleted on {@link #close()}. */
  public WeightedMeanFold(long elementCount, Path file) {
    if (elementCount < 0) {
      throw new IllegalArgumentException("cannot fold " + elementCount + " elements");
    }
    this.length = elementCount;
    this.sum = null;
    this.file = file;
    try {
      this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
          StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the fold's accumulator " + file + ": " + e.getMessage(), e);
    }
    this.values = new FloatChannel(channel, file);
  }

  /**
   * Adds {@code weight} times {@code values[0, count)} at element offset {@code offset}: the
   * decoded values of a chunk in any codec.
   */
  public void foldValues(float[] chunk, int count, long offset, double weight) {
    FlatReader.requireRange(offset, count, length);
    if (sum != null) {
      Axpy.apply((float) weight, chunk, 0, sum, (int) offset, count);
      return;
    }
    if (block.length < count) {
      block = new float[count];
    }
    if (updates == 0) {
      // Nothing is in the file yet: the first update's chunks are written, not added.
      java.util.Arrays.fill(block, 0, count, 0f);
    } else {
      values.read(offset * Float.BYTES, block, count);
    }
    Axpy.apply((float) weight, chunk, 0, block, 0, count);
    values.write(offset * Float.BYTES, block, count);
  }

  /** Counts one whole update of the given weight as folded; call after all its chunks. */
  public void completeUpdate(double weight) {
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("update weight must be positive and finite, was " + weight);
    }
    totalWeight += weight;
    updates++;
  }

  public int updates() {
    return updates;
  }

  public double totalWeight() {
    return totalWeight;
  }

  /** The weighted mean, in memory: the array accumulator divided by the total weight, in place. Call once. */
  public float[] mean() {
    if (sum == null) {
      throw new IllegalStateException("the fold is in " + file + "; read its mean block by block");
    }
    requireFolded();
    float inverse = (float) (1.0 / totalWeight);
    for (int i = 0; i < sum.length; i++) {
      sum[i] *= inverse;
    }
    return sum;
  }

  /** Hands the weighted mean to {@code out} in blocks of at most {@code blockElements}, in element order. */
  public void mean(BlockSink out, int blockElements) {
    requireFolded();
    float inverse = (float) (1.0 / totalWeight);
    float[] mean = new float[(int) Math.min(blockElements, Math.max(1, length))];
    for (long offset = 0; offset < length; offset += mean.length) {
      int count = (int) Math.min(mean.length, length - offset);
      if (sum != null) {
        System.arraycopy(sum, (int) offset, mean, 0, count);
      } else {
        values.read(offset * Float.BYTES, mean, count);
      }
      for (int i = 0; i < count; i++) {
        mean[i] *= inverse;
      }
      out.accept(offset, mean, count);
    }
  }

  private void requireFolded() {
    if (updates == 0) {
      throw new IllegalStateException("no update was folded");
    }
  }

  /** Deletes the accumulator's file, if it has one. */
  @Override
  public void close() {
    if (channel == null) {
      return;
    }
    try {
      channel.close();
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + file + ": " + e.getMessage(), e);
    }
  }
}
