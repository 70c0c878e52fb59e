package eu.hanse.aggregation;

import java.util.List;

/**
 * SGD with Nesterov momentum over the mean update, as DiLoCo's outer optimizer:
 * v ← μ·v + Δ; θ ← θ − lr·(Δ + μ·v). The velocity starts at zero and persists across rounds.
 */
final class NesterovOuterOptimizer implements OuterOptimizer {
  private final float learningRate;
  private final float momentum;

  NesterovOuterOptimizer(double learningRate, double momentum) {
    this.learningRate = (float) learningRate;
    this.momentum = (float) momentum;
  }

  @Override
  public List<String> stateNames() {
    return List.of("velocity");
  }

  @Override
  public void step(float[] theta, float[] delta, float[][] state, int length) {
    float[] velocity = state[0];
    for (int i = 0; i < length; i++) {
      float v = momentum * velocity[i] + delta[i];
      velocity[i] = v;
      theta[i] -= learningRate * (delta[i] + momentum * v);
    }
  }

  @Override
  public String describe() {
    return "nesterov(lr=" + learningRate + ", momentum=" + momentum + ")";
  }
}
