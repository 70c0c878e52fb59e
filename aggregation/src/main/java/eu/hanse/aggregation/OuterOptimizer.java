package eu.hanse.aggregation;

/**
 * The coordinator's optimizer over rounds: it treats the mean update (a pseudo-gradient,
 * θ_global − θ_site averaged over sites) as a gradient and steps the global model with it.
 *
 * <p>Implementations keep their own state (momentum), O(model size). Not thread-safe.
 */
public interface OuterOptimizer {
  /** Moves {@code global} one step against {@code meanDelta}, the flat mean update. */
  void step(ModelState global, float[] meanDelta);

  /**
   * The optimizer's state between rounds (momentum, moments) by name, each a flat array over the
   * model: saved with every checkpoint so that a restarted coordinator steps on exactly as it would
   * have. Empty for a stateless optimizer or before the first step. The arrays are the optimizer's own.
   */
  java.util.Map<String, float[]> state();

  /**
   * Takes back a state {@link #state()} gave, of a model of {@code elementCount} elements.
   *
   * @throws IllegalArgumentException if a name is not this optimizer's or an array has the wrong length
   */
  void restore(java.util.Map<String, float[]> state, long elementCount);

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
