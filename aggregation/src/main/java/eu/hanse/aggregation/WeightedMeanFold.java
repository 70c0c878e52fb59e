package eu.hanse.aggregation;

import eu.hanse.kernels.Axpy;
import eu.hanse.model.FlatReader;

/**
 * The sample-weighted mean of updates, folded one chunk at a time into a single accumulator array.
 *
 * <p>Memory is one float per model element, whatever the number of updates folded: the coordinator
 * never holds a whole update, let alone one per site. Each chunk comes decoded, whatever its codec,
 * at an element offset into the flat update, which is all tensors concatenated in model order. A
 * model too large to fold in the heap is not folded at all: its round averages the spooled updates
 * at the commit ({@link Aggregators#weightedMean}).
 *
 * <p>Not thread-safe: a round folds under its own lock.
 */
public final class WeightedMeanFold {
  private final long length;
  private final float[] sum;
  private double totalWeight;
  private int updates;

  public WeightedMeanFold(long elementCount) {
    if (elementCount < 0 || elementCount > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("cannot fold " + elementCount + " elements in one array");
    }
    this.length = elementCount;
    this.sum = new float[(int) elementCount];
  }

  /**
   * Adds {@code weight} times {@code values[0, count)} at element offset {@code offset}: the
   * decoded values of a chunk in any codec.
   */
  public void foldValues(float[] chunk, int count, long offset, double weight) {
    FlatReader.requireRange(offset, count, length);
    Axpy.apply((float) weight, chunk, 0, sum, (int) offset, count);
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
      System.arraycopy(sum, (int) offset, mean, 0, count);
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
}
