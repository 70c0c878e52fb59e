package eu.hanse.coordinator.round;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.aggregation.PrivacyAccountant;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.StateStore;
import eu.hanse.faults.FaultPoints;
import eu.hanse.model.ModelSource;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Commits a job's rounds: aggregates a closed round's updates and steps the outer optimizer
 * ({@link NextCheckpoint}), signs the new checkpoint with its lineage, and records the round, its
 * checkpoint and the optimizer state in one transaction of the {@link StateStore}; then, once the
 * checkpoint is evaluated, its held-out loss. Called by the job's thread holding the job's lock.
 */
final class RoundCommit {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final JobSpec spec;
  private final RoundPolicy policy;
  private final NextCheckpoint nextCheckpoint;
  private final PrivacyAccountant privacy;
  private final StateStore store;
  private final Consortium consortium;
  private final ProgressPrinter progress;
  /** The content address of the outer optimizer's state after the last step; null before the first. */
  private String outerState;

  /**
   * The commits of a job whose history holds {@code records}: the privacy they spent is spent again
   * in the accountant, and the next step goes on from {@code outerState}.
   */
  RoundCommit(JobSpec spec, RoundPolicy policy, NextCheckpoint nextCheckpoint, String outerState,
      List<RoundRecord> records, StateStore store, Consortium consortium, ProgressPrinter progress) {
    this.spec = spec;
    this.policy = policy;
    this.nextCheckpoint = nextCheckpoint;
    this.outerState = outerState == null ? null : nextCheckpoint.requireOuterState(outerState);
    this.privacy = new PrivacyAccountant(spec.privacy());
    this.store = store;
    this.consortium = consortium;
    this.progress = progress;
    for (RoundRecord record : records) {
      if (record.privacyEpsilon() != null) {
        privacy.spend();
      }
    }
  }

  /**
   * Adds a job to the store with its initial model as checkpoint 0, signed; false, changing
   * nothing, if the store has a job of that id already.
   */
  static boolean createJob(JobSpec spec, String definition, ModelSource initialModel, String submittedBy,
      StateStore store, CheckpointStore checkpoints, Consortium consortium) {
    if (!store.addJob(spec.id().value(), definition, submittedBy)) {
      return false;
    }
    CheckpointRef written = checkpoints.commit(
        initialModel.withMetadata(NextCheckpoint.withLineage(initialModel.metadata(), spec.id(), 0, null)), 0);
    byte[] signature = consortium.signCheckpoint(written.claims(spec.id().value(), "", List.of()));
    consortium.audit("job.submitted", Map.of("job", spec.id().value(), "by", submittedBy));
    auditCommit(consortium, spec.id(), written, "", List.of());
    store.addInitial(new StateStore.StoredCheckpoint(spec.id().value(), 0, written.sha256(), written.sizeBytes(), "",
        List.of(), signature, null, null));
    return true;
  }

  /**
   * Aggregates the round's updates (clipped as the job says), adds the job's noise, applies the
   * outer step and writes the new checkpoint and optimizer state, block by block, from the last
   * checkpoint's file to the next one's, so the model is never whole in memory; then signs it and
   * records the round. Returns the round's record, not yet evaluated.
   */
  RoundRecord commit(OpenRound round, JobHistory history) {
    FaultPoints.reach("aggregate", round.number);
    long started = System.nanoTime();
    double sigma = 0;
    if (spec.privacy().noisy()) {
      double total = round.accepted().values().stream().mapToDouble(OpenRound.AcceptedUpdate::weight).sum();
      double largest = round.accepted().values().stream().mapToDouble(OpenRound.AcceptedUpdate::weight).max()
          .orElseThrow();
      sigma = spec.privacy().sigma(largest, total);
    }
    List<String> updateIds = round.accepted().values().stream().map(OpenRound.AcceptedUpdate::updateId).toList();
    String note = policy.aggregationNote(round);
    NextCheckpoint.Written next = nextCheckpoint.write(round, history.latest(), outerState, sigma);
    String detail = next.detail() + note;
    Double epsilon = null;
    if (spec.privacy().noisy()) {
      epsilon = privacy.spend();
      detail += String.format(Locale.ROOT, "; gaussian noise sigma %.3g, privacy spent epsilon %.3f at delta %s",
          sigma, epsilon, spec.privacy().delta());
    }
    round.summarise(detail, epsilon);
    if (!spec.aggregator().streaming() || spec.privacy().clips() || !note.isEmpty()) {
      progress.line("round " + round.number + ": " + detail);
    }
    outerState = next.optimizerState();
    CheckpointRef sealed = seal(next.checkpoint(), history.latest(), updateIds);
    FaultPoints.reach("checkpoint", round.number);
    RoundRecord record = record(round, sealed, (System.nanoTime() - started) / 1e9);
    // One transaction: after a crash the round is either committed with its updates applied, or
    // still open with its updates accepted.
    store.commitRound(new StateStore.StoredCheckpoint(spec.id().value(), round.number, sealed.sha256(),
        sealed.sizeBytes(), sealed.parentSha256(), updateIds, sealed.signature(), outerState, null), record);
    history.committed(record, sealed);
    return record;
  }

  /**
   * The last committed round's checkpoint was evaluated: its record gains the held-out loss (if
   * any site reported one) and the evaluation's time, is stored, and is announced.
   */
  RoundRecord evaluated(RoundRecord committed, OptionalDouble loss, double evaluationSeconds, JobHistory history) {
    Double heldOut = loss.isPresent() ? loss.getAsDouble() : null;
    RoundRecord record = committed.withEvaluation(heldOut, evaluationSeconds);
    history.evaluated(record, heldOut);
    consortium.announce("round.committed", roundCommitted(record));
    if (heldOut != null) {
      store.setHeldOutLoss(spec.id().value(), record.round(), heldOut, record);
    }
    return record;
  }

  /** The initial checkpoint was evaluated. */
  void initialEvaluated(OptionalDouble loss, JobHistory history) {
    Double heldOut = loss.isPresent() ? loss.getAsDouble() : null;
    history.initialEvaluated(heldOut);
    if (heldOut != null) {
      store.setHeldOutLoss(spec.id().value(), 0, heldOut, null);
    }
  }

  /** Signs a written checkpoint's claims (job, round, hash, parent, updates) and audits the commit. */
  private CheckpointRef seal(CheckpointRef written, CheckpointRef parentCheckpoint, List<String> updateIds) {
    String parent = parentCheckpoint == null ? "" : parentCheckpoint.sha256();
    byte[] signature = consortium.signCheckpoint(written.claims(spec.id().value(), parent, updateIds));
    auditCommit(consortium, spec.id(), written, parent, updateIds);
    return written.sealed(spec.id().value(), parent, updateIds, signature);
  }

  private static void auditCommit(Consortium consortium, JobId job, CheckpointRef written, String parent,
      List<String> updateIds) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", job.value());
    fields.put("round", Long.toString(written.round()));
    fields.put("checkpoint", written.sha256());
    fields.put("parent", parent);
    fields.put("updates", String.join(",", updateIds));
    consortium.audit("checkpoint.committed", fields);
  }

  private static RoundRecord record(OpenRound round, CheckpointRef committed, double commitSeconds) {
    Map<String, Double> trainLoss = new LinkedHashMap<>();
    Map<String, Long> bytes = new LinkedHashMap<>();
    Map<String, SitePhases> phases = new LinkedHashMap<>();
    round.accepted().values().stream()
        .sorted(Comparator.comparing(u -> u.site().name()))
        .forEach(u -> {
          trainLoss.put(u.site().name(), u.trainLoss());
          bytes.put(u.site().name(), u.bytes());
          if (u.phases() != null) {
            phases.put(u.site().name(), u.phases());
          }
        });
    List<RoundRecord.RefusedSite> refused = round.refused().values().stream()
        .map(r -> new RoundRecord.RefusedSite(r.site().name(), r.reason().name(), r.message()))
        .toList();
    return new RoundRecord(round.number, "COMMITTED", List.copyOf(trainLoss.keySet()), refused,
        committed.sha256(), committed.path().toString(), trainLoss, bytes, null,
        (System.nanoTime() - round.startNanos) / 1e9, round.aggregationDetail(), round.privacyEpsilon(), phases,
        commitSeconds);
  }

  /** The fields of a "round.committed" event: the round's record, as the status JSON has it. */
  private Map<String, Object> roundCommitted(RoundRecord record) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.putAll(JSON.convertValue(record, new TypeReference<Map<String, Object>>() {}));
    return fields;
  }
}
