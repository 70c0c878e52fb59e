package eu.hanse.aggregation;

import java.util.Locale;

/**
 * Which outer optimizer a job uses, with its settings.
 *
 * @param kind SGD (with learning rate 1.0 this is FedAvg) or Nesterov momentum (DiLoCo)
 * @param learningRate the outer learning rate, positive
 * @param momentum Nesterov's momentum in [0, 1); ignored by SGD
 */
public record OuterOptimizerSpec(Kind kind, double learningRate, double momentum) {
  public enum Kind { SGD, NESTEROV }

  public OuterOptimizerSpec {
    if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
      throw new IllegalArgumentException("outer learning rate must be positive, was " + learningRate);
    }
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("outer momentum must be in [0, 1), was " + momentum);
    }
  }

  /** FedAvg: SGD with learning rate 1, so the new model is the weighted mean of the sites' models. */
  public static OuterOptimizerSpec fedAvg() {
    return new OuterOptimizerSpec(Kind.SGD, 1.0, 0.0);
  }

  /** DiLoCo's outer optimizer: Nesterov momentum, learning rate 0.7, momentum 0.9. */
  public static OuterOptimizerSpec diloco() {
    return new OuterOptimizerSpec(Kind.NESTEROV, 0.7, 0.9);
  }

  /**
   * The spec for a name, "sgd" or "nesterov", with that kind's defaults where {@code learningRate}
   * or {@code momentum} is null.
   */
  public static OuterOptimizerSpec parse(String name, Double learningRate, Double momentum) {
    OuterOptimizerSpec defaults = switch (name.toLowerCase(Locale.ROOT)) {
      case "sgd", "fedavg" -> fedAvg();
      case "nesterov", "diloco" -> diloco();
      default -> throw new IllegalArgumentException(
          "unknown outer optimizer '" + name + "': use sgd or nesterov");
    };
    return new OuterOptimizerSpec(defaults.kind(),
        learningRate != null ? learningRate : defaults.learningRate(),
        momentum != null ? momentum : defaults.momentum());
  }

  public String describe() {
    return kind == Kind.SGD
        ? "sgd(lr=" + learningRate + ")"
        : "nesterov(lr=" + learningRate + ", momentum=" + momentum + ")";
  }
}
