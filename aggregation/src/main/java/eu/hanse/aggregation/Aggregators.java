package eu.hanse.aggregation;

import eu.hanse.kernels.TensorBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The aggregators of {@link AggregatorSpec} over spooled updates, each reading the updates block
 * by block ({@link SpoolBlocks}): memory is the result plus N blocks, never N models. Element-wise
 * median and trimmed mean run on the given backend.
 */
public final class Aggregators {
  private final TensorBackend backend;

  public Aggregators(TensorBackend backend) {
    this.backend = backend;
  }

  /** Combines at least one update of {@code elementCount} elements as the spec says, into memory. */
  public Aggregation aggregate(AggregatorSpec spec, List<SpooledUpdate> updates, long elementCount) {
    if (elementCount < 0 || elementCount > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("cannot aggregate " + elementCount + " elements in one array");
    }
    float[] delta = new float[(int) elementCount];
    String detail = aggregate(spec, updates, elementCount,
        (offset, values, length) -> System.arraycopy(values, 0, delta, (int) offset, length));
    return new Aggregation(delta, detail);
  }

  /**
   * Combines at least one update of {@code elementCount} elements as the spec says, handing the
   * aggregate to {@code out} block by block in element order; returns one line on what was chosen,
   * dropped or scaled.
   */
  public String aggregate(AggregatorSpec spec, List<SpooledUpdate> updates, long elementCount, BlockSink out) {
    if (updates.isEmpty()) {
      throw new IllegalArgumentException("no update to aggregate");
    }
    int n = updates.size();
    return switch (spec.kind()) {
      case MEAN -> {
        weightedMean(updates, elementCount, out);
        yield "weighted mean of " + n;
      }
      case MEDIAN -> {
        elementWise(updates, elementCount, -1, out);
        yield "element-wise median of " + n;
      }
      case TRIMMED_MEAN -> {
        int trim = Math.min(spec.trim(), (n - 1) / 2);
        elementWise(updates, elementCount, trim, out);
        yield "trimmed mean of " + n + ", dropping " + trim + " at each end"
            + (trim < spec.trim() ? " (" + spec.trim() + " asked, too few updates)" : "");
      }
      case KRUM, MULTI_KRUM -> krum(spec, updates, elementCount, out);
      case NORM_BOUNDED_MEAN -> normBounded(spec, updates, elementCount, out);
    };
  }

  /** The Euclidean norm of each update, as read (scale applied). */
  public static double[] norms(List<SpooledUpdate> updates, long elementCount) {
    double[] squares = new double[updates.size()];
    try (SpoolBlocks blocks = new SpoolBlocks(updates, elementCount)) {
      while (blocks.next()) {
        for (int u = 0; u < squares.length; u++) {
          float[] values = blocks.values()[u];
          for (int i = 0; i < blocks.length(); i++) {
            squares[u] += (double) values[i] * values[i];
          }
        }
      }
    }
    return Arrays.stream(squares).map(Math::sqrt).toArray();
  }

  /**
   * The weighted mean, summed per element in double over the updates, one update's block at a time
   * (a sequential pass over each block rather than a stride across N of them).
   */
  static void weightedMean(List<SpooledUpdate> updates, long elementCount, BlockSink out) {
    weightedMean(updates, updates.stream().mapToDouble(SpooledUpdate::weight).sum(), elementCount, out);
  }

  /**
   * The sum of the updates, each times its weight, divided by {@code divisor} rather than by the
   * sum of their weights: what folding them one at a time into a {@link WeightedMeanFold} gives,
   * where an update's weight in the sum may be discounted (for staleness) and its weight in the
   * divisor not. Reads each spooled update once, a block at a time, and writes nothing but the
   * result: how a model too large for the heap is averaged.
   */
  public static void weightedMean(List<SpooledUpdate> updates, double divisor, long elementCount, BlockSink out) {
    if (!(divisor > 0) || Double.isInfinite(divisor)) {
      throw new IllegalArgumentException("the divisor must be positive and finite, was " + divisor);
    }
    double[] weights = updates.stream().mapToDouble(u -> u.weight() / divisor).toArray();
    try (SpoolBlocks blocks = new SpoolBlocks(updates, elementCount)) {
      double[] sum = new double[blocks.values()[0].length];
      float[] mean = new float[sum.length];
      while (blocks.next()) {
        int length = blocks.length();
        Arrays.fill(sum, 0, length, 0.0);
        for (int u = 0; u < weights.length; u++) {
          float[] values = blocks.values()[u];
          double w = weights[u];
          for (int i = 0; i < length; i++) {
            sum[i] += w * values[i];
          }
        }
        for (int i = 0; i < length; i++) {
          mean[i] = (float) sum[i];
        }
        out.accept(blocks.offset(), mean, length);
      }
    }
  }

  /** Median (trim < 0) or trimmed mean, element by element, on the backend. */
  private void elementWise(List<SpooledUpdate> updates, long elementCount, int trim, BlockSink out) {
    int n = updates.size();
    try (SpoolBlocks blocks = new SpoolBlocks(updates, elementCount)) {
      float[] block = new float[blocks.values()[0].length];
      while (blocks.next()) {
        if (trim < 0) {
          backend.median(blocks.values(), n, blocks.length(), block);
        } else {
          backend.trimmedMean(blocks.values(), n, blocks.length(), trim, block);
        }
        out.accept(blocks.offset(), block, blocks.length());
      }
    }
  }

  /**
   * Krum's score of each update is the sum of its squared distances to its N - F - 2 nearest
   * others (at least one); Krum keeps the best-scored update, Multi-Krum the weighted mean of the
   * M best. Ties go to the update received first.
   */
  private String krum(AggregatorSpec spec, List<SpooledUpdate> updates, long elementCount, BlockSink out) {
    int n = updates.size();
    int most = Math.max(0, (n - 3) / 2);
    int f = spec.byzantine() < 0 ? most : Math.min(spec.byzantine(), most);
    int neighbours = Math.max(1, n - f - 2);
    double[][] distance = squaredDistances(updates, elementCount);
    double[] score = new double[n];
    for (int i = 0; i < n; i++) {
      double[] others = new double[n - 1];
      for (int j = 0, k = 0; j < n; j++) {
        if (j != i) {
          others[k++] = distance[i][j];
        }
      }
      Arrays.sort(others);
      for (int k = 0; k < Math.min(neighbours, others.length); k++) {
        score[i] += others[k];
      }
    }
    int keep = spec.kind() == AggregatorSpec.Kind.KRUM ? 1
        : Math.min(n, spec.select() < 0 ? n - f : spec.select());
    List<Integer> order = new ArrayList<>(IntStream.range(0, n).boxed().toList());
    order.sort(Comparator.comparingDouble((Integer i) -> score[i]).thenComparingInt(i -> i));
    List<SpooledUpdate> chosen = order.subList(0, keep).stream().sorted().map(updates::get).toList();
    String names = String.join(", ", chosen.stream().map(SpooledUpdate::site).toList());
    String detail = (keep == 1 ? "krum chose " : "multi-krum averaged ") + names + " of " + n
        + " (tolerating " + f + (f < spec.byzantine() ? ", " + spec.byzantine() + " asked, too few updates" : "")
        + ")";
    weightedMean(chosen, elementCount, out);
    return detail;
  }

  private static double[][] squaredDistances(List<SpooledUpdate> updates, long elementCount) {
    int n = updates.size();
    double[][] distance = new double[n][n];
    try (SpoolBlocks blocks = new SpoolBlocks(updates, elementCount)) {
      while (blocks.next()) {
        float[][] values = blocks.values();
        for (int i = 0; i < n; i++) {
          for (int j = i + 1; j < n; j++) {
            double sum = 0;
            for (int e = 0; e < blocks.length(); e++) {
              double d = (double) values[i][e] - values[j][e];
              sum += d * d;
            }
            distance[i][j] += sum;
            distance[j][i] += sum;
          }
        }
      }
    }
    return distance;
  }

  /** Scales each update down to the bound (the median norm unless given), then the weighted mean. */
  private static String normBounded(AggregatorSpec spec, List<SpooledUpdate> updates, long elementCount,
      BlockSink out) {
    double[] norms = norms(updates, elementCount);
    double bound = spec.normBound() > 0 ? spec.normBound() : median(norms);
    List<SpooledUpdate> bounded = new ArrayList<>();
    List<String> scaled = new ArrayList<>();
    for (int u = 0; u < norms.length; u++) {
      double factor = norms[u] > bound ? bound / norms[u] : 1.0;
      bounded.add(updates.get(u).scaled(factor));
      if (factor < 1) {
        scaled.add(String.format(Locale.ROOT, "%s by %.3g", updates.get(u).site(), factor));
      }
    }
    String detail = String.format(Locale.ROOT, "norm-bounded mean of %d, bound %.4g%s", norms.length, bound,
        scaled.isEmpty() ? "" : ", scaled " + String.join(", ", scaled));
    weightedMean(bounded, elementCount, out);
    return detail;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }
}
