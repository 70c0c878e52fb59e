package eu.hanse.launcher;

import eu.hanse.agent.trainer.CharModelConfig;
import picocli.CommandLine.Option;

/** The built-in character model's size. */
final class ModelOptions {
  @Option(names = "--context", defaultValue = "8", paramLabel = "N",
      description = "Characters the model sees before the one it predicts (default: ${DEFAULT-VALUE}).")
  int context;

  @Option(names = "--embed", defaultValue = "32", paramLabel = "N",
      description = "Width of each character's embedding (default: ${DEFAULT-VALUE}).")
  int embed;

  @Option(names = "--hidden", defaultValue = "256", paramLabel = "N",
      description = "Width of the hidden layer (default: ${DEFAULT-VALUE}). "
          + "About 100K parameters by default; --context 24 --embed 512 --hidden 8192 gives about 100M.")
  int hidden;

  CharModelConfig config() {
    return CharModels.config(shape());
  }

  eu.hanse.coordinator.job.ModelShape shape() {
    return new eu.hanse.coordinator.job.ModelShape(context, embed, hidden);
  }
}
