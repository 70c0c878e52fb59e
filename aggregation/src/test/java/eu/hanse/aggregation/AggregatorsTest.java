package eu.hanse.aggregation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.kernels.TensorBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each aggregator over real spool files, against the same computation done directly in memory. */
class AggregatorsTest {
  /** More than one read block, and not a multiple of it. */
  private static final int N = SpooledUpdate.FP32_CHUNK + 1234;

  private static TensorBackend backend;
  private static Aggregators aggregators;

  @TempDir Path dir;

  @BeforeAll
  static void open() {
    backend = TensorBackend.cpu(1);
    aggregators = new Aggregators(backend);
  }

  @AfterAll
  static void close() {
    backend.close();
  }

  private SpooledUpdate spool(String site, float[] values, double weight) throws IOException {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values);
    Path file = dir.resolve(site + ".f32");
    Files.write(file, bytes.array());
    return new SpooledUpdate(site, file, weight);
  }

  private static float[] gaussian(Random random, double center, double spread) {
    float[] values = new float[N];
    for (int i = 0; i < N; i++) {
      values[i] = (float) (center + spread * random.nextGaussian());
    }
    return values;
  }

  @Test
  void meanIsTheSampleWeightedMean() throws Exception {
    Random random = new Random(1);
    float[] a = gaussian(random, 0, 1);
    float[] b = gaussian(random, 1, 1);
    Aggregation result = aggregators.aggregate(AggregatorSpec.mean(),
        List.of(spool("a", a, 1), spool("b", b, 3)), N);
    for (int i = 0; i < N; i += 997) {
      assertEquals((a[i] + 3.0 * b[i]) / 4, result.delta()[i], 1e-6, "element " + i);
    }
    assertEquals("weighted mean of 2", result.detail());
  }

  /**
   * A model too large to fold in the heap is averaged from the spool at the commit: with the same
   * divisor (the updates' undiscounted weights) it is what folding them one at a time gives.
   */
  @Test
  void theMeanFromTheSpoolIsTheFoldInMemory() throws Exception {
    Random random = new Random(4);
    float[] a = gaussian(random, 0, 1);
    float[] b = gaussian(random, 1, 1);
    // b was trained two rounds behind: its weight in the sum is discounted, in the divisor not.
    double discounted = 3 * 0.5;
    WeightedMeanFold fold = new WeightedMeanFold(N);
    fold.foldValues(a, N, 0, 1);
    fold.completeUpdate(1);
    fold.foldValues(b, N, 0, discounted);
    fold.completeUpdate(3);
    float[] fromSpool = new float[N];
    int[] blocks = {0};
    Aggregators.weightedMean(List.of(spool("a", a, 1), spool("b", b, discounted)), 4, N, (offset, values, length) -> {
      System.arraycopy(values, 0, fromSpool, (int) offset, length);
      blocks[0]++;
    });
    float[] folded = fold.mean();
    for (int i = 0; i < N; i++) {
      assertEquals(folded[i], fromSpool[i], 1e-6, "element " + i);
      assertEquals((a[i] + discounted * b[i]) / 4, fromSpool[i], 1e-6, "element " + i);
    }
    assertEquals(2, blocks[0], "a block at a time");
    assertThrows(IllegalArgumentException.class, () -> Aggregators.weightedMean(List.of(spool("a", a, 1)), 0, N,
        (offset, values, length) -> { }));
  }

  @Test
  void medianAndTrimmedMeanIgnoreOneWildUpdateElementByElement() throws Exception {
    Random random = new Random(2);
    List<float[]> honest = List.of(gaussian(random, 0, 1), gaussian(random, 0, 1), gaussian(random, 0, 1),
        gaussian(random, 0, 1));
    float[] wild = gaussian(random, 1e6, 1);
    List<SpooledUpdate> updates = new ArrayList<>();
    for (int u = 0; u < honest.size(); u++) {
      updates.add(spool("h" + u, honest.get(u), 1));
    }
    updates.add(spool("wild", wild, 1));
    float[] median = aggregators.aggregate(AggregatorSpec.parse("median"), updates, N).delta();
    float[] trimmed = aggregators.aggregate(AggregatorSpec.parse("trimmed-mean:1"), updates, N).delta();
    for (int i = 0; i < N; i += 101) {
      float[] column = {honest.get(0)[i], honest.get(1)[i], honest.get(2)[i], honest.get(3)[i], wild[i]};
      Arrays.sort(column);
      assertEquals(column[2], median[i], "median at " + i);
      assertEquals((column[1] + column[2] + (double) column[3]) / 3, trimmed[i], 1e-6, "trimmed mean at " + i);
    }
  }

  @Test
  void trimmedMeanLowersItsTrimToWhatTheRoundHasAndSaysSo() throws Exception {
    Random random = new Random(3);
    Aggregation result = aggregators.aggregate(AggregatorSpec.parse("trimmed-mean:3"),
        List.of(spool("a", gaussian(random, 0, 1), 1), spool("b", gaussian(random, 0, 1), 1),
            spool("c", gaussian(random, 0, 1), 1)), N);
    assertEquals("trimmed mean of 3, dropping 1 at each end (3 asked, too few updates)", result.detail());
  }

  @Test
  void krumPicksAnUpdateFromTheHonestClusterAndMultiKrumAveragesIt() throws Exception {
    Random random = new Random(4);
    float[] center = gaussian(random, 0, 1);
    List<SpooledUpdate> updates = new ArrayList<>();
    List<float[]> honest = new ArrayList<>();
    for (int u = 0; u < 4; u++) {
      float[] near = center.clone();
      for (int i = 0; i < N; i++) {
        near[i] += (float) (0.01 * random.nextGaussian());
      }
      honest.add(near);
      updates.add(spool("h" + u, near, 1));
    }
    float[] flipped = center.clone();
    for (int i = 0; i < N; i++) {
      flipped[i] = -flipped[i];
    }
    updates.add(1, spool("attacker", flipped, 100));

    Aggregation krum = aggregators.aggregate(AggregatorSpec.parse("krum:1"), updates, N);
    assertTrue(krum.detail().startsWith("krum chose h"), krum.detail());
    String chosen = krum.detail().substring("krum chose ".length(), "krum chose ".length() + 2);
    assertArrayEquals(honest.get(Integer.parseInt(chosen.substring(1))), krum.delta());

    Aggregation multi = aggregators.aggregate(AggregatorSpec.parse("multi-krum:1:4"), updates, N);
    assertEquals("multi-krum averaged h0, h1, h2, h3 of 5 (tolerating 1)", multi.detail());
    for (int i = 0; i < N; i += 997) {
      double mean = (honest.get(0)[i] + honest.get(1)[i] + honest.get(2)[i] + (double) honest.get(3)[i]) / 4;
      assertEquals(mean, multi.delta()[i], 1e-6);
    }
  }

  @Test
  void normBoundedMeanScalesLargeUpdatesToTheMedianNorm() throws Exception {
    float[] small = new float[N];
    float[] medium = new float[N];
    float[] huge = new float[N];
    small[0] = 1;
    medium[1] = 2;
    huge[2] = 200;
    Aggregation result = aggregators.aggregate(AggregatorSpec.parse("norm-bounded-mean"),
        List.of(spool("small", small, 1), spool("medium", medium, 1), spool("huge", huge, 1)), N);
    assertEquals(1 / 3f, result.delta()[0], 1e-7);
    assertEquals(2 / 3f, result.delta()[1], 1e-7);
    assertEquals(2 / 3f, result.delta()[2], 1e-6, "huge was scaled to norm 2");
    assertEquals("norm-bounded mean of 3, bound 2.000, scaled huge by 0.0100", result.detail());

    Aggregation fixed = aggregators.aggregate(AggregatorSpec.parse("norm-bounded-mean:0.5"),
        List.of(spool("small", small, 1)), N);
    assertEquals(0.5f, fixed.delta()[0], 1e-7);
  }

  @Test
  void norms() throws Exception {
    float[] values = new float[N];
    values[0] = 3;
    values[N - 1] = 4;
    SpooledUpdate update = spool("u", values, 1);
    assertArrayEquals(new double[] {5, 2.5}, Aggregators.norms(List.of(update, update.scaled(0.5)), N), 1e-12);
  }

  @Test
  void aSpoolFileOfTheWrongSizeIsRefused() throws Exception {
    SpooledUpdate update = spool("short", new float[N - 1], 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> aggregators.aggregate(AggregatorSpec.parse("median"), List.of(update), N));
    assertTrue(e.getMessage().contains("spooled update of short holds"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> aggregators.aggregate(AggregatorSpec.mean(), List.of(), N));
  }

  @Test
  void specsParseAndDescribeThemselves() {
    for (String name : List.of("mean", "median", "trimmed-mean:2", "krum", "krum:1", "multi-krum", "multi-krum:1:3",
        "norm-bounded-mean", "norm-bounded-mean:2.5")) {
      assertEquals(name, AggregatorSpec.parse(name).describe());
    }
    assertEquals("multi-krum:auto:2", AggregatorSpec.parse("multi-krum:auto:2").describe());
    for (String bad : List.of("avg", "median:1", "trimmed-mean:0", "krum:x", "norm-bounded-mean:-1", "krum:1:2")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AggregatorSpec.parse(bad));
      assertTrue(e.getMessage().startsWith("aggregator '" + bad + "'"), e.getMessage());
    }
  }
}
