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
