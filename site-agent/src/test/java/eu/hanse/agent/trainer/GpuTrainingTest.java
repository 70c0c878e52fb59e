package eu.hanse.agent.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import eu.hanse.agent.data.SiteData;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.data.Vocabulary;
import eu.hanse.kernels.GpuBackend;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ModelState;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The built-in trainer on the GPU learns what it learns on the CPU: the same seed, data and steps
 * reach the same training and held-out loss within {@link #TOLERANCE}. The two backends round
 * differently (another order of additions in matrix products and reductions, CUDA's tanhf), so
 * the runs drift apart by rounding only; a wrong kernel moves the loss by far more. Skipped, with
 * the reason, where there is no GPU.
 */
class GpuTrainingTest {
  /** Relative difference allowed between the CPU and the GPU loss after {@link #STEPS} steps. */
  static final double TOLERANCE = 1e-3;

  private static final int STEPS = 100;

  @BeforeEach
  void gpuPresent() {
    assumeTrue(GpuBackend.available(), () -> "skipped, no GPU here: " + GpuBackend.probe());
  }

  @Test
  void aShortGpuRunReachesTheCpuRunsLoss() {
    SiteData data = SyntheticLanguage.siteData("jupiter", 20_000);
    ModelState start = CharModel.initialize(CharModelConfig.DEFAULT, 1);
    Losses cpu;
    try (TensorBackend backend = TensorBackend.cpu(1)) {
      cpu = run(backend, data, start);
    }
    Losses gpu;
    try (TensorBackend backend = GpuBackend.open()) {
      gpu = run(backend, data, start);
    }
    assertTrue(cpu.heldOut() < Math.log(Vocabulary.SIZE), "the CPU run learned nothing: " + cpu);
    assertEquals(cpu.train(), gpu.train(), TOLERANCE * cpu.train(), "mean training loss, cpu vs gpu");
    assertEquals(cpu.heldOut(), gpu.heldOut(), TOLERANCE * cpu.heldOut(), "held-out loss, cpu vs gpu");
  }

  private record Losses(double train, double heldOut) {}

  private static Losses run(TensorBackend backend, SiteData data, ModelState start) {
    LocalTrainer trainer = new LocalTrainer(backend, data, LocalTrainer.DEFAULT_EVAL_POSITIONS);
    TrainResult result = trainer.train(start, STEPS, 32, 0.01, 0.01, 2);
    return new Losses(result.meanLoss(), trainer.evaluate(result.model()).loss());
  }
}
