package eu.hanse.launcher;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.UpdateCodec;
import java.time.Duration;
import picocli.CommandLine.Option;

/** The training job a coordinator runs: rounds, local work, aggregation, outer optimizer. */
final class JobOptions {
  @Option(names = "--job", defaultValue = "demo", paramLabel = "ID",
      description = "Job id: lower-case letters, digits, '-' (default: ${DEFAULT-VALUE}).")
  String job;

  @Option(names = "--rounds", defaultValue = "20", paramLabel = "R",
      description = "Rounds to run (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--local-steps", defaultValue = "100", paramLabel = "H",
      description = "AdamW steps each site runs per round (default: ${DEFAULT-VALUE}).")
  int localSteps;

  @Option(names = "--batch", defaultValue = "32", paramLabel = "N",
      description = "Characters predicted per local step (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--lr", defaultValue = "0.003", paramLabel = "LR",
      description = "Sites' AdamW learning rate (default: ${DEFAULT-VALUE}).")
  double learningRate;

  @Option(names = "--weight-decay", defaultValue = "0.0001", paramLabel = "WD",
      description = "Sites' AdamW weight decay, not applied to biases (default: ${DEFAULT-VALUE}).")
  double weightDecay;

  @Option(names = "--fedprox-mu", defaultValue = "0", paramLabel = "MU",
      description = "FedProx: add MU/2 times the squared distance to the round's global model to each site's local "
          + "loss, which keeps sites with different data from drifting apart; 0 is off (default: ${DEFAULT-VALUE}).")
  double fedproxMu;

  @Option(names = "--outer", paramLabel = "NAME",
      description = "Outer optimizer: nesterov (DiLoCo: lr 0.7, momentum 0.9), sgd (lr 1.0 is FedAvg), or FedOpt's "
          + "adam, yogi (lr 0.1, beta1 0.9) and adagrad (lr 0.1, beta1 0) (default: nesterov with --aggregator "
          + "mean, sgd with the robust aggregators, whose element-wise picks momentum would amplify).")
  String outer;

  @Option(names = "--outer-lr", paramLabel = "LR",
      description = "Outer learning rate (default: 0.7 for nesterov, 1.0 for sgd, 0.1 for adam, yogi, adagrad).")
  Double outerLearningRate;

  @Option(names = "--outer-momentum", paramLabel = "M",
      description = "Outer Nesterov momentum, or beta1 of adam, yogi, adagrad (default: 0.9; 0 for adagrad).")
  Double outerMomentum;

  @Option(names = "--aggregator", defaultValue = "mean", paramLabel = "NAME",
      description = "How a round combines updates: mean (sample-weighted, folded as updates arrive), median, "
          + "trimmed-mean[:K] (drop K at each end, 1 by default), krum[:F], multi-krum[:F[:M]] (F attackers "
          + "tolerated, the most the round allows by default) or norm-bounded-mean[:B] (B: the median norm by "
          + "default) (default: ${DEFAULT-VALUE}).")
  String aggregator;

  @Option(names = "--codec", defaultValue = "fp32", paramLabel = "NAME",
      description = "How sites encode updates: fp32, bf16, int8 or int4 (blocks of 64 with a scale each), or topk[:D] "
          + "(the largest D of each chunk, 1/32 by default); each site keeps what its codec drops and adds it to its "
          + "next update (default: ${DEFAULT-VALUE}).")
  String codec;

  @Option(names = "--clip", defaultValue = "0", paramLabel = "C",
      description = "Scale every update down to Euclidean norm C at most before aggregating; 0 is off "
          + "(default: ${DEFAULT-VALUE}).")
  double clip;

  @Option(names = "--dp-noise", defaultValue = "0", paramLabel = "Z",
      description = "Central differential privacy: add Gaussian noise of Z times the mean's sensitivity (the clip "
          + "norm times the largest weight share) to each round's aggregate, and report the privacy spent per "
          + "round; needs --clip and --aggregator mean; 0 is off (default: ${DEFAULT-VALUE}).")
  double dpNoise;

  @Option(names = "--dp-delta", defaultValue = "1e-5", paramLabel = "DELTA",
      description = "The delta at which the privacy spent (epsilon) is reported (default: ${DEFAULT-VALUE}).")
  double dpDelta;

  @Option(names = "--min-sites", defaultValue = "1", paramLabel = "N",
      description = "Sites that must be online before a round opens, and updates a round needs (default: ${DEFAULT-VALUE}).")
  int minSites;

  @Option(names = "--start-sites", paramLabel = "N",
      description = "Sites that must be online before the first round opens (default: --min-sites).")
  Integer startSites;

  @Option(names = "--round-deadline", defaultValue = "PT10M", paramLabel = "DURATION",
      description = "How long a round waits for updates, ISO-8601 (e.g. PT30S, PT2H) (default: ${DEFAULT-VALUE}).")
  Duration roundDeadline;

  @Option(names = "--seed", defaultValue = "42", paramLabel = "N",
      description = "Seed for the initial model and the sites' sampling (default: ${DEFAULT-VALUE}).")
  long seed;

  JobSpec spec() {
    return new JobSpec(new JobId(job), rounds, localSteps, minSites, startSites != null ? startSites : minSites,
        roundDeadline,
        new TrainerSettings(batch, learningRate, weightDecay, fedproxMu),
        OuterOptimizerSpec.parse(outerName(), outerLearningRate, outerMomentum), seed, JobSpec.DEFAULT_CHUNK_BYTES,
        AggregatorSpec.parse(aggregator), new PrivacySpec(clip, dpNoise, dpDelta), UpdateCodec.parse(codec));
  }

  private String outerName() {
    return outer != null ? outer : OuterOptimizerSpec.defaultName(AggregatorSpec.parse(aggregator));
  }
}
