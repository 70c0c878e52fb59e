package eu.hanse.aggregation;

import java.util.Locale;

/**
 * The update filters of a job: each accepted update is clipped to Euclidean norm {@code clipNorm}
 * ({@code --clip}), and Gaussian noise of standard deviation {@code noiseMultiplier} times the
 * mean's sensitivity is added to the aggregate ({@code --dp-noise}, central differential privacy
 * as in DP-FedAvg). The privacy spent is reported per round by {@link PrivacyAccountant}.
 *
 * @param clipNorm the norm bound, or 0 for no clipping
 * @param noiseMultiplier z, or 0 for no noise; needs a clip norm, which bounds the sensitivity
 * @param delta the δ at which ε is reported
 */
public record PrivacySpec(double clipNorm, double noiseMultiplier, double delta) {
  public static final double DEFAULT_DELTA = 1e-5;

  public PrivacySpec {
    if (!(clipNorm >= 0) || Double.isInfinite(clipNorm)) {
      throw new IllegalArgumentException("--clip must be a positive norm, was " + clipNorm);
    }
    if (!(noiseMultiplier >= 0) || Double.isInfinite(noiseMultiplier)) {
      throw new IllegalArgumentException("--dp-noise must be a positive multiplier, was " + noiseMultiplier);
    }
    if (noiseMultiplier > 0 && clipNorm == 0) {
      throw new IllegalArgumentException("--dp-noise needs --clip: the clip norm bounds what one site can change");
    }
    if (!(delta > 0 && delta < 1)) {
      throw new IllegalArgumentException("delta must be in (0, 1), was " + delta);
    }
  }

  public static PrivacySpec none() {
    return new PrivacySpec(0, 0, DEFAULT_DELTA);
  }

  public boolean clips() {
    return clipNorm > 0;
  }

  public boolean noisy() {
    return noiseMultiplier > 0;
  }

  /**
   * The noise's standard deviation for a weighted mean: z times the most one site can move it, its
   * weight share times the clip norm.
   */
  public double sigma(double largestWeight, double totalWeight) {
    return noiseMultiplier * clipNorm * largestWeight / totalWeight;
  }

  public String describe() {
    if (!clips()) {
      return "none";
    }
    return String.format(Locale.ROOT, "clip %s%s", clipNorm, noisy() ? ", gaussian noise z=" + noiseMultiplier : "");
  }
}
