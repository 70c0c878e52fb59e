package eu.hanse.coordinator.job;

import java.time.Duration;

/**
 * When a round stops waiting for slow sites.
 *
 * @param policy {@link Policy#WAIT_FOR_ALL}: until every participant has answered or the deadline
 *     passes; {@link Policy#QUORUM_PLUS_GRACE}: once the quorum is in, {@code grace} more at most
 * @param grace how long a round waits past its quorum; zero unless the policy is quorum plus grace
 */
public record Stragglers(Policy policy, Duration grace) {
  public enum Policy { WAIT_FOR_ALL, QUORUM_PLUS_GRACE }

  public Stragglers {
    if (grace.isNegative()) {
      throw new IllegalArgumentException("grace must not be negative, was " + grace);
    }
    if (policy == Policy.WAIT_FOR_ALL && !grace.isZero()) {
      throw new IllegalArgumentException("a grace period needs the quorum-plus-grace policy; wait-for-all waits "
          + "until the deadline");
    }
  }

  public static Stragglers waitForAll() {
    return new Stragglers(Policy.WAIT_FOR_ALL, Duration.ZERO);
  }

  public static Stragglers quorumPlus(Duration grace) {
    return new Stragglers(Policy.QUORUM_PLUS_GRACE, grace);
  }

  public String describe() {
    return policy == Policy.WAIT_FOR_ALL ? "wait-for-all" : "quorum-plus-grace " + grace;
  }
}
