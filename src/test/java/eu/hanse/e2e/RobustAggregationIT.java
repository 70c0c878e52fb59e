package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.Attack;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacyAccountant;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.model.UpdateCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One site of three sends a malicious update every round, signed with its own valid key. With the
 * weighted mean the attack wrecks the model; with a robust aggregator the model's loss on the
 * honest sites' held-out text stays within 10% of the same job without the attack. (The
 * attacker's own text is left out of the measure: its data never reaches the model.)
 *
 * <p>Every federation here is real: coordinator and agents over mutual TLS on 127.0.0.1. The jobs
 * use FedAvg's outer step (SGD, lr 1), as the robust-aggregation literature does.
 */
class RobustAggregationIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo", "marenostrum");
  private static final String ATTACKER = "marenostrum";
  private static final List<String> HONEST = List.of("jupiter", "leonardo");
  private static final CharModelConfig MODEL = new CharModelConfig(97, 6, 16, 64);
  private static final int ROUNDS = 8;

  @TempDir Path dir;

  @Test
  void theMeanIsWreckedByAScaledUpdate() throws Exception {
    double clean = honestLoss("mean-clean", AggregatorSpec.mean(), null);
    double attacked = honestLoss("mean-attacked", AggregatorSpec.mean(), Attack.parse("scale:100"));
    System.out.printf(java.util.Locale.ROOT, "mean against scale:100: honest held-out loss %.4f clean, %.4f attacked%n",
        clean, attacked);
    assertTrue(attacked > 1.5 * clean, "the attack should hurt the mean: " + clean + " -> " + attacked);
  }

  @Test
  void theMedianHoldsAgainstAScaledUpdate() throws Exception {
    assertHolds(AggregatorSpec.parse("median"), Attack.parse("scale:100"));
  }

  @Test
  void theTrimmedMeanHoldsAgainstRandomUpdates() throws Exception {
    assertHolds(AggregatorSpec.parse("trimmed-mean"), Attack.parse("random"));
  }

  @Test
  void krumHoldsAgainstASignFlip() throws Exception {
    assertHolds(AggregatorSpec.parse("krum"), Attack.parse("sign-flip"));
  }

  @Test
  void multiKrumHoldsAgainstASignFlip() throws Exception {
    assertHolds(AggregatorSpec.parse("multi-krum:0:2"), Attack.parse("sign-flip"));
  }

  @Test
  void theNormBoundedMeanHoldsAgainstAScaledUpdate() throws Exception {
    assertHolds(AggregatorSpec.parse("norm-bounded-mean"), Attack.parse("scale:100"));
  }

  @Test
  void clippedNoisyRoundsReportThePrivacySpentEachRound() throws Exception {
    JobSpec spec = job(AggregatorSpec.mean(), new PrivacySpec(0.05, 1.0, 1e-5), 3);
    JobStatus status = run("private", spec, Map.of());
    assertEquals("clip 0.05, gaussian noise z=1.0", status.filters());
    double previous = 0;
    for (var round : status.rounds()) {
      assertTrue(round.aggregation().contains("clipped to 0.05"), round.aggregation());
      assertTrue(round.aggregation().contains("gaussian noise sigma"), round.aggregation());
      assertTrue(round.privacyEpsilon() > previous, "epsilon grows every round: " + status.rounds());
      previous = round.privacyEpsilon();
    }
    PrivacyAccountant expected = new PrivacyAccountant(spec.privacy());
    expected.spend();
    expected.spend();
    assertEquals(expected.spend(), previous, 1e-9, "epsilon after three rounds");
  }

  private void assertHolds(AggregatorSpec aggregator, Attack attack) throws Exception {
    double clean = honestLoss("clean", aggregator, null);
    double attacked = honestLoss("attacked", aggregator, attack);
    System.out.printf(java.util.Locale.ROOT, "%s against %s: honest held-out loss %.4f clean, %.4f attacked (%+.1f%%)%n",
        aggregator.describe(), attack.describe(), clean, attacked, 100 * (attacked / clean - 1));
    assertTrue(attacked <= 1.10 * clean, aggregator.describe() + " against " + attack.describe()
        + ": honest held-out loss " + clean + " without the attack, " + attacked + " with it");
  }

  /** Runs a federation and returns its final model's loss on the honest sites' held-out text. */
  private double honestLoss(String name, AggregatorSpec aggregator, Attack attack) throws Exception {
    JobStatus status = run(name + "-" + aggregator.kind(), job(aggregator, PrivacySpec.none(), ROUNDS),
        attack == null ? Map.of() : Map.of(ATTACKER, attack));
    assertEquals(aggregator.describe(), status.aggregator());
    status.rounds().forEach(round -> assertEquals(SITES, round.acceptedSites(),
        "a robust aggregator refuses no one: the attacker's updates are well-formed and signed"));
    status.rounds().forEach(round -> System.out.println("  " + name + " round " + round.round() + ": "
        + round.aggregation()));
    return honestLoss(Safetensors.read(Path.of(status.finalCheckpoint())));
  }

  private static JobSpec job(AggregatorSpec aggregator, PrivacySpec privacy, int rounds) {
    return new JobSpec(new JobId("robust"), rounds, 40, 3, 3, Duration.ofMinutes(2),
        new TrainerSettings(32, 0.01, 0.0), OuterOptimizerSpec.fedAvg(), 5, JobSpec.DEFAULT_CHUNK_BYTES,
        aggregator, privacy, UpdateCodec.fp32());
  }

  private JobStatus run(String name, JobSpec spec, Map<String, Attack> attacks) throws Exception {
    return TestFederation.runJob(dir.resolve(name), spec, CharModel.initialize(MODEL, 5), SITES, attacks);
  }

  private static double honestLoss(ModelState model) {
    double weighted = 0;
    long samples = 0;
    try (TensorBackend backend = TensorBackend.cpu(1)) {
      for (String site : HONEST) {
        HeldOutLoss loss = new LocalTrainer(backend,
            SyntheticLanguage.siteData(site, TestFederation.SYNTHETIC_CHARACTERS), 2048).evaluate(model);
        weighted += loss.loss() * loss.samples();
        samples += loss.samples();
      }
    }
    return weighted / samples;
  }
}
