package eu.hanse.aggregation;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The sample-weighted mean of updates, folded one chunk at a time into a single accumulator.
 *
 * <p>Memory is one float per model element, whatever the number of updates folded: the coordinator
 * never holds a whole update, let alone one per site. Chunks carry fp32 values (little-endian) at an
 * element offset into the flat update, which is all tensors concatenated in model order.
 *
 * <p>Not thread-safe: a round folds under its own lock.
 */
public final class WeightedMeanFold {
  private final float[] sum;
  /** 32 KiB: a piece of a chunk, small enough to stay in the first-level cache while it is folded. */
  private final float[] scratch = new float[8192];
  private double totalWeight;
  private int updates;

  public WeightedMeanFold(long elementCount) {
    if (elementCount < 0 || elementCount > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("cannot fold " + elementCount + " elements in one accumulator");
    }
    this.sum = new float[(int) elementCount];
  }

  /** Adds {@code weight} times the fp32 values in {@code chunk} at element offset {@code offset}. */
  public void foldChunk(ByteBuffer chunk, long offset, double weight) {
    ByteBuffer values = chunk.slice().order(ByteOrder.LITTLE_ENDIAN);
    if (values.remaining() % Float.BYTES != 0) {
      throw new IllegalArgumentException("chunk of " + values.remaining() + " bytes is not whole floats");
    }
    int count = values.remaining() / Float.BYTES;
    requireFits(offset, count);
    // Through a small scratch array that stays in the core's cache, a piece at a time.
    FloatBuffer floats = values.asFloatBuffer();
    for (int from = 0; from < count; from += scratch.length) {
      int length = Math.min(scratch.length, count - from);
      floats.get(from, scratch, 0, length);
      foldValues(scratch, length, offset + from, weight);
    }
  }

  /**
   * Adds {@code weight} times {@code values[0, count)} at element offset {@code offset}: the
   * decoded values of a chunk in any codec. A plain loop the JIT vectorizes.
   */
  public void foldValues(float[] values, int count, long offset, double weight) {
    requireFits(offset, count);
    float w = (float) weight;
    int base = (int) offset;
    for (int i = 0; i < count; i++) {
      sum[base + i] += w * values[i];
    }
  }

  private void requireFits(long offset, int count) {
    if (offset < 0 || count < 0 || offset + count > sum.length) {
      throw new IllegalArgumentException("chunk of " + count + " elements at element " + offset
          + " does not fit an update of " + sum.length + " elements");
    }
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

  /** The weighted mean: the accumulator divided by the total weight, in place. Call once. */
  public float[] mean() {
    if (updates == 0) {
      throw new IllegalStateException("no update was folded");
    }
    float inverse = (float) (1.0 / totalWeight);
    for (int i = 0; i < sum.length; i++) {
      sum[i] *= inverse;
    }
    return sum;
  }
}
