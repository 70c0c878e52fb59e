package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.AsyncRounds;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.security.SiteId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Buffered asynchronous rounds ({@link AsyncRounds}, as in FedBuff): a round is open to updates
 * trained for it or a few rounds before, and commits once its buffer is full, or at its deadline
 * with what it has. A site that is idle gets the open round's work at once; the others go on with
 * what they train. Only the last round's checkpoint is evaluated, so that no round waits for sites
 * busy training.
 */
final class BufferedRounds implements RoundPolicy {
  /** How long an upload that arrives between two rounds waits for the next one. */
  private static final long BETWEEN_ROUNDS_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final JobSpec spec;
  private final AsyncRounds async;
  private final JobLock lock;
  private final Job job;
  /** The sites training now, and for which round. Guarded by the job's lock. */
  private final Map<SiteId, Long> training = new LinkedHashMap<>();
  /** The checkpoint each recent round trained from. Guarded by the job's lock. */
  private final Map<Long, String> recentBases = new LinkedHashMap<>();

  BufferedRounds(JobSpec spec, JobLock lock, Job job) {
    this.spec = spec;
    this.async = spec.schedule().async();
    this.lock = lock;
    this.job = job;
  }

  @Override
  public int sitesToOpen() {
    return 1;
  }

  @Override
  public Map<Long, String> basesFor(long round, String latestSha256) {
    recentBases.put(round, latestSha256);
    recentBases.keySet().removeIf(r -> r < round - async.maxStaleness());
    return Map.copyOf(recentBases);
  }

  @Override
  public void dispatch(OpenRound open, List<AgentLink> eligible) {
    for (AgentLink link : eligible) {
      if (!training.containsKey(link.site()) && !open.accepted().containsKey(link.site())) {
        training.put(link.site(), open.number);
        link.sendTrain(spec, open.number, open.base, spec.roundSeed(open.number));
      }
    }
  }

  /** What the site was training may have been lost with its old stream: it starts afresh. */
  @Override
  public void reconnected(AgentLink link, OpenRound open) {
    training.remove(link.site());
    if (open != null) {
      dispatch(open, job.eligibleOnline());
    }
  }

  @Override
  public void awaitClose(OpenRound open) throws InterruptedException {
    lock.awaitUntil(() -> open.accepted().size() >= async.buffer(),
        System.nanoTime() + spec.roundDeadline().toNanos());
  }

  /** At least one update. */
  @Override
  public boolean quorumIn(OpenRound round) {
    return !round.accepted().isEmpty();
  }

  @Override
  public boolean evaluatesAfter(long round, int roundsPlanned) {
    return round == roundsPlanned;
  }

  @Override
  public void requireTargets(OpenRound open, SiteId site, UpdateHeader header) {
    long oldest = open.number - async.maxStaleness();
    if (open.isClosed() || header.round() > open.number || header.round() < oldest) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "update is for round " + header.round() + " but round "
          + open.number + (open.isClosed() ? " is closed" : " is open and takes updates trained for rounds "
          + Math.max(1, oldest) + " to " + open.number));
    }
    if (!spec.schedule().admits(site)) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "site " + site + " does not take part in job " + spec.id());
    }
  }

  /** Between a commit and the next round's opening, an upload waits (briefly) for that round rather than being refused. */
  @Override
  public void awaitOpenRound() {
    lock.awaitBriefly(() -> job.openRound() != null || !job.opensMoreRounds(), BETWEEN_ROUNDS_WAIT_NANOS);
  }

  /** An update whose round closed during its upload goes into the next round, if it is not too stale by then. */
  @Override
  public void carryOver(SiteId site, UpdateHeader header) {
    awaitOpenRound();
    OpenRound next = job.openRound();
    if (next == null) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + header.round() + " closed before the upload "
          + "completed, and no round is open");
    }
    requireTargets(next, site, header);
  }

  @Override
  public void answered(SiteId site) {
    training.remove(site);
  }

  @Override
  public void abandoned() {
    training.clear();
  }

  @Override
  public Optional<String> closedRound(long round, int committedRounds) {
    // An update for a round that has committed still counts in a later one.
    return Optional.empty();
  }

  /** "; staleness SITE N, ..." (rounds behind, weighted 1/sqrt(1+N)). */
  @Override
  public String aggregationNote(OpenRound round) {
    return "; staleness " + String.join(", ", round.accepted().values().stream()
        .map(u -> u.site() + " " + u.staleness()).toList());
  }

  @Override
  public Failure failure(OpenRound round) {
    return new Failure("NO_UPDATE_BEFORE_DEADLINE", "no update before the deadline");
  }
}
