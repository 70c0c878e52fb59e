package eu.hanse.coordinator.job;

import java.util.List;

/**
 * A job's state as written to {@code <data-dir>/jobs/<job>/status.json} after every change.
 *
 * @param heldOutLoss the global held-out loss before round 1, then after each committed round
 * @param aggregator how rounds combine updates, as {@code --aggregator} names it
 * @param filters the update filters: clipping and noise, or "none"
 * @param codec how sites encode their updates
 * @param bytesUploaded update bytes accepted from all sites over all rounds
 * @param deviceHours the device-hours (GPU-hours on GPU sites) each site's accepted updates took, as the
 *     sites reported them; what a site's GPU-hour budget in the job is counted against
 * @param waiting why no round is open now, when the job waits for sites (e.g. "1 of 2 sites online;
 *     required but not here: [jupiter]"); null when it does not
 * @param mutualTls true when the coordinator's server requires a client certificate on every
 *     connection, as its TLS context is configured: every caller was identified by its certificate
 */
public record JobStatus(
    String job,
    String state,
    int roundsPlanned,
    int roundsCompleted,
    String outer,
    String aggregator,
    String filters,
    String codec,
    List<String> sites,
    String initialCheckpoint,
    String finalCheckpoint,
    List<Double> heldOutLoss,
    long bytesUploaded,
    java.util.Map<String, Double> deviceHours,
    String waiting,
    boolean mutualTls,
    List<RoundRecord> rounds) {
  public static final String RUNNING = "RUNNING";
  public static final String FINISHED = "FINISHED";
  public static final String FAILED = "FAILED";
  public static final String PAUSED = "PAUSED";
  public static final String CANCELLED = "CANCELLED";
}
