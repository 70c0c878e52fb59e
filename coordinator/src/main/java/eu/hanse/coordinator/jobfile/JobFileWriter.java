package eu.hanse.coordinator.jobfile;

import eu.hanse.coordinator.job.JobSite;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.MaintenanceWindow;
import eu.hanse.coordinator.job.ModelShape;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.security.SiteId;

/**
 * Writes a job as a job file, every setting spelt out: how a job started from command-line options
 * is stored and shown, so that every job the coordinator runs has a file {@link JobFile} reads back
 * to the same job.
 */
public final class JobFileWriter {
  private JobFileWriter() {}

  /** The job's file; {@code model} null leaves the model section out (a model not of the built-in kind). */
  public static String write(JobSpec spec, ModelShape model) {
    StringBuilder y = new StringBuilder();
    y.append("job: ").append(spec.id()).append('\n');
    if (spec.schedule().start() != null) {
      y.append("start: ").append(spec.schedule().start()).append('\n');
    }
    y.append("rounds: ").append(spec.rounds()).append('\n');
    y.append("seed: ").append(spec.seed()).append('\n');
    if (model != null && model.kind() == ModelShape.Kind.SYNTHETIC) {
      y.append("model:\n  kind: synthetic\n  parameters: ").append(model.parameters()).append('\n');
    } else if (model != null) {
      y.append("model:\n  context: ").append(model.context()).append("\n  embed: ").append(model.embed())
          .append("\n  hidden: ").append(model.hidden()).append('\n');
    }
    y.append("trainer:\n  batch: ").append(spec.trainer().batchSize())
        .append("\n  lr: ").append(spec.trainer().learningRate())
        .append("\n  weight-decay: ").append(spec.trainer().weightDecay())
        .append("\n  fedprox-mu: ").append(spec.trainer().proximalMu()).append('\n');
    y.append("local-work:\n");
    if (spec.schedule().localTime() != null) {
      y.append("  time: ").append(spec.schedule().localTime()).append('\n');
    } else {
      y.append("  steps: ").append(spec.localSteps()).append('\n');
    }
    y.append("aggregation:\n  aggregator: ").append(spec.aggregator().describe())
        .append("\n  outer: ").append(spec.outer().kind().name().toLowerCase(java.util.Locale.ROOT))
        .append("\n  outer-lr: ").append(spec.outer().learningRate())
        .append("\n  outer-momentum: ").append(spec.outer().momentum())
        .append("\n  clip: ").append(spec.privacy().clipNorm())
        .append("\n  dp-noise: ").append(spec.privacy().noiseMultiplier())
        .append("\n  dp-delta: ").append(spec.privacy().delta()).append('\n');
    y.append("codec: ").append(spec.codec().describe()).append('\n');
    if (spec.maxChunkBytes() != JobSpec.DEFAULT_CHUNK_BYTES) {
      y.append("chunk-bytes: ").append(spec.maxChunkBytes()).append('\n');
    }
    if (!spec.schedule().sites().isEmpty()) {
      y.append("sites:\n");
      for (JobSite site : spec.schedule().sites()) {
        y.append("  ").append(site.site()).append(":\n    weight: ").append(site.weight()).append('\n');
        if (site.gpuHours() != null) {
          y.append("    gpu-hours: ").append(site.gpuHours()).append('\n');
        }
        if (!site.maintenance().isEmpty()) {
          y.append("    maintenance:\n");
          for (MaintenanceWindow window : site.maintenance()) {
            y.append("      - ").append(window.describe()).append('\n');
          }
        }
      }
    }
    y.append("quorum:\n  min-sites: ").append(spec.minSites()).append("\n  start-sites: ").append(spec.startSites())
        .append('\n');
    if (!spec.schedule().requiredSites().isEmpty()) {
      y.append("  required: [").append(String.join(", ", spec.schedule().requiredSites().stream()
          .map(SiteId::name).sorted().toList())).append("]\n");
    }
    y.append("round:\n  deadline: ").append(spec.roundDeadline()).append('\n');
    Stragglers stragglers = spec.stragglers();
    if (stragglers.policy() == Stragglers.Policy.QUORUM_PLUS_GRACE) {
      y.append("  stragglers: quorum-plus-grace\n  grace: ").append(stragglers.grace()).append('\n');
    } else {
      y.append("  stragglers: wait-for-all\n");
    }
    if (spec.schedule().async() != null) {
      y.append("  mode: async\n  buffer: ").append(spec.schedule().async().buffer())
          .append("\n  max-staleness: ").append(spec.schedule().async().maxStaleness()).append('\n');
    }
    return y.toString();
  }
}
