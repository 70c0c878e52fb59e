package eu.hanse.aggregation;

import java.util.Locale;

/**
 * Which outer optimizer a job uses, with its settings.
 *
 * @param kind SGD (with learning rate 1.0 this is FedAvg), Nesterov momentum (DiLoCo), or FedOpt's
 *     Adam, Yogi and Adagrad
 * @param learningRate the outer learning rate, positive
 * @param momentum in [0, 1): Nesterov's momentum, or β1 of Adam, Yogi and Adagrad; ignored by SGD
 */
public record OuterOptimizerSpec(Kind kind, double learningRate, double momentum) {
  public enum Kind { SGD, NESTEROV, ADAM, YOGI, ADAGRAD }

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
   * The outer optimizer a job gets when it names none: DiLoCo's Nesterov for the weighted mean,
   * FedAvg's plain step for the robust aggregators. A robust aggregate is assembled from different
   * sites element by element (a median takes each element from whichever site is in the middle),
   * and momentum accumulates that patchwork instead of averaging it away: in the demo, the median
   * under Nesterov ends 7% worse than under FedAvg without an attack and 22% worse with a site
   * sending its update scaled by 100 (docs/benchmarks.md).
   */
  public static String defaultName(AggregatorSpec aggregator) {
    return aggregator.kind() == AggregatorSpec.Kind.MEAN ? "nesterov" : "sgd";
  }

  /**
   * The spec for a name (sgd, nesterov, adam, yogi, adagrad) with that kind's defaults where
   * {@code learningRate} or {@code momentum} is null: sgd lr 1 (FedAvg); nesterov lr 0.7, momentum
   * 0.9 (DiLoCo); adam and yogi lr 0.1, β1 0.9; adagrad lr 0.1, β1 0.
   */
  public static OuterOptimizerSpec parse(String name, Double learningRate, Double momentum) {
    OuterOptimizerSpec defaults = switch (name.toLowerCase(Locale.ROOT)) {
      case "sgd", "fedavg" -> fedAvg();
      case "nesterov", "diloco" -> diloco();
      case "adam" -> new OuterOptimizerSpec(Kind.ADAM, 0.1, 0.9);
      case "yogi" -> new OuterOptimizerSpec(Kind.YOGI, 0.1, 0.9);
      case "adagrad" -> new OuterOptimizerSpec(Kind.ADAGRAD, 0.1, 0.0);
      default -> throw new IllegalArgumentException(
          "unknown outer optimizer '" + name + "': use sgd, nesterov, adam, yogi or adagrad");
    };
    return new OuterOptimizerSpec(defaults.kind(),
        learningRate != null ? learningRate : defaults.learningRate(),
        momentum != null ? momentum : defaults.momentum());
  }

  public String describe() {
    return switch (kind) {
      case SGD -> "sgd(lr=" + learningRate + ")";
      case NESTEROV -> "nesterov(lr=" + learningRate + ", momentum=" + momentum + ")";
      default -> kind.name().toLowerCase(Locale.ROOT) + "(lr=" + learningRate + ", beta1=" + momentum + ")";
    };
  }
}
