package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.security.SiteId;
import java.util.List;
import java.util.OptionalDouble;

/**
 * A job's evaluations, one at a time: the online sites are asked for their held-out loss of a
 * checkpoint and the job waits for their reports, as a round waits for updates. The result is the
 * loss on the union of the reporting sites' held-out sets. The evaluation under way is guarded by
 * the job's lock.
 */
final class Evaluations {
  private final JobSpec spec;
  private final JobLock lock;
  private final SiteSessions sessions;
  /** The evaluation under way; null when none is. */
  private Evaluation current;
  /** When the last evaluation was sent out, in nanoTime. */
  private long startedNanos;

  Evaluations(JobSpec spec, JobLock lock, SiteSessions sessions) {
    this.spec = spec;
    this.lock = lock;
    this.sessions = sessions;
  }

  /**
   * Asks the online sites for their held-out loss of {@code checkpoint} and waits for them, up to
   * the round deadline (with quorum plus grace: at most the grace period once the quorum is in).
   * Empty if no site reported, or the job was cancelled meanwhile.
   */
  OptionalDouble evaluate(CheckpointRef checkpoint) throws InterruptedException {
    Evaluation asked;
    synchronized (lock) {
      List<AgentLink> links = sessions.online();
      asked = current = new Evaluation(checkpoint, links.stream().map(AgentLink::site).toList());
      startedNanos = System.nanoTime();
      for (AgentLink link : links) {
        asked.firstSendTo(link);
        link.sendEvaluate(spec.id(), checkpoint);
      }
    }
    long deadline = System.nanoTime() + spec.roundDeadline().toNanos();
    if (spec.stragglers().policy() == Stragglers.Policy.QUORUM_PLUS_GRACE) {
      lock.awaitUntil(() -> asked.complete(sessions) || asked.reports().size() >= spec.minSites(), deadline);
      long graceEnd = Math.min(deadline, System.nanoTime() + spec.stragglers().grace().toNanos());
      lock.awaitUntil(() -> asked.complete(sessions), graceEnd);
    } else {
      lock.awaitUntil(() -> asked.complete(sessions), deadline);
    }
    synchronized (lock) {
      current = null;
      // A job cancelled meanwhile keeps no loss that only some sites reported.
      return lock.cancelled() ? OptionalDouble.empty() : asked.unionLoss();
    }
  }

  /** Seconds since the last evaluation was sent out. */
  double secondsSinceLastStarted() {
    synchronized (lock) {
      return (System.nanoTime() - startedNanos) / 1e9;
    }
  }

  /** A site reports its held-out loss of the checkpoint under evaluation. */
  void report(SiteId site, String checkpointSha256, double loss, long samples) {
    synchronized (lock) {
      if (current == null) {
        throw new RefusedException(Refusal.NOT_OPEN_ROUND, "no evaluation of job " + spec.id() + " is open");
      }
      current.report(site, checkpointSha256, loss, samples);
      lock.signalAll();
    }
  }

  /** A site that (re)connects while it is asked for an evaluation is asked again. */
  void reconnected(AgentLink link) {
    synchronized (lock) {
      if (current != null && current.awaits(link.site()) && current.firstSendTo(link)) {
        link.sendEvaluate(spec.id(), current.checkpoint);
      }
    }
  }
}
