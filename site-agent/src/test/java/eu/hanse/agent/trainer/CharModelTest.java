package eu.hanse.agent.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ModelState;
import eu.hanse.model.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CharModelTest {
  private static final CharModelConfig TINY = new CharModelConfig(11, 3, 4, 5);
  private static final int BATCH = 4;
  /** Checked indices per tensor at most; the tiny model's tensors are all smaller, so all are checked. */
  private static final int MAX_CHECKED = 64;

  private static TensorBackend backend;

  @BeforeAll
  static void startBackend() {
    backend = TensorBackend.cpu(1);
  }

  @AfterAll
  static void closeBackend() {
    backend.close();
  }

  @Test
  void gradientMatchesFiniteDifferences() {
    Random random = new Random(42);
    int[] text = new int[40];
    for (int i = 0; i < text.length; i++) {
      text[i] = random.nextInt(TINY.vocab());
    }
    // Overlapping windows, so that embedding rows receive gradient from several places.
    int[] positions = {3, 4, 17, 39};
    ModelState params = CharModel.initialize(TINY, 5);
    // Non-zero biases, so their effect on the gradient is exercised too.
    for (String bias : List.of(CharModel.HIDDEN_BIAS, CharModel.OUTPUT_BIAS)) {
      float[] values = params.data(bias);
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) (random.nextGaussian() * 0.3);
      }
    }
    CharModel model = new CharModel(TINY, backend, BATCH);
    ModelState grads = ModelState.zerosLike(params);
    model.forwardBackward(params, text, positions, BATCH, grads);

    float eps = 1e-2f;
    int checked = 0;
    for (int t = 0; t < params.tensorCount(); t++) {
      float[] values = params.data(t);
      String name = params.specs().get(t).name();
      for (int i : sampleIndices(values.length, random)) {
        float original = values[i];
        values[i] = original + eps;
        float up = values[i];
        double lossUp = model.forwardBackward(params, text, positions, BATCH, null) / BATCH;
        values[i] = original - eps;
        float down = values[i];
        double lossDown = model.forwardBackward(params, text, positions, BATCH, null) / BATCH;
        values[i] = original;
        double numeric = (lossUp - lossDown) / ((double) up - down);
        double analytic = grads.data(t)[i];
        assertEquals(numeric, analytic, 2e-3 + 5e-2 * Math.abs(numeric),
            name + "[" + i + "]: analytic " + analytic + " vs numeric " + numeric);
        checked++;
      }
    }
    assertEquals(TINY.parameterCount(), checked, "the tiny model's every parameter is checked");
    // The check means something only if the gradient is not zero nearly everywhere.
    double norm = 0;
    for (int t = 0; t < grads.tensorCount(); t++) {
      norm += backend.l2Norm(grads.data(t), grads.data(t).length);
    }
    assertTrue(norm > 0.1, "gradient norm " + norm);
  }

  private static int[] sampleIndices(int length, Random random) {
    if (length <= MAX_CHECKED) {
      return java.util.stream.IntStream.range(0, length).toArray();
    }
    return random.ints(0, length).distinct().limit(MAX_CHECKED).toArray();
  }

  @Test
  void forwardBackwardReturnsTheSummedLossAndAddsIntoGrads() {
    int[] text = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1};
    int[] positions = {3, 7, 11, 5};
    ModelState params = CharModel.initialize(TINY, 9);
    CharModel model = new CharModel(TINY, backend, BATCH);
    double sum = 0;
    for (int position : positions) {
      sum += model.forwardBackward(params, text, new int[] {position}, 1, null);
    }
    ModelState once = ModelState.zerosLike(params);
    double loss = model.forwardBackward(params, text, positions, BATCH, once);
    assertEquals(sum, loss, 1e-5, "the batch loss is the sum of the rows' losses");
    assertEquals(loss, model.forwardBackward(params, text, positions, BATCH, null), 0.0,
        "computing the gradient does not change the loss");

    ModelState twice = ModelState.zerosLike(params);
    model.forwardBackward(params, text, positions, BATCH, twice);
    model.forwardBackward(params, text, positions, BATCH, twice);
    for (int t = 0; t < params.tensorCount(); t++) {
      for (int i = 0; i < once.data(t).length; i++) {
        assertEquals(2 * once.data(t)[i], twice.data(t)[i], 1e-6, params.specs().get(t).name() + "[" + i + "]");
      }
    }
  }

  @Test
  void forwardBackwardRefusesRowsOutsideTheBatch() {
    CharModel model = new CharModel(TINY, backend, BATCH);
    ModelState params = CharModel.initialize(TINY, 1);
    int[] text = new int[20];
    int[] positions = {5, 6, 7, 8, 9};
    IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
        () -> model.forwardBackward(params, text, positions, BATCH + 1, null));
    assertTrue(tooMany.getMessage().contains("rows"), tooMany.getMessage());
    assertThrows(IllegalArgumentException.class, () -> model.forwardBackward(params, text, positions, 0, null));
    assertThrows(IllegalArgumentException.class, () -> new CharModel(TINY, backend, 0));
  }

  @Test
  void initializeIsDeterministicPerSeedAndDiffersAcrossSeeds() {
    ModelState a = CharModel.initialize(TINY, 17);
    ModelState b = CharModel.initialize(TINY, 17);
    ModelState c = CharModel.initialize(TINY, 18);
    assertEquals(a.specs(), b.specs());
    assertEquals(a.metadata(), b.metadata());
    for (int t = 0; t < a.tensorCount(); t++) {
      assertArrayEquals(a.data(t), b.data(t), a.specs().get(t).name());
    }
    for (String weight : List.of(CharModel.EMBEDDING, CharModel.HIDDEN_WEIGHT, CharModel.OUTPUT_WEIGHT)) {
      assertFalse(Arrays.equals(a.data(weight), c.data(weight)), weight + " differs across seeds");
    }
    for (String bias : List.of(CharModel.HIDDEN_BIAS, CharModel.OUTPUT_BIAS)) {
      assertArrayEquals(new float[a.data(bias).length], a.data(bias), bias + " starts at zero");
    }
    assertEquals(CharModel.MODEL_NAME, a.metadata().get("hanse.model"));
  }

  @Test
  void configOfRoundTripsTheConfig() {
    for (CharModelConfig config : List.of(TINY, CharModelConfig.DEFAULT, new CharModelConfig(2, 1, 1, 1),
        new CharModelConfig(97, 12, 7, 33))) {
      assertEquals(config, CharModel.configOf(CharModel.initialize(config, 1)));
    }
  }

  @Test
  void configOfRefusesOtherTensorNames() {
    List<TensorSpec> specs = new ArrayList<>(CharModel.specs(TINY));
    specs.set(2, TensorSpec.of("hidden.offset", TINY.hidden()));
    IllegalArgumentException renamed = assertThrows(IllegalArgumentException.class,
        () -> CharModel.configOf(stateOf(specs)));
    assertTrue(renamed.getMessage().contains("hidden.offset"), renamed.getMessage());

    List<TensorSpec> reordered = new ArrayList<>(CharModel.specs(TINY));
    reordered.add(0, reordered.remove(4));
    IllegalArgumentException wrongOrder = assertThrows(IllegalArgumentException.class,
        () -> CharModel.configOf(stateOf(reordered)));
    assertTrue(wrongOrder.getMessage().contains("not a " + CharModel.MODEL_NAME), wrongOrder.getMessage());

    List<TensorSpec> missing = new ArrayList<>(CharModel.specs(TINY));
    missing.remove(4);
    assertThrows(IllegalArgumentException.class, () -> CharModel.configOf(stateOf(missing)));
  }

  @Test
  void configOfRefusesShapesThatDoNotFit() {
    List<TensorSpec> bias = new ArrayList<>(CharModel.specs(TINY));
    bias.set(2, TensorSpec.of(CharModel.HIDDEN_BIAS, TINY.hidden() + 1));
    IllegalArgumentException wrongBias = assertThrows(IllegalArgumentException.class,
        () -> CharModel.configOf(stateOf(bias)));
    assertTrue(wrongBias.getMessage().contains("do not fit"), wrongBias.getMessage());
    assertTrue(wrongBias.getMessage().contains(CharModel.HIDDEN_BIAS), wrongBias.getMessage());

    List<TensorSpec> rows = new ArrayList<>(CharModel.specs(TINY));
    rows.set(1, TensorSpec.of(CharModel.HIDDEN_WEIGHT, 7, TINY.hidden()));
    IllegalArgumentException notMultiple = assertThrows(IllegalArgumentException.class,
        () -> CharModel.configOf(stateOf(rows)));
    assertTrue(notMultiple.getMessage().contains("hidden.weight has 7 rows"), notMultiple.getMessage());

    List<TensorSpec> output = new ArrayList<>(CharModel.specs(TINY));
    output.set(3, TensorSpec.of(CharModel.OUTPUT_WEIGHT, TINY.hidden(), TINY.vocab() + 1));
    assertThrows(IllegalArgumentException.class, () -> CharModel.configOf(stateOf(output)));

    // Tensors of the wrong rank are refused the same way, not with an index error.
    List<TensorSpec> flatEmbedding = new ArrayList<>(CharModel.specs(TINY));
    flatEmbedding.set(0, TensorSpec.of(CharModel.EMBEDDING, TINY.vocab() * TINY.embed()));
    IllegalArgumentException flat = assertThrows(IllegalArgumentException.class,
        () -> CharModel.configOf(stateOf(flatEmbedding)));
    assertTrue(flat.getMessage().contains(CharModel.EMBEDDING), flat.getMessage());

    List<TensorSpec> flatHidden = new ArrayList<>(CharModel.specs(TINY));
    flatHidden.set(1, TensorSpec.of(CharModel.HIDDEN_WEIGHT, TINY.context() * TINY.embed() * TINY.hidden()));
    assertThrows(IllegalArgumentException.class, () -> CharModel.configOf(stateOf(flatHidden)));

    List<TensorSpec> extraDimension = new ArrayList<>(CharModel.specs(TINY));
    extraDimension.set(0, TensorSpec.of(CharModel.EMBEDDING, TINY.vocab(), TINY.embed(), 1));
    assertThrows(IllegalArgumentException.class, () -> CharModel.configOf(stateOf(extraDimension)));
  }

  private static ModelState stateOf(List<TensorSpec> specs) {
    List<float[]> data = new ArrayList<>();
    for (TensorSpec spec : specs) {
      data.add(new float[spec.elementCount()]);
    }
    return new ModelState(specs, data, Map.of());
  }

  @Test
  void configRefusesBadSizes() {
    assertRefused(() -> new CharModelConfig(1, 3, 4, 5), "vocabulary");
    assertRefused(() -> new CharModelConfig(11, 0, 4, 5), "context");
    assertRefused(() -> new CharModelConfig(11, 257, 4, 5), "context");
    assertRefused(() -> new CharModelConfig(11, 3, 0, 5), "embedding");
    assertRefused(() -> new CharModelConfig(11, 3, 4097, 5), "embedding");
    assertRefused(() -> new CharModelConfig(11, 3, 4, 0), "hidden");
    assertRefused(() -> new CharModelConfig(11, 3, 4, 65537), "hidden");
    // Each size within its range, but the hidden weight would not fit one tensor.
    assertRefused(() -> new CharModelConfig(11, 256, 4096, 65536), "2^31");
  }

  private static void assertRefused(org.junit.jupiter.api.function.Executable construction, String mentions) {
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, construction);
    assertTrue(refused.getMessage().contains(mentions), refused.getMessage());
  }

  @Test
  void parameterCountMatchesTheInitializedModel() {
    for (CharModelConfig config : List.of(TINY, CharModelConfig.DEFAULT, new CharModelConfig(2, 1, 1, 1),
        new CharModelConfig(97, 12, 7, 33), new CharModelConfig(50, 2, 16, 100))) {
      assertEquals(config.parameterCount(), CharModel.initialize(config, 3).elementCount(), config.toString());
    }
  }

  @Test
  void defaultModelIsAboutAHundredThousandParametersAndTheLargeOneAboutAHundredMillion() {
    long small = CharModelConfig.DEFAULT.parameterCount();
    assertTrue(small >= 80_000 && small <= 120_000, "default has " + small);
    assertEquals(97, CharModelConfig.DEFAULT.vocab());
    // Only counted, never allocated.
    long large = new CharModelConfig(97, 24, 512, 8192).parameterCount();
    assertTrue(large >= 90_000_000L && large <= 110_000_000L, "large has " + large);
  }
}
