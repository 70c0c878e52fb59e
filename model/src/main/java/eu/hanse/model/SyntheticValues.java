package eu.hanse.model;

import eu.hanse.kernels.HashedUniform;

/**
 * Pseudo-random values uniform in [-scale, scale), each a hash of its seed and position
 * ({@link HashedUniform}): any block at any offset is made as it is read, the same every time, at
 * several gigabytes a second.
 * The stand-in for a model, or an update, too large to train here.
 */
public final class SyntheticValues implements FlatReader {
  private final long length;
  private final long seed;
  private final float scale;

  public SyntheticValues(long length, long seed, double scale) {
    if (length < 0) {
      throw new IllegalArgumentException("length must not be negative, was " + length);
    }
    this.length = length;
    this.seed = seed;
    this.scale = (float) scale;
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public void read(long offset, float[] into, int count) {
    FlatReader.requireRange(offset, count, length);
    HashedUniform.fill(seed, offset, into, count, scale);
  }
}
