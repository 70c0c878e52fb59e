package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.StateStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a job has committed: its initial and latest checkpoints, each round's record and each
 * checkpoint's held-out loss, as the store had them when the job was loaded and as each commit adds
 * to them. Guarded by the job's lock, except {@link #committedRounds()}.
 */
final class JobHistory {
  private final CheckpointRef initial;
  private CheckpointRef latest;
  private final List<RoundRecord> records = new ArrayList<>();
  private final List<Double> heldOutLoss = new ArrayList<>();
  /** Rounds committed, as {@link #records} holds them, readable without the lock. */
  private volatile int committedRounds;
  private long bytesUploaded;
  private boolean initialEvaluated;

  /** The job's history as the store holds it: its {@code committed} checkpoints and its round {@code records}. */
  JobHistory(JobSpec spec, List<StateStore.StoredCheckpoint> committed, List<RoundRecord> records,
      CheckpointStore checkpoints) {
    if (committed.isEmpty()) {
      throw new IllegalStateException("job " + spec.id() + " has no initial checkpoint in the coordinator's state");
    }
    this.initial = reference(spec, checkpoints, committed.get(0));
    this.latest = reference(spec, checkpoints, committed.get(committed.size() - 1));
    committed.stream().map(StateStore.StoredCheckpoint::heldOutLoss).filter(Objects::nonNull)
        .forEach(heldOutLoss::add);
    this.initialEvaluated = committed.get(0).heldOutLoss() != null;
    for (RoundRecord record : records) {
      add(record);
    }
  }

  private static CheckpointRef reference(JobSpec spec, CheckpointStore checkpoints,
      StateStore.StoredCheckpoint stored) {
    Path file = checkpoints.find(stored.sha256()).orElseThrow(() -> new IllegalStateException("checkpoint "
        + stored.sha256() + " of job " + spec.id() + " round " + stored.round() + " is missing from the store"));
    return CheckpointRef.unsealed(stored.sha256(), stored.sizeBytes(), stored.round(), file)
        .sealed(spec.id().value(), stored.parent(), stored.updateIds(), stored.signature());
  }

  CheckpointRef initial() {
    return initial;
  }

  /** The checkpoint the next round starts from. */
  CheckpointRef latest() {
    return latest;
  }

  /** Round r's commit: {@code checkpoint} is the latest now. */
  void committed(RoundRecord record, CheckpointRef checkpoint) {
    latest = checkpoint;
    add(record);
  }

  private void add(RoundRecord record) {
    records.add(record);
    committedRounds = records.size();
    bytesUploaded += record.bytesUploaded().values().stream().mapToLong(Long::longValue).sum();
  }

  /** The last committed round's record, replaced by one with its evaluation. */
  void evaluated(RoundRecord record, Double loss) {
    records.set(records.size() - 1, record);
    if (loss != null) {
      heldOutLoss.add(loss);
    }
  }

  /** The initial checkpoint's held-out loss, if any site reported one. */
  void initialEvaluated(Double loss) {
    if (loss != null) {
      heldOutLoss.add(loss);
    }
    initialEvaluated = true;
  }

  boolean initialEvaluated() {
    return initialEvaluated;
  }

  /** Rounds committed so far; reads a volatile field, never waits for the lock. */
  int committedRounds() {
    return committedRounds;
  }

  List<RoundRecord> records() {
    return List.copyOf(records);
  }

  List<Double> heldOutLoss() {
    return List.copyOf(heldOutLoss);
  }

  long bytesUploaded() {
    return bytesUploaded;
  }
}
