package eu.hanse.kernels;

import java.util.Objects;

/**
 * Pseudo-random floats uniform in {@code [-scale, scale)}, each a hash of a seed and its position,
 * so that any block at any offset is made as it is read, the same every time. The hash works on
 * 32-bit integers (MurmurHash3's finalizer over the position times the golden ratio), which the
 * Vector API computes eight or sixteen lanes at a time: the values come at several gigabytes a
 * second, bit for bit the same with or without the Vector API module.
 */
public final class HashedUniform {
  static final int GOLDEN = 0x9E3779B9;

  private HashedUniform() {}

  /**
   * Fills {@code into[0, count)} with the values at positions {@code position, position + 1, ...}
   * of the sequence of {@code seed}.
   */
  public static void fill(long seed, long position, float[] into, int count, float scale) {
    Objects.checkFromIndexSize(0, count, into.length);
    if (position < 0) {
      throw new IllegalArgumentException("position must not be negative, was " + position);
    }
    float unit = 2 * scale / (1 << 24);
    int done = 0;
    while (done < count) {
      long at = position + done;
      // Within a run the position's upper 32 bits are constant: they go into the run's key.
      int run = (int) Math.min(count - done, (1L << 32) - (at & 0xffffffffL));
      int key = runKey(seed, (int) (at >>> 32));
      if (Axpy.VECTOR_API) {
        VectorHashedUniform.fill(key, (int) at, into, done, run, unit, scale);
      } else {
        plain(key, (int) at, into, done, run, unit, scale);
      }
      done += run;
    }
  }

  static void plain(int key, int low, float[] into, int from, int count, float unit, float scale) {
    for (int i = 0; i < count; i++) {
      into[from + i] = (mix((low + i) * GOLDEN + key) >>> 8) * unit - scale;
    }
  }

  private static int runKey(long seed, int high) {
    return mix((int) seed ^ mix((int) (seed >>> 32) ^ mix(high + GOLDEN)));
  }

  /** MurmurHash3's 32-bit finalizer. */
  static int mix(int h) {
    h ^= h >>> 16;
    h *= 0x85EBCA6B;
    h ^= h >>> 13;
    h *= 0xC2B2AE35;
    return h ^ (h >>> 16);
  }
}
