package eu.hanse.coordinator.console;

import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.security.AuditVerification;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What the HTTP console's API answers, as maps and lists ready for JSON. */
public final class ConsoleViews {
  private ConsoleViews() {}

  /** A job in a list: its state and progress. */
  public static Map<String, Object> jobSummary(JobStatus status) {
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("job", status.job());
    summary.put("state", status.state());
    summary.put("roundsPlanned", status.roundsPlanned());
    summary.put("roundsCompleted", status.roundsCompleted());
    summary.put("sites", status.sites());
    summary.put("codec", status.codec());
    summary.put("heldOutLoss", status.heldOutLoss().isEmpty() ? null : status.heldOutLoss().getLast());
    summary.put("waiting", status.waiting());
    return summary;
  }

  /** Every update a job's committed rounds accepted or refused, round by round. */
  static List<Map<String, Object>> updates(JobStatus status) {
    List<Map<String, Object>> updates = new ArrayList<>();
    for (RoundRecord round : status.rounds()) {
      for (String site : round.acceptedSites()) {
        Map<String, Object> update = new LinkedHashMap<>();
        update.put("round", round.round());
        update.put("site", site);
        update.put("state", "accepted");
        update.put("bytes", round.bytesUploaded().get(site));
        update.put("codec", status.codec());
        update.put("trainLoss", round.trainLoss().get(site));
        update.put("phases", round.phases() == null ? null : round.phases().get(site));
        updates.add(update);
      }
      for (RoundRecord.RefusedSite refused : round.refusedSites()) {
        Map<String, Object> update = new LinkedHashMap<>();
        update.put("round", round.round());
        update.put("site", refused.site());
        update.put("state", "refused");
        update.put("reason", refused.reason());
        update.put("message", refused.message());
        updates.add(update);
      }
    }
    return updates;
  }

  /** A job's checkpoints: the initial one (round 0), then each committed round's. */
  static List<Map<String, Object>> checkpoints(JobStatus status) {
    List<Map<String, Object>> checkpoints = new ArrayList<>();
    Map<String, Object> initial = new LinkedHashMap<>();
    initial.put("round", 0);
    initial.put("checkpoint", status.initialCheckpoint());
    initial.put("heldOutLoss", status.heldOutLoss().isEmpty() ? null : status.heldOutLoss().getFirst());
    checkpoints.add(initial);
    for (RoundRecord round : status.rounds()) {
      Map<String, Object> checkpoint = new LinkedHashMap<>();
      checkpoint.put("round", round.round());
      checkpoint.put("checkpoint", round.checkpoint());
      checkpoint.put("path", round.checkpointPath());
      checkpoint.put("heldOutLoss", round.heldOutLoss());
      checkpoints.add(checkpoint);
    }
    return checkpoints;
  }

  /** One committed round of a job, if it has it. */
  static Optional<RoundRecord> round(JobStatus status, long round) {
    return status.rounds().stream().filter(record -> record.round() == round).findFirst();
  }

  /** A site's row with its times as ISO 8601 text. */
  static Map<String, Object> site(SiteBoard.Row row) {
    Map<String, Object> site = new LinkedHashMap<>();
    site.put("site", row.site());
    site.put("state", row.state());
    site.put("device", row.device());
    site.put("activity", row.activity());
    site.put("phase", row.phase());
    site.put("progress", row.progress());
    site.put("trainSamples", row.trainSamples());
    site.put("lastHeard", text(row.lastHeard()));
    site.put("certificateExpires", text(row.certificateExpires()));
    site.put("lastRound", row.lastRound());
    site.put("lastUpdateBytes", row.lastUpdateBytes());
    site.put("lastUploadMBps", row.lastUploadMBps());
    return site;
  }

  /** The audit trail's state: intact, or where it first breaks. */
  static Map<String, Object> audit(AuditVerification verification) {
    Map<String, Object> audit = new LinkedHashMap<>();
    audit.put("ok", verification.ok());
    audit.put("entries", verification.entries());
    audit.put("problem", verification.problem() == null ? null : verification.problem().name());
    audit.put("line", verification.line() == 0 ? null : verification.line());
    audit.put("description", verification.describe());
    return audit;
  }

  private static String text(Instant instant) {
    return instant == null ? null : instant.toString();
  }
}
