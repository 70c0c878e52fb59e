package eu.hanse.aggregation;

import java.util.Arrays;
import java.util.Locale;

/**
 * FedOpt's adaptive server optimizers (Reddi et al., "Adaptive Federated Optimization"), over the
 * mean update Δ taken as a gradient, without bias correction as in the paper:
 *
 * <pre>
 *   m ← β1·m + (1 − β1)·Δ
 *   Adagrad: v ← v + Δ²
 *   Adam:    v ← β2·v + (1 − β2)·Δ²
 *   Yogi:    v ← v − (1 − β2)·Δ²·sign(v − Δ²)
 *   θ ← θ − lr·m / (√v + τ)
 * </pre>
 *
 * with v starting at τ². The state (m and v) is two floats per model element and persists across
 * rounds. Not thread-safe.
 */
final class AdaptiveOuterOptimizer implements OuterOptimizer {
  /** Second-moment decay, the paper's β2. */
  static final float BETA2 = 0.99f;
  /** Adaptivity τ: bounds the step where v is small. */
  static final float TAU = 1e-3f;

  private final OuterOptimizerSpec.Kind kind;
  private final float learningRate;
  private final float beta1;
  private float[] m;
  private float[] v;

  AdaptiveOuterOptimizer(OuterOptimizerSpec.Kind kind, double learningRate, double beta1) {
    this.kind = kind;
    this.learningRate = (float) learningRate;
    this.beta1 = (float) beta1;
  }

  @Override
  public void step(ModelState global, float[] meanDelta) {
    FlatView.requireLength(global, meanDelta);
    if (m == null) {
      m = new float[meanDelta.length];
      v = new float[meanDelta.length];
      Arrays.fill(v, TAU * TAU);
    }
    int offset = 0;
    for (int t = 0; t < global.tensorCount(); t++) {
      float[] theta = global.data(t);
      for (int i = 0; i < theta.length; i++) {
        int j = offset + i;
        float delta = meanDelta[j];
        float square = delta * delta;
        m[j] = beta1 * m[j] + (1 - beta1) * delta;
        v[j] = switch (kind) {
          case ADAGRAD -> v[j] + square;
          case YOGI -> v[j] - (1 - BETA2) * square * Math.signum(v[j] - square);
          default -> BETA2 * v[j] + (1 - BETA2) * square;
        };
        theta[i] -= learningRate * m[j] / ((float) Math.sqrt(v[j]) + TAU);
      }
      offset += theta.length;
    }
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "%s(lr=%s, beta1=%s, beta2=%s, tau=%s)",
        kind.name().toLowerCase(Locale.ROOT), learningRate, beta1, BETA2, TAU);
  }

  @Override
  public java.util.Map<String, float[]> state() {
    return m == null ? java.util.Map.of() : java.util.Map.of("m", m, "v", v);
  }

  @Override
  public void restore(java.util.Map<String, float[]> state, long elementCount) {
    OptimizerState.require(state, java.util.List.of("m", "v"), elementCount, describe());
    m = state.get("m");
    v = state.get("v");
  }
}
