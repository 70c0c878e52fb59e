package eu.hanse.aggregation;

/**
 * The privacy spent by the Gaussian mechanism over rounds, in zero-concentrated differential
 * privacy (Bun and Steinke 2016): each round with noise multiplier z costs ρ = 1 / (2 z²), rounds
 * add up, and ρ-zCDP implies (ε, δ)-DP with ε = ρ + 2·sqrt(ρ·ln(1/δ)). Every participating site
 * is counted in every round (no sampling amplification is claimed), so the figure is an upper
 * bound for each site.
 */
public final class PrivacyAccountant {
  private final PrivacySpec spec;
  private int rounds;

  public PrivacyAccountant(PrivacySpec spec) {
    this.spec = spec;
  }

  /** Counts one more noisy round; returns ε after it. */
  public double spend() {
    rounds++;
    return epsilon();
  }

  /** ε at the spec's δ after the rounds counted so far; 0 before any. */
  public double epsilon() {
    if (rounds == 0) {
      return 0;
    }
    double z = spec.noiseMultiplier();
    double rho = rounds / (2 * z * z);
    return rho + 2 * Math.sqrt(rho * Math.log(1 / spec.delta()));
  }

  public int rounds() {
    return rounds;
  }
}
