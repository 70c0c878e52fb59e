package eu.hanse.coordinator.job;

/**
 * Asynchronous rounds, as in FedBuff: sites train without waiting for each other, each starting
 * again from the latest checkpoint as soon as its update is in; a round commits once it holds
 * {@code buffer} updates (or at its deadline, with at least one). An update trained from an older
 * checkpoint still counts, scaled by {@code 1 / sqrt(1 + staleness)}, where staleness is how
 * many rounds committed since its base (the round's mean divides by the updates' weights before
 * that discount, so a stale update moves the model less); one more than {@code maxStaleness} rounds
 * behind is refused. The outer step defaults to FedBuff's: SGD with learning rate 1.
 */
public record AsyncRounds(int buffer, int maxStaleness) {
  public AsyncRounds {
    if (buffer < 1) {
      throw new IllegalArgumentException("the async buffer must hold at least 1 update, was " + buffer);
    }
    if (maxStaleness < 0) {
      throw new IllegalArgumentException("max staleness must not be negative, was " + maxStaleness);
    }
  }

  /** The weight factor of an update {@code staleness} rounds behind. */
  public static double stalenessWeight(long staleness) {
    return 1.0 / Math.sqrt(1.0 + staleness);
  }
}
