package eu.hanse.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import eu.hanse.model.FlatArrays;
import eu.hanse.model.FlatView;
import eu.hanse.model.ModelState;
import eu.hanse.model.TensorSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OuterOptimizerTest {
  private static ModelState model(float... values) {
    return new ModelState(List.of(TensorSpec.of("a", 2), TensorSpec.of("b", values.length - 2)),
        List.of(java.util.Arrays.copyOfRange(values, 0, 2), java.util.Arrays.copyOfRange(values, 2, values.length)),
        Map.of());
  }

  /**
   * Steps a model in memory through {@link OuterStep}, as a commit steps a checkpoint file: in
   * blocks of two elements, so that blocks cross tensors; the state is kept flat between steps.
   */
  private static final class Stepper {
    final OuterOptimizer optimizer;
    float[] state;

    Stepper(OuterOptimizer optimizer) {
      this.optimizer = optimizer;
    }

    void step(ModelState global, float[] delta) {
      int states = optimizer.stateNames().size();
      float[] next = new float[(int) (states * global.elementCount())];
      OuterStep step = new OuterStep(optimizer, FlatArrays.of(global), state == null ? null : FlatArrays.of(state),
          FlatArrays.of(global), states == 0 ? null : FlatArrays.of(next));
      for (int offset = 0; offset < delta.length; offset += 2) {
        int count = Math.min(2, delta.length - offset);
        step.accept(offset, java.util.Arrays.copyOfRange(delta, offset, offset + count), count);
      }
      step.requireComplete();
      state = states == 0 ? null : next;
    }
  }

  /** Saving the state after a step and restoring it into a new optimizer changes nothing that follows. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(OuterOptimizerSpec.Kind.class)
  void aRestoredStateStepsOnAsTheOriginalWould(OuterOptimizerSpec.Kind kind) {
    OuterOptimizerSpec spec = OuterOptimizerSpec.parse(kind.name(), null, null);
    float[][] deltas = {{0.5f, -1f, 0.25f}, {0.1f, 0.3f, -0.7f}};
    ModelState straight = model(1, 2, 3);
    Stepper original = new Stepper(OuterOptimizer.create(spec));
    original.step(straight, deltas[0].clone());
    original.step(straight, deltas[1].clone());

    ModelState resumed = model(1, 2, 3);
    Stepper first = new Stepper(OuterOptimizer.create(spec));
    first.step(resumed, deltas[0].clone());
    float[] saved = first.state == null ? null : first.state.clone();
    Stepper second = new Stepper(OuterOptimizer.create(spec));
    second.state = saved;
    second.step(resumed, deltas[1].clone());
    for (int t = 0; t < 2; t++) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(straight.data(t), resumed.data(t), kind + " tensor " + t);
    }
    if (kind != OuterOptimizerSpec.Kind.SGD) {
      org.junit.jupiter.api.Assertions.assertNotNull(saved, kind + " has momentum to save");
    }
  }

  @Test
  void aStateOfAnotherOptimizerOrModelIsRefused() {
    OuterOptimizer nesterov = OuterOptimizer.create(OuterOptimizerSpec.diloco());
    assertThrows(IllegalArgumentException.class, () -> OptimizerState.require(nesterov, 3, List.of(TensorSpec.of("m", 3))));
    assertThrows(IllegalArgumentException.class,
        () -> OptimizerState.require(nesterov, 3, List.of(TensorSpec.of("velocity", 4))));
    assertThrows(IllegalArgumentException.class, () -> OptimizerState.require(
        OuterOptimizer.create(OuterOptimizerSpec.fedAvg()), 3, List.of(TensorSpec.of("velocity", 3))));
    OptimizerState.require(nesterov, 3, List.of(TensorSpec.of("velocity", 3)));
    OuterOptimizer adam = OuterOptimizer.create(OuterOptimizerSpec.parse("adam", null, null));
    long large = 3L * OptimizerState.PIECE + 5;
    assertEquals(List.of(TensorSpec.of("m.0", OptimizerState.PIECE), TensorSpec.of("m.1", OptimizerState.PIECE),
        TensorSpec.of("m.2", OptimizerState.PIECE), TensorSpec.of("m.3", 5)),
        OptimizerState.layout(adam, large).subList(0, 4), "a state larger than a tensor is split in pieces");
    assertEquals(8, OptimizerState.layout(adam, large).size());
  }

  @Test
  void sgdWithLearningRateOneIsFedAvg() {
    ModelState global = model(1, 2, 3);
    ModelState siteA = model(2, 2, 0);
    ModelState siteB = model(0, 6, 3);
    double wA = 3;
    double wB = 1;
    WeightedMeanFold fold = new WeightedMeanFold(3);
    for (var site : List.of(Map.entry(siteA, wA), Map.entry(siteB, wB))) {
      float[] delta = FlatView.difference(global, site.getKey());
      fold.foldValues(delta, delta.length, 0, site.getValue());
      fold.completeUpdate(site.getValue());
    }
    new Stepper(OuterOptimizer.create(OuterOptimizerSpec.fedAvg())).step(global, fold.mean());
    // FedAvg: the new global model is the weighted mean of the sites' models.
    assertEquals((3 * 2 + 0) / 4.0, global.data(0)[0], 1e-6);
    assertEquals((3 * 2 + 6) / 4.0, global.data(0)[1], 1e-6);
    assertEquals((3 * 0 + 3) / 4.0, global.data(1)[0], 1e-6);
  }

  @Test
  void nesterovFollowsItsUpdateRuleOverSeveralSteps() {
    double lr = 0.7;
    double mu = 0.9;
    ModelState global = model(1, -1, 0.5f);
    Stepper nesterov = new Stepper(OuterOptimizer.create(OuterOptimizerSpec.parse("nesterov", null, null)));
    double[] theta = {1, -1, 0.5};
    double[] velocity = new double[3];
    float[][] deltas = {{0.1f, -0.2f, 0.3f}, {0.05f, 0.0f, -0.1f}, {-0.2f, 0.1f, 0.1f}};
    for (float[] delta : deltas) {
      nesterov.step(global, delta.clone());
      for (int i = 0; i < 3; i++) {
        velocity[i] = mu * velocity[i] + delta[i];
        theta[i] -= lr * (delta[i] + mu * velocity[i]);
      }
    }
    assertEquals(theta[0], global.data(0)[0], 1e-5);
    assertEquals(theta[1], global.data(0)[1], 1e-5);
    assertEquals(theta[2], global.data(1)[0], 1e-5);
  }

  @Test
  void specParsingUsesEachKindsDefaultsAndRefusesUnknownNames() {
    assertEquals(new OuterOptimizerSpec(OuterOptimizerSpec.Kind.NESTEROV, 0.7, 0.9),
        OuterOptimizerSpec.parse("nesterov", null, null));
    assertEquals(new OuterOptimizerSpec(OuterOptimizerSpec.Kind.SGD, 0.5, 0.0),
        OuterOptimizerSpec.parse("SGD", 0.5, null));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OuterOptimizerSpec.parse("adamax", null, null));
    assertEquals("unknown outer optimizer 'adamax': use sgd, nesterov, adam, yogi or adagrad", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> OuterOptimizerSpec.parse("nesterov", -1.0, null));
  }

  @Test
  void aStepThatDoesNotCoverTheModelIsRefused() {
    ModelState global = model(1, 2, 3);
    OuterStep step = new OuterStep(OuterOptimizer.create(OuterOptimizerSpec.fedAvg()), FlatArrays.of(global), null,
        FlatArrays.of(global), null);
    step.accept(0, new float[] {1, 1}, 2);
    assertThrows(IllegalStateException.class, step::requireComplete);
    assertThrows(IllegalArgumentException.class, () -> step.accept(2, new float[] {1, 1}, 2));
    assertThrows(IllegalArgumentException.class, () -> new OuterStep(OuterOptimizer.create(OuterOptimizerSpec.diloco()),
        FlatArrays.of(global), FlatArrays.of(new float[2]), FlatArrays.of(global), FlatArrays.of(new float[3])));
  }

  /** FedOpt's rules in double, step by step, for each adaptive kind; the state carries over. */
  @Test
  void adamYogiAndAdagradFollowFedOptsRules() {
    for (String name : List.of("adam", "yogi", "adagrad")) {
      OuterOptimizerSpec spec = OuterOptimizerSpec.parse(name, null, null);
      Stepper optimizer = new Stepper(OuterOptimizer.create(spec));
      ModelState global = model(1, -1, 0.5f);
      double[] theta = {1, -1, 0.5};
      double[] m = new double[3];
      double tau = AdaptiveOuterOptimizer.TAU;
      double beta2 = AdaptiveOuterOptimizer.BETA2;
      double[] v = {tau * tau, tau * tau, tau * tau};
      float[][] deltas = {{0.2f, -0.1f, 0f}, {0.1f, 0.3f, -0.2f}, {-0.05f, 0.1f, 0.4f}};
      for (float[] delta : deltas) {
        optimizer.step(global, delta.clone());
        for (int i = 0; i < 3; i++) {
          double d = delta[i];
          m[i] = spec.momentum() * m[i] + (1 - spec.momentum()) * d;
          v[i] = switch (name) {
            case "adagrad" -> v[i] + d * d;
            case "yogi" -> v[i] - (1 - beta2) * d * d * Math.signum(v[i] - d * d);
            default -> beta2 * v[i] + (1 - beta2) * d * d;
          };
          theta[i] -= spec.learningRate() * m[i] / (Math.sqrt(v[i]) + tau);
        }
      }
      float[] flat = {global.data(0)[0], global.data(0)[1], global.data(1)[0]};
      for (int i = 0; i < 3; i++) {
        assertEquals(theta[i], flat[i], 1e-5, name + " element " + i);
      }
      assertEquals(name, spec.describe().substring(0, name.length()));
    }
  }
}
