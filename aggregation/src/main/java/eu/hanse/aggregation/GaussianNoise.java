package eu.hanse.aggregation;

import java.security.SecureRandom;

/** Adds independent Gaussian noise to an aggregate, from a cryptographic source of randomness. */
public final class GaussianNoise {
  private final SecureRandom random;

  public GaussianNoise(SecureRandom random) {
    this.random = random;
  }

  /** {@code values[i] += N(0, sigma²)} for every element. */
  public void addTo(float[] values, double sigma) {
    addTo(values, values.length, sigma);
  }

  /** {@code values[i] += N(0, sigma²)} for the first {@code length} elements. */
  public void addTo(float[] values, int length, double sigma) {
    if (!(sigma >= 0) || Double.isInfinite(sigma)) {
      throw new IllegalArgumentException("noise sigma must be finite and not negative, was " + sigma);
    }
    for (int i = 0; i < length; i++) {
      values[i] += (float) (random.nextGaussian() * sigma);
    }
  }

  /** A sink that adds the noise to each block, then hands it to {@code next}. */
  public BlockSink before(BlockSink next, double sigma) {
    return (offset, values, length) -> {
      addTo(values, length, sigma);
      next.accept(offset, values, length);
    };
  }
}
