package eu.hanse.aggregation;

import eu.hanse.kernels.Axpy;

/**
 * The sample-weighted mean of updates, folded one chunk at a time into a single accumulator.
 *
 * <p>Memory is one float per model element, whatever the number of updates folded: the coordinator
 * never holds a whole update, let alone one per site. Each chunk comes decoded, whatever its codec,
 * at an element offset into the flat update, which is all tensors concatenated in model order.
 *
 * <p>Not thread-safe: a round folds under its own lock.
 */
public final class WeightedMeanFold {
  private final float[] sum;
  private double totalWeight;
  private int updates;

  public WeightedMeanFold(long elementCount) {
    if (elementCount < 0 || elementCount > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("cannot fold " + elementCount + " elements in one accumulator");
    }
    this.sum = new float[(int) elementCount];
  }

  /**
   * Adds {@code weight} times {@code values[0, count)} at element offset {@code offset}: the
   * decoded values of a chunk in any codec.
   */
  public void foldValues(float[] values, int count, long offset, double weight) {
    requireFits(offset, count);
    Axpy.apply((float) weight, values, 0, sum, (int) offset, count);
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
