package eu.hanse.aggregation;

import java.util.List;

/** θ ← θ − lr·Δ. With lr = 1 the new model is the weighted mean of the sites' models (FedAvg). */
final class SgdOuterOptimizer implements OuterOptimizer {
  private final float learningRate;

  SgdOuterOptimizer(double learningRate) {
    this.learningRate = (float) learningRate;
  }

  @Override
  public List<String> stateNames() {
    return List.of();
  }

  @Override
  public void step(float[] theta, float[] delta, float[][] state, int length) {
    for (int i = 0; i < length; i++) {
      theta[i] -= learningRate * delta[i];
    }
  }

  @Override
  public String describe() {
    return "sgd(lr=" + learningRate + ")";
  }
}
