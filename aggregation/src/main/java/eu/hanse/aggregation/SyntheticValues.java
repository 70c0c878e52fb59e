package eu.hanse.aggregation;

/**
 * Pseudo-random values uniform in [-scale, scale), each a hash of its seed and position: any
 * block at any offset is made as it is read, the same every time, at a few nanoseconds an element.
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
    float unit = 2 * scale / (1 << 24);
    for (int i = 0; i < count; i++) {
      long bits = mix(seed + (offset + i) * 0x9E3779B97F4A7C15L);
      into[i] = (int) (bits >>> 40) * unit - scale;
    }
  }

  /** SplitMix64's finalizer. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
