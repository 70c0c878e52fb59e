package eu.hanse.aggregation;

import java.util.List;
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

  AdaptiveOuterOptimizer(OuterOptimizerSpec.Kind kind, double learningRate, double beta1) {
    this.kind = kind;
    this.learningRate = (float) learningRate;
    this.beta1 = (float) beta1;
  }

  @Override
  public List<String> stateNames() {
    return List.of("m", "v");
  }

  @Override
  public float initialState(int state) {
    return state == 1 ? TAU * TAU : 0f;
  }

  @Override
  public void step(float[] theta, float[] delta, float[][] state, int length) {
    float[] m = state[0];
    float[] v = state[1];
    for (int i = 0; i < length; i++) {
      float d = delta[i];
      float square = d * d;
      m[i] = beta1 * m[i] + (1 - beta1) * d;
      v[i] = switch (kind) {
        case ADAGRAD -> v[i] + square;
        case YOGI -> v[i] - (1 - BETA2) * square * Math.signum(v[i] - square);
        default -> BETA2 * v[i] + (1 - BETA2) * square;
      };
      theta[i] -= learningRate * m[i] / ((float) Math.sqrt(v[i]) + TAU);
    }
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "%s(lr=%s, beta1=%s, beta2=%s, tau=%s)",
        kind.name().toLowerCase(Locale.ROOT), learningRate, beta1, BETA2, TAU);
  }
}
