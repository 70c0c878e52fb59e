package eu.hanse.agent.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.data.SiteData;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.data.Vocabulary;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.FlatView;
import eu.hanse.model.ModelState;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LocalTrainerTest {
  private static final int STEPS = 150;
  private static final int BATCH = 32;
  private static final double LR = 0.01;
  private static final double WEIGHT_DECAY = 0.01;
  /** A smaller model for the tests that only compare runs, not how well they learn. */
  private static final CharModelConfig SMALL = new CharModelConfig(Vocabulary.SIZE, 4, 8, 32);

  private static TensorBackend backend;
  private static SiteData jupiter;
  private static SiteData leonardo;

  @BeforeAll
  static void setUp() {
    backend = TensorBackend.cpu(2);
    jupiter = SyntheticLanguage.siteData("jupiter", 20_000);
    leonardo = SyntheticLanguage.siteData("leonardo", 20_000);
  }

  @AfterAll
  static void closeBackend() {
    backend.close();
  }

  private static LocalTrainer trainer(SiteData data) {
    return new LocalTrainer(backend, data, LocalTrainer.DEFAULT_EVAL_POSITIONS);
  }

  @Test
  void trainingLowersTheHeldOutLossAndTheModelPrefersItsOwnSitesText() {
    LocalTrainer trainer = trainer(jupiter);
    ModelState start = CharModel.initialize(CharModelConfig.DEFAULT, 1);
    HeldOutLoss before = trainer.evaluate(start);
    TrainResult result = trainer.train(start, STEPS, BATCH, LR, WEIGHT_DECAY, 2);
    HeldOutLoss after = trainer.evaluate(result.model());

    assertEquals(STEPS, result.steps());
    assertTrue(Double.isFinite(result.meanLoss()), "mean training loss " + result.meanLoss());
    assertEquals(jupiter.heldOut().length - CharModelConfig.DEFAULT.context(), after.samples());
    assertTrue(after.loss() < before.loss() - 0.5,
        "held-out loss went from " + before.loss() + " to " + after.loss());
    assertTrue(after.loss() < Math.log(Vocabulary.SIZE),
        "held-out loss " + after.loss() + " is no better than guessing uniformly");

    // Non-IID: what jupiter's model learned fits jupiter's language better than leonardo's.
    HeldOutLoss elsewhere = trainer.evaluate(result.model(), leonardo.heldOut());
    assertTrue(elsewhere.loss() > after.loss() + 0.5,
        "jupiter's model: " + after.loss() + " on jupiter, " + elsewhere.loss() + " on leonardo");
  }

  @Test
  void trainDoesNotModifyItsInput() {
    ModelState start = CharModel.initialize(SMALL, 3);
    ModelState pristine = start.copy();
    TrainResult result = trainer(jupiter).train(start, 5, BATCH, LR, WEIGHT_DECAY, 4);
    for (int t = 0; t < start.tensorCount(); t++) {
      assertArrayEquals(pristine.data(t), start.data(t), start.specs().get(t).name());
      assertFalse(Arrays.equals(start.data(t), result.model().data(t)),
          start.specs().get(t).name() + " was trained");
    }
  }

  @Test
  void sameSeedGivesBitIdenticalResultsAndOtherSeedsDiffer() {
    ModelState start = CharModel.initialize(SMALL, 5);
    // Fresh trainers: a trainer keeps its optimizer state from round to round.
    TrainResult a = trainer(jupiter).train(start, 20, BATCH, LR, WEIGHT_DECAY, 6);
    TrainResult b = trainer(jupiter).train(start, 20, BATCH, LR, WEIGHT_DECAY, 6);
    TrainResult c = trainer(jupiter).train(start, 20, BATCH, LR, WEIGHT_DECAY, 7);
    assertEquals(a.meanLoss(), b.meanLoss(), 0.0);
    for (int t = 0; t < start.tensorCount(); t++) {
      assertArrayEquals(a.model().data(t), b.model().data(t), start.specs().get(t).name());
    }
    assertFalse(Arrays.equals(a.model().data(CharModel.HIDDEN_WEIGHT), c.model().data(CharModel.HIDDEN_WEIGHT)));
    assertTrue(a.meanLoss() != c.meanLoss(), "seeds 6 and 7 drew the same batches");
  }

  /** FedProx's term pulls towards the start: the stronger mu, the closer the trained model stays. */
  @Test
  void theProximalTermKeepsTheModelNearItsStart() {
    ModelState start = CharModel.initialize(SMALL, 11);
    TrainResult plain = trainer(jupiter).train(start, 30, BATCH, LR, WEIGHT_DECAY, 12);
    TrainResult zero = trainer(jupiter).train(start, 30, BATCH, LR, WEIGHT_DECAY, 12, 0);
    TrainResult prox = trainer(jupiter).train(start, 30, BATCH, LR, WEIGHT_DECAY, 12, 10);
    assertEquals(0.0, distance(plain.model(), zero.model()), "mu 0 is plain training");
    double plainDistance = distance(start, plain.model());
    double proxDistance = distance(start, prox.model());
    assertTrue(proxDistance < 0.8 * plainDistance,
        "distance from the start: " + plainDistance + " without the term, " + proxDistance + " with mu 10");
  }

  /** With a time budget the steps run until it is spent, whatever the step count says. */
  @Test
  void aTimeBudgetRunsStepsUntilItIsSpent() {
    ModelState start = CharModel.initialize(SMALL, 11);
    TrainResult result = trainer(jupiter).train(start, 1, BATCH, LR, WEIGHT_DECAY, 12, 0,
        java.time.Duration.ofMillis(300));
    assertTrue(result.steps() > 1, "only " + result.steps() + " steps in 300 ms; the step count is not the limit");
    assertTrue(result.seconds() >= 0.3, "stopped after " + result.seconds() + " s, before the budget was spent");
    assertTrue(Double.isFinite(result.meanLoss()));
    TrainResult tiny = trainer(jupiter).train(start, 50, BATCH, LR, WEIGHT_DECAY, 12, 0, java.time.Duration.ofNanos(1));
    assertEquals(1, tiny.steps(), "a spent budget still runs one step");
  }

  private static double distance(ModelState a, ModelState b) {
    float[] difference = FlatView.difference(a, b);
    double sum = 0;
    for (float d : difference) {
      sum += (double) d * d;
    }
    return Math.sqrt(sum);
  }

  @Test
  void optimizerStateCarriesOverToTheNextRound() {
    ModelState start = CharModel.initialize(SMALL, 8);
    LocalTrainer kept = trainer(jupiter);
    kept.train(start, 10, BATCH, LR, WEIGHT_DECAY, 9);
    TrainResult secondRound = kept.train(start, 10, BATCH, LR, WEIGHT_DECAY, 10);
    TrainResult fresh = trainer(jupiter).train(start, 10, BATCH, LR, WEIGHT_DECAY, 10);
    assertFalse(Arrays.equals(secondRound.model().data(CharModel.HIDDEN_WEIGHT),
        fresh.model().data(CharModel.HIDDEN_WEIGHT)), "the second round reuses the AdamW moments");
  }

  @Test
  void evaluateIsDeterministic() {
    ModelState params = CharModel.initialize(SMALL, 11);
    LocalTrainer trainer = trainer(jupiter);
    HeldOutLoss first = trainer.evaluate(params);
    HeldOutLoss second = trainer.evaluate(params);
    HeldOutLoss otherTrainer = trainer(jupiter).evaluate(params);
    assertEquals(first, second);
    assertEquals(first, otherTrainer);
    assertTrue(first.loss() > 0 && Double.isFinite(first.loss()), "loss " + first.loss());
  }

  @Test
  void evaluateCapsThePositionsItScores() {
    LocalTrainer capped = new LocalTrainer(backend, jupiter, 300);
    HeldOutLoss loss = capped.evaluate(CharModel.initialize(SMALL, 12));
    assertEquals(300, loss.samples());
    assertThrows(IllegalArgumentException.class, () -> new LocalTrainer(backend, jupiter, 0));
  }

  @Test
  void textShorterThanTheContextIsRefused() {
    LocalTrainer trainer = trainer(jupiter);
    ModelState params = CharModel.initialize(SMALL, 13);
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
        () -> trainer.evaluate(params, new int[SMALL.context()]));
    assertTrue(refused.getMessage().contains("shorter than the model's context"), refused.getMessage());

    SiteData tiny = new SiteData("tiny", new int[] {2, 3, 4}, new int[] {5, 6});
    IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
        () -> trainer(tiny).train(params, 1, BATCH, LR, WEIGHT_DECAY, 1));
    assertTrue(tooShort.getMessage().contains("tiny"), tooShort.getMessage());
  }
}
