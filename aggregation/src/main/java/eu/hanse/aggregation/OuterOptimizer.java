package eu.hanse.aggregation;

import java.util.List;

/**
 * The coordinator's optimizer over rounds: it treats the mean update (a pseudo-gradient,
 * θ_global − θ_site averaged over sites) as a gradient and steps the global model with it.
 *
 * <p>It works a block of elements at a time ({@link OuterStep} drives it over a whole model), so
 * neither the model nor its state need be in memory. Its state (momentum, moments) is kept per
 * element between rounds and saved with every checkpoint, so that a restarted coordinator steps on
 * exactly as it would have.
 */
public interface OuterOptimizer {
  /** The names of the per-element state arrays it keeps, in the order {@link #step} takes them; empty for none. */
  List<String> stateNames();

  /** The value every element of state array {@code state} has before the first step. */
  default float initialState(int state) {
    return 0f;
  }

  /**
   * Moves {@code theta[0, length)} one step against {@code delta[0, length)}, the mean update of
   * the same elements, updating {@code state[k][0, length)} in place.
   */
  void step(float[] theta, float[] delta, float[][] state, int length);

  /** A short description for logs, e.g. "nesterov(lr=0.7, momentum=0.9)". */
  String describe();

  /** The optimizer a spec names. */
  static OuterOptimizer create(OuterOptimizerSpec spec) {
    return switch (spec.kind()) {
      case SGD -> new SgdOuterOptimizer(spec.learningRate());
      case NESTEROV -> new NesterovOuterOptimizer(spec.learningRate(), spec.momentum());
      case ADAM, YOGI, ADAGRAD -> new AdaptiveOuterOptimizer(spec.kind(), spec.learningRate(), spec.momentum());
    };
  }
}
