package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.security.SiteId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Collects the sites' held-out losses of one checkpoint. The global held-out loss is their mean
 * weighted by held-out examples: the loss on the union of the sites' held-out sets. Guarded by its
 * job's lock.
 */
final class Evaluation {
  private final java.util.Set<AgentLink> sentTo = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  final CheckpointRef checkpoint;
  private final List<SiteId> asked;
  private final Map<SiteId, Report> reports = new LinkedHashMap<>();

  record Report(double loss, long samples) {}

  Evaluation(CheckpointRef checkpoint, List<SiteId> asked) {
    this.checkpoint = checkpoint;
    this.asked = List.copyOf(asked);
  }

  void report(SiteId site, String checkpointSha, double loss, long samples) {
    if (!checkpointSha.equals(checkpoint.sha256())) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "evaluation is for checkpoint "
          + OpenRound.abbreviate(checkpointSha) + " but " + OpenRound.abbreviate(checkpoint.sha256()) + " is being evaluated");
    }
    if (!asked.contains(site)) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "site " + site + " was not asked to evaluate this checkpoint");
    }
    if (!Double.isFinite(loss) || loss < 0) {
      throw new RefusedException(Refusal.NON_FINITE, "held-out loss must be finite and not negative, was " + loss);
    }
    if (samples < 1) {
      throw new RefusedException(Refusal.BAD_SAMPLE_COUNT, "held-out sample count must be positive, was " + samples);
    }
    reports.put(site, new Report(loss, samples));
  }

  /** True if the site was asked to evaluate this checkpoint and has not reported yet. */
  boolean awaits(SiteId site) {
    return asked.contains(site) && !reports.containsKey(site);
  }

  boolean complete(SiteSessions sessions) {
    return asked.stream().allMatch(site -> reports.containsKey(site) || !sessions.isOnline(site));
  }

  /** The held-out loss over the union of the reporting sites' held-out sets. */
  OptionalDouble unionLoss() {
    double weighted = 0;
    long samples = 0;
    for (Report report : reports.values()) {
      weighted += report.loss() * report.samples();
      samples += report.samples();
    }
    return samples == 0 ? OptionalDouble.empty() : OptionalDouble.of(weighted / samples);
  }

  Map<SiteId, Report> reports() {
    return reports;
  }

  /**
   * True the first time for each link: a site that connects while the job sends out this work gets
   * it from the job or from its connect handler, never from both.
   */
  boolean firstSendTo(AgentLink link) {
    return sentTo.add(link);
  }
}
