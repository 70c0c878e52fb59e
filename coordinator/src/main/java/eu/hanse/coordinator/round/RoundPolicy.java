package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.security.SiteId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A job's scheduling policy: when a round opens and closes, who trains for it and from which base,
 * and which updates it takes. {@link InStepRounds} keeps every site in step (synchronous rounds);
 * {@link BufferedRounds} lets sites train without waiting for each other (FedBuff). A new way of
 * scheduling, such as rounds in fragments, is a new implementation, not a branch in {@link JobRun}.
 *
 * <p>Every method but {@link #awaitClose} is called holding the job's {@link JobLock};
 * {@code awaitClose} waits on it and so releases it.
 */
interface RoundPolicy {

  /** What a policy sees of its job. Called under the job's lock. */
  interface Job {
    /** The open round; null between rounds. */
    OpenRound openRound();

    /** Whether the job may still open a round: it runs and has rounds left to commit. */
    boolean opensMoreRounds();

    /** The online sites the job takes now (named by it, not in maintenance, with budget left). */
    List<AgentLink> eligibleOnline();
  }

  /** The policy the job's schedule asks for. */
  static RoundPolicy of(JobSpec spec, JobLock lock, Job job) {
    return spec.schedule().async() == null ? new InStepRounds(spec, lock) : new BufferedRounds(spec, lock, job);
  }

  /** How many eligible sites must be online before a round opens. */
  int sitesToOpen();

  /**
   * The bases round {@code round} accepts updates from, by the round they were trained for, given
   * that it starts from {@code latestSha256}.
   */
  Map<Long, String> basesFor(long round, String latestSha256);

  /** Sends out the work of a round that has just opened, to {@code eligible} (its participants among them). */
  void dispatch(OpenRound open, List<AgentLink> eligible);

  /** A site (re)connected while {@code open} (possibly null) is open: it gets the work it may have lost. */
  void reconnected(AgentLink link, OpenRound open);

  /** Waits until {@code open} may close: it has all it waits for, or its deadline has passed. */
  void awaitClose(OpenRound open) throws InterruptedException;

  /** Whether a closed round has the updates it needs to commit. */
  boolean quorumIn(OpenRound round);

  /** Whether the checkpoint round {@code round} commits is evaluated. */
  boolean evaluatesAfter(long round, int roundsPlanned);

  /**
   * Throws unless {@code open} takes an update whose header says it was trained for
   * {@code header.round()} by {@code site}.
   */
  void requireTargets(OpenRound open, SiteId site, UpdateHeader header);

  /**
   * Before a header is admitted: lets an upload that arrives between two rounds wait (briefly) for
   * the next one to open, where the policy takes such updates.
   */
  void awaitOpenRound();

  /**
   * The round an upload was admitted to closed before it completed: throws unless the policy takes
   * it into the round open now instead.
   */
  void carryOver(SiteId site, UpdateHeader header);

  /** The site has answered: its update was accepted or refused, or its training failed. */
  void answered(SiteId site);

  /** The open round was abandoned: no site trains for it any more. */
  void abandoned();

  /**
   * Why a site's work for {@code round} is no longer wanted, as far as the policy can tell: a round
   * that has closed. Reads no guarded state: a heartbeat never waits for a commit.
   */
  Optional<String> closedRound(long round, int committedRounds);

  /** What the round's record says about the policy's part in its aggregate, e.g. staleness; may be empty. */
  String aggregationNote(OpenRound round);

  /** Why a round that could not commit failed, for the log: its reason code and its message. */
  Failure failure(OpenRound round);

  /** @param reason a stable code for logs ({@code TOO_FEW_UPDATES}) */
  record Failure(String reason, String message) {}
}
