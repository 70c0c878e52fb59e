package eu.hanse.coordinator.job;

import java.util.List;
import java.util.Map;

/**
 * A committed round as operators and tools see it (the status JSON).
 *
 * @param trainLoss each accepted site's mean local training loss
 * @param bytesUploaded update bytes each accepted site sent
 * @param heldOutLoss the new checkpoint's loss on the union of the sites' held-out sets; null if no site reported
 * @param seconds wall time from opening the round to its evaluation
 * @param aggregation how the updates were combined: what the aggregator chose, dropped or scaled,
 *     what the clip scaled, and the noise added
 * @param privacyEpsilon the differential privacy spent so far (ε at the job's δ), null without noise
 * @param phases where each accepted site's part of the round's time went; a site whose update was
 *     accepted before the coordinator restarted has none
 * @param commitSeconds aggregating, stepping and writing the new checkpoint
 */
public record RoundRecord(
    long round,
    String state,
    List<String> acceptedSites,
    List<RefusedSite> refusedSites,
    String checkpoint,
    String checkpointPath,
    Map<String, Double> trainLoss,
    Map<String, Long> bytesUploaded,
    Double heldOutLoss,
    double seconds,
    String aggregation,
    Double privacyEpsilon,
    Map<String, SitePhases> phases,
    Double commitSeconds) {

  /**
   * This record once its checkpoint was evaluated: with its held-out loss (null if no site
   * reported one), and the evaluation's time added to the round's.
   */
  public RoundRecord withEvaluation(Double loss, double evaluationSeconds) {
    return new RoundRecord(round, state, acceptedSites, refusedSites, checkpoint, checkpointPath, trainLoss,
        bytesUploaded, loss, seconds + evaluationSeconds, aggregation, privacyEpsilon, phases, commitSeconds);
  }

  /** A site whose update the round refused, and why. */
  public record RefusedSite(String site, String reason, String message) {}
}
