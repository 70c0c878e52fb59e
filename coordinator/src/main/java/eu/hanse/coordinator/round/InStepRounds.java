package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.security.SiteId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Rounds in step: each round opens for the eligible online sites, waits for their updates (or a
 * quorum and a grace period, or its deadline) and commits before the next one opens; every
 * update is trained from the round's base.
 */
final class InStepRounds implements RoundPolicy {
  private final JobSpec spec;
  private final JobLock lock;

  InStepRounds(JobSpec spec, JobLock lock) {
    this.spec = spec;
    this.lock = lock;
  }

  @Override
  public int sitesToOpen() {
    return spec.minSites();
  }

  @Override
  public Map<Long, String> basesFor(long round, String latestSha256) {
    return Map.of(round, latestSha256);
  }

  @Override
  public void dispatch(OpenRound open, List<AgentLink> eligible) {
    for (AgentLink link : eligible) {
      reconnected(link, open);
    }
  }

  @Override
  public void reconnected(AgentLink link, OpenRound open) {
    if (open != null && open.awaits(link.site()) && open.firstSendTo(link)) {
      link.sendTrain(spec, open.number, open.base, spec.roundSeed(open.number));
    }
  }

  /**
   * Waits until every participant has answered or the deadline passes; with quorum plus grace, at
   * most the grace period once the quorum is in.
   */
  @Override
  public void awaitClose(OpenRound open) throws InterruptedException {
    long deadline = System.nanoTime() + spec.roundDeadline().toNanos();
    if (spec.stragglers().policy() == Stragglers.Policy.WAIT_FOR_ALL) {
      lock.awaitUntil(open::everyoneReported, deadline);
      return;
    }
    lock.awaitUntil(() -> open.everyoneReported() || quorumIn(open), deadline);
    synchronized (lock) {
      if (open.everyoneReported() || !quorumIn(open)) {
        return;
      }
    }
    long graceEnd = Math.min(deadline, System.nanoTime() + spec.stragglers().grace().toNanos());
    lock.awaitUntil(open::everyoneReported, graceEnd);
  }

  /** At least the quorum's updates, the required sites' among them. */
  @Override
  public boolean quorumIn(OpenRound round) {
    return round.accepted().size() >= spec.minSites()
        && round.accepted().keySet().containsAll(spec.schedule().requiredSites());
  }

  @Override
  public boolean evaluatesAfter(long round, int roundsPlanned) {
    return true;
  }

  @Override
  public void requireTargets(OpenRound open, SiteId site, UpdateHeader header) {
    if (open.isClosed() || header.round() != open.number) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "update is for round " + header.round() + " but "
          + (open.isClosed() ? "round " + open.number + " is closed" : "round " + open.number + " is open"));
    }
    if (!open.participants.contains(site)) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "site " + site + " was not asked to train in round "
          + open.number);
    }
  }

  @Override
  public void awaitOpenRound() {
    // A round in step takes only updates trained for it: nothing is worth waiting for.
  }

  @Override
  public void carryOver(SiteId site, UpdateHeader header) {
    throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + header.round() + " closed before the upload completed");
  }

  @Override
  public void answered(SiteId site) {
    // Nothing to track: the open round knows who answered.
  }

  @Override
  public void abandoned() {
    // Nothing to track.
  }

  @Override
  public Optional<String> closedRound(long round, int committedRounds) {
    return round <= committedRounds ? Optional.of("round " + round + " of job " + spec.id() + " has closed")
        : Optional.empty();
  }

  @Override
  public String aggregationNote(OpenRound round) {
    return "";
  }

  @Override
  public Failure failure(OpenRound round) {
    return new Failure("TOO_FEW_UPDATES", round.accepted().size() + " of " + spec.minSites()
        + " needed updates accepted" + (spec.schedule().requiredSites().isEmpty() ? ""
        : ", required " + spec.schedule().requiredSites()) + " (refused: " + round.refused().keySet() + ")");
  }
}
