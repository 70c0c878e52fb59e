package eu.hanse.aggregation;

/** θ ← θ − lr·Δ. With lr = 1 the new model is the weighted mean of the sites' models (FedAvg). */
final class SgdOuterOptimizer implements OuterOptimizer {
  private final float learningRate;

  SgdOuterOptimizer(double learningRate) {
    this.learningRate = (float) learningRate;
  }

  @Override
  public void step(ModelState global, float[] meanDelta) {
    FlatView.requireLength(global, meanDelta);
    int offset = 0;
    for (int t = 0; t < global.tensorCount(); t++) {
      float[] theta = global.data(t);
      for (int i = 0; i < theta.length; i++) {
        theta[i] -= learningRate * meanDelta[offset + i];
      }
      offset += theta.length;
    }
  }

  @Override
  public String describe() {
    return "sgd(lr=" + learningRate + ")";
  }

  @Override
  public java.util.Map<String, float[]> state() {
    return java.util.Map.of();
  }

  @Override
  public void restore(java.util.Map<String, float[]> state, long elementCount) {
    OptimizerState.require(state, java.util.List.of(), elementCount, describe());
  }
}
