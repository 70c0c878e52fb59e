package eu.hanse.aggregation;

/**
 * SGD with Nesterov momentum over the mean update, as DiLoCo's outer optimizer:
 * v ← μ·v + Δ; θ ← θ − lr·(Δ + μ·v). The velocity starts at zero and persists across rounds.
 */
final class NesterovOuterOptimizer implements OuterOptimizer {
  private final float learningRate;
  private final float momentum;
  private float[] velocity;

  NesterovOuterOptimizer(double learningRate, double momentum) {
    this.learningRate = (float) learningRate;
    this.momentum = (float) momentum;
  }

  @Override
  public void step(ModelState global, float[] meanDelta) {
    FlatView.requireLength(global, meanDelta);
    if (velocity == null) {
      velocity = new float[meanDelta.length];
    }
    int offset = 0;
    for (int t = 0; t < global.tensorCount(); t++) {
      float[] theta = global.data(t);
      for (int i = 0; i < theta.length; i++) {
        int j = offset + i;
        float v = momentum * velocity[j] + meanDelta[j];
        velocity[j] = v;
        theta[i] -= learningRate * (meanDelta[j] + momentum * v);
      }
      offset += theta.length;
    }
  }

  @Override
  public String describe() {
    return "nesterov(lr=" + learningRate + ", momentum=" + momentum + ")";
  }

  @Override
  public java.util.Map<String, float[]> state() {
    return velocity == null ? java.util.Map.of() : java.util.Map.of("velocity", velocity);
  }

  @Override
  public void restore(java.util.Map<String, float[]> state, long elementCount) {
    OptimizerState.require(state, java.util.List.of("velocity"), elementCount, describe());
    velocity = state.get("velocity");
  }
}
