package eu.hanse.agent;

import eu.hanse.model.UpdateCodec;
import java.time.Duration;

/**
 * A round's training as the coordinator asks for it: from checkpoint {@code base}, {@code localSteps}
 * steps (or {@code timeBudget}, when not null) with the job's trainer settings and sampling seed;
 * the update goes back encoded with {@code codec} in chunks of at most {@code maxChunkBytes}.
 */
record TrainWork(String job, long round, CheckpointAddress base, int localSteps, Duration timeBudget, long seed,
    int batchSize, double learningRate, double weightDecay, double proximalMu, String codec, int maxChunkBytes) {

  /** The job's codec; fp32 when the coordinator names none. */
  UpdateCodec updateCodec() {
    return UpdateCodec.parse(codec.isEmpty() ? "fp32" : codec);
  }
}
