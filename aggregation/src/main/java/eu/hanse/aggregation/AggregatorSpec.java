package eu.hanse.aggregation;

import java.util.Locale;

/**
 * How a round combines the accepted updates, as a job names it ({@code --aggregator}).
 *
 * <ul>
 *   <li>{@code mean}: the sample-weighted mean, folded as updates arrive;
 *   <li>{@code median}: the element-wise median;
 *   <li>{@code trimmed-mean[:K]}: per element, drop the K smallest and K largest values (1 by
 *       default) and average the rest;
 *   <li>{@code krum[:F]}: the one update closest to its N - F - 2 nearest others (Blanchard et al.),
 *       tolerating F attackers; F by default the most that N updates allow, {@code (N - 3) / 2};
 *   <li>{@code multi-krum[:F[:M]]}: the weighted mean of the M best-scored updates by Krum's score,
 *       M = N - F by default;
 *   <li>{@code norm-bounded-mean[:B]}: each update scaled down to Euclidean norm B at most, then
 *       the weighted mean; without B, the median of the updates' norms.
 * </ul>
 *
 * <p>Parameters that need more updates than a round has are lowered to what it has, and the round's
 * log line says so.
 *
 * @param kind the aggregator
 * @param trim for trimmed-mean: values dropped at each end, at least 1
 * @param byzantine for Krum: attackers tolerated, or -1 for the most the round allows
 * @param select for Multi-Krum: updates averaged, or -1 for N - F
 * @param normBound for norm-bounded-mean: the bound, or 0 for the median norm
 */
public record AggregatorSpec(Kind kind, int trim, int byzantine, int select, double normBound) {
  public enum Kind { MEAN, MEDIAN, TRIMMED_MEAN, KRUM, MULTI_KRUM, NORM_BOUNDED_MEAN }

  public AggregatorSpec {
    if (trim < 1) {
      throw new IllegalArgumentException("trimmed-mean must drop at least 1 value at each end, was " + trim);
    }
    if (byzantine < -1 || select < -1 || select == 0) {
      throw new IllegalArgumentException("Krum's attacker count must be >= 0 and Multi-Krum's selection >= 1");
    }
    if (!(normBound >= 0) || Double.isInfinite(normBound)) {
      throw new IllegalArgumentException("the norm bound must be positive and finite, was " + normBound);
    }
  }

  public static AggregatorSpec mean() {
    return new AggregatorSpec(Kind.MEAN, 1, -1, -1, 0);
  }

  /** Reads {@code NAME[:PARAM[:PARAM]]} as listed in the class description. */
  public static AggregatorSpec parse(String text) {
    String[] parts = text.trim().toLowerCase(Locale.ROOT).split(":", -1);
    try {
      AggregatorSpec spec = switch (parts[0]) {
        case "mean", "fedavg" -> params(parts, 0, mean());
        case "median" -> params(parts, 0, new AggregatorSpec(Kind.MEDIAN, 1, -1, -1, 0));
        case "trimmed-mean" -> params(parts, 1,
            new AggregatorSpec(Kind.TRIMMED_MEAN, parts.length > 1 ? Integer.parseInt(parts[1]) : 1, -1, -1, 0));
        case "krum" -> params(parts, 1, new AggregatorSpec(Kind.KRUM, 1, countOrAuto(parts, 1), -1, 0));
        case "multi-krum" -> params(parts, 2,
            new AggregatorSpec(Kind.MULTI_KRUM, 1, countOrAuto(parts, 1), countOrAuto(parts, 2), 0));
        case "norm-bounded-mean" -> params(parts, 1, new AggregatorSpec(Kind.NORM_BOUNDED_MEAN, 1, -1, -1,
            parts.length > 1 ? Double.parseDouble(parts[1]) : 0));
        default -> throw new IllegalArgumentException("unknown aggregator");
      };
      return spec;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("aggregator '" + text + "': " + e.getMessage()
          + "; use mean, median, trimmed-mean[:K], krum[:F], multi-krum[:F[:M]] or norm-bounded-mean[:B]", e);
    }
  }

  /** Parameter i as a count, or -1 when it is absent or "auto". */
  private static int countOrAuto(String[] parts, int i) {
    return parts.length <= i || parts[i].equals("auto") ? -1 : Integer.parseInt(parts[i]);
  }

  private static AggregatorSpec params(String[] parts, int allowed, AggregatorSpec spec) {
    if (parts.length - 1 > allowed) {
      throw new IllegalArgumentException(parts[0] + " takes " + (allowed == 0 ? "no parameter" : "at most " + allowed));
    }
    return spec;
  }

  /** Whether updates can be folded one at a time as they arrive. */
  public boolean streaming() {
    return kind == Kind.MEAN;
  }

  /** The spec as {@link #parse} reads it. */
  public String describe() {
    return switch (kind) {
      case MEAN -> "mean";
      case MEDIAN -> "median";
      case TRIMMED_MEAN -> "trimmed-mean:" + trim;
      case KRUM -> byzantine < 0 ? "krum" : "krum:" + byzantine;
      case MULTI_KRUM -> "multi-krum" + (byzantine < 0 && select < 0 ? ""
          : ":" + (byzantine < 0 ? "auto" : byzantine) + (select < 0 ? "" : ":" + select));
      case NORM_BOUNDED_MEAN -> normBound == 0 ? "norm-bounded-mean" : "norm-bounded-mean:" + normBound;
    };
  }
}
