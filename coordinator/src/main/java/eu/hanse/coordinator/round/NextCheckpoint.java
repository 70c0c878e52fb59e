package eu.hanse.coordinator.round;

import eu.hanse.aggregation.Aggregators;
import eu.hanse.aggregation.BlockSink;
import eu.hanse.aggregation.GaussianNoise;
import eu.hanse.aggregation.OptimizerState;
import eu.hanse.aggregation.OuterOptimizer;
import eu.hanse.aggregation.OuterStep;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.SafetensorsFile;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a job's next checkpoint from its last one and a round's updates: the aggregate (clipped
 * as the job says, with its noise) steps the model with the outer optimizer, block by block from
 * the last checkpoint's file and optimizer state to the next ones, so the model is never whole in
 * memory. One job's commits are one at a time.
 */
final class NextCheckpoint {
  /**
   * @param checkpoint the new checkpoint, not yet sealed
   * @param optimizerState the outer optimizer's new state's address; null for an optimizer without state
   * @param detail what the aggregation chose, dropped, scaled or clipped, for the round's record
   */
  record Written(CheckpointRef checkpoint, String optimizerState, String detail) {}

  private final JobSpec spec;
  private final OuterOptimizer outer;
  private final CheckpointStore checkpoints;
  private final CheckpointStore optimizerStates;
  private final long elementCount;
  /** Median and trimmed mean run on one CPU thread: a job's commit is one caller at a time. */
  private final Aggregators aggregators = new Aggregators(TensorBackend.cpu(1));
  private final GaussianNoise noise = new GaussianNoise(new SecureRandom());

  NextCheckpoint(JobSpec spec, CheckpointStore checkpoints, CheckpointStore optimizerStates, long elementCount) {
    this.spec = spec;
    this.outer = OuterOptimizer.create(spec.outer());
    this.checkpoints = checkpoints;
    this.optimizerStates = optimizerStates;
    this.elementCount = elementCount;
  }

  /**
   * Aggregates the round's accepted updates onto {@code base}, with Gaussian noise of {@code sigma}
   * when the job adds noise, and writes the next checkpoint and optimizer state. The round lets go
   * of its fold whatever happens.
   *
   * @param baseState the outer optimizer's state after the last step; null before the first
   */
  Written write(OpenRound round, CheckpointRef base, String baseState, double sigma) {
    try (SafetensorsFile model = SafetensorsFile.open(base.path());
        SafetensorsFile state = baseState == null ? null : SafetensorsFile.open(outerStateFile(baseState));
        CheckpointStore.Pending next = checkpoints.begin(model.specs(),
            withLineage(model.metadata(), spec.id(), round.number, base.sha256()));
        CheckpointStore.Pending nextState = outer.stateNames().isEmpty() ? null
            : optimizerStates.begin(OptimizerState.layout(outer, elementCount), Map.of())) {
      OuterStep step = new OuterStep(outer, model, state, next.writer(), nextState == null ? null : nextState.writer());
      BlockSink sink = spec.privacy().noisy() ? noise.before(step, sigma) : step;
      String detail;
      try {
        detail = round.aggregate(aggregators, sink) + clipped(round);
      } finally {
        round.release();
      }
      step.requireComplete();
      String stateSha = nextState == null ? null : nextState.finish(-1).sha256();
      return new Written(next.finish(round.number), stateSha, detail);
    }
  }

  /** Checks that a saved outer optimizer state is this job's optimizer's, for this model; returns its address. */
  String requireOuterState(String sha256) {
    try (SafetensorsFile state = SafetensorsFile.open(outerStateFile(sha256))) {
      OptimizerState.require(outer, elementCount, state.specs());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("job " + spec.id() + ": the saved outer optimizer state " + sha256
          + " does not fit: " + e.getMessage(), e);
    }
    return sha256;
  }

  private Path outerStateFile(String sha256) {
    return optimizerStates.find(sha256).orElseThrow(() -> new IllegalStateException("job " + spec.id()
        + ": outer optimizer state " + sha256 + " is missing from the coordinator's data directory"));
  }

  /** "; clipped to B: SITE (norm N)" for each update the clip scaled down, or nothing. */
  private String clipped(OpenRound round) {
    List<String> sites = round.accepted().values().stream()
        .filter(u -> u.scale() < 1)
        .map(u -> String.format(Locale.ROOT, "%s (norm %.3g)", u.site(), u.norm()))
        .toList();
    return sites.isEmpty() ? "" : "; clipped to " + spec.privacy().clipNorm() + ": " + String.join(", ", sites);
  }

  /** The metadata with the job, round and parent checkpoint (none for round 0) set. */
  static Map<String, String> withLineage(Map<String, String> metadata, JobId job, long round, String parent) {
    Map<String, String> lineage = new LinkedHashMap<>(metadata);
    lineage.put("hanse.job", job.value());
    lineage.put("hanse.round", Long.toString(round));
    if (parent != null) {
      lineage.put("hanse.parent", parent);
    } else {
      lineage.remove("hanse.parent");
    }
    return lineage;
  }
}
