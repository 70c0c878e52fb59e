package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.function.IntToDoubleFunction;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks every {@link TensorBackend} operation against {@link ScalarReference} on seeded random
 * inputs of awkward sizes (empty, one, and neither a multiple of a block nor of a vector width);
 * each backend's test extends this one. The CPU runs them on one thread and on several, so that
 * both the serial and the split paths run.
 *
 * <p>Tolerances are error bounds of the float arithmetic the backend does, in units of {@link #U},
 * one float rounding; a wrong index, a missing term or a wrong formula is off by far more:
 *
 * <ul>
 *   <li>matmul: {@code (k + 2) U} times {@code |C0| + sum |a b|}, the bound for a float sum of k
 *       products;
 *   <li>sumRows: {@code (rows + 2) U} times {@code |out0| + sum |x|}; scatterAddRows likewise with
 *       the number of rows landing on each table row;
 *   <li>addRowBias, difference, axpy, scale: {@code 2 U} times the magnitude of the terms;
 *   <li>tanhForward: {@code 2 U |tanh x|} per ulp of the backend's tanh ({@link #tanhUlps}); tanhBackward: {@code 4 U |dy| (1 + y^2)};
 *   <li>softmaxCrossEntropy: loss relative {@code 1e-12} (it is summed in double); gradient
 *       {@code 4 U |scale| (|p - onehot| + p)};
 *   <li>adamW: {@code 4 U} on the moments, {@code 16 U} on the parameters relative to {@code |p| +
 *       lr |m-hat| / (sqrt(v-hat) + eps)};
 *   <li>dot, l2Norm: {@code (n + 8) 2^-53} relative to {@code sum |a b|} (summed in double);
 *   <li>gatherRows, allFinite: exact.
 * </ul>
 *
 * <p>Inputs carry NaN past their described extent, so a kernel reading too far poisons its result;
 * outputs carry a sentinel there, checked to be left alone.
 */
abstract class BackendContractTest {
  /**
   * The backend under test. {@code threads} is the CPU thread count the test asks for; a backend
   * without threads of its own ignores it.
   */
  abstract TensorBackend open(int threads);

  /** The largest error of tanh, in units in the last place: the reference rounds once. */
  abstract int tanhUlps();

  /** One rounding to float: half an ulp of 1, relative. */
  static final double U = 0x1p-24;

  /** Elements past the described extent of every array. */
  static final int PAD = 5;

  private static final float SENTINEL = -12345.5f;

  /** Element-wise sizes; the last is above {@link CpuBackend#PARALLEL_ELEMENTS}. */
  static final int[] SIZES = {0, 1, 7, 33, 1000, 200_003};

  static final int LARGE = SIZES[SIZES.length - 1];

  /**
   * {m, n, k}: empty, tiny, vector-like, and sizes crossing the panel blocks ({@link
   * Gemm#DEPTH_BLOCK}, {@link Gemm#WIDTH_BLOCK}), the dot-product path for few rows ({@link
   * Gemm#DOT_ROWS}), and the split by rows (70 x 130 x 90) and by columns (7 x 2000 x 150, 1 x 3000
   * x 200, and 8 x 700 x 130 on three threads).
   */
  private static final int[][] MATMUL_SHAPES = {
    {0, 0, 0}, {0, 5, 3}, {4, 0, 3}, {3, 4, 0}, {1, 1, 1}, {7, 33, 1}, {33, 7, 33}, {1, 1000, 7},
    {7, 1, 1000}, {5, 40, 300}, {70, 130, 90}, {9, 600, 300}, {7, 2000, 150}, {1, 3000, 200},
    {8, 700, 130}
  };

  /** {rows, cols}, the last two above the parallel threshold with many and with few columns. */
  private static final int[][] MATRIX_SHAPES = {
    {0, 5}, {5, 0}, {1, 1}, {7, 33}, {33, 7}, {1000, 7}, {7, 1000}, {200, 1001}, {66_667, 3}
  };

  // ---- matmul ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2, 3})
  void matmulMatchesReferenceForAllTransposes(int threads) {
    Random rnd = new Random(11);
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : MATMUL_SHAPES) {
        int m = shape[0];
        int n = shape[1];
        int k = shape[2];
        for (int mode = 0; mode < 8; mode++) {
          boolean transA = (mode & 1) != 0;
          boolean transB = (mode & 2) != 0;
          boolean accumulate = (mode & 4) != 0;
          String what =
              String.format(
                  "matmul %dx%dx%d transA=%b transB=%b accumulate=%b on %s",
                  m, n, k, transA, transB, accumulate, backend.name());
          float[] a = inputs(rnd, m * k, -1, 1);
          float[] b = inputs(rnd, k * n, -1, 1);
          // Without accumulate, C's old contents must be ignored: NaN would show through.
          float[] c = accumulate ? outputs(rnd, m * n) : filled(m * n, Float.NaN);
          float[] c0 = c.clone();
          double[] expected = ScalarReference.matmul(a, transA, b, transB, c0, m, n, k, accumulate);
          double[] magnitude =
              ScalarReference.matmulMagnitude(a, transA, b, transB, c0, m, n, k, accumulate);

          backend.matmul(a, transA, b, transB, c, m, n, k, accumulate);

          assertWithin(what, expected, c, i -> (k + 2) * U * magnitude[i]);
          assertPadUntouched(what, c, m * n);
        }
      }
    }
  }

  @Test
  void matmulRejectsShortArraysWithoutWriting() {
    try (TensorBackend backend = open(2)) {
      float[] a = new float[6];
      float[] b = new float[12];
      float[] c = new float[7]; // a 2 x 4 product needs 8
      Arrays.fill(c, 3f);
      float[] before = c.clone();
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.matmul(a, false, b, false, c, 2, 4, 3, false));
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.matmul(a, false, b, false, c, 2, -4, 3, false));
      assertArrayEquals(before, c);
    }
  }

  // ---- row-wise ops ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void addRowBiasMatchesReference(int threads) {
    Random rnd = new Random(21);
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : MATRIX_SHAPES) {
        int rows = shape[0];
        int cols = shape[1];
        String what = "addRowBias " + rows + "x" + cols + " on " + backend.name();
        float[] x = outputs(rnd, rows * cols);
        float[] bias = inputs(rnd, cols, -3, 3);
        float[] x0 = x.clone();
        double[] expected = ScalarReference.addRowBias(x0, bias, rows, cols);

        backend.addRowBias(x, bias, rows, cols);

        assertWithin(
            what, expected, x, i -> 2 * U * (Math.abs(x0[i]) + Math.abs(bias[i % cols])));
        assertPadUntouched(what, x, rows * cols);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void sumRowsMatchesReference(int threads) {
    Random rnd = new Random(22);
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : MATRIX_SHAPES) {
        for (boolean accumulate : new boolean[] {false, true}) {
          int rows = shape[0];
          int cols = shape[1];
          String what =
              "sumRows " + rows + "x" + cols + " accumulate=" + accumulate + " on "
                  + backend.name();
          float[] x = inputs(rnd, rows * cols, -1, 1);
          float[] out = accumulate ? outputs(rnd, cols) : filled(cols, Float.NaN);
          float[] out0 = out.clone();
          double[] expected = ScalarReference.sumRows(x, rows, cols, out0, accumulate);
          double[] magnitude = ScalarReference.sumRowsMagnitude(x, rows, cols, out0, accumulate);

          backend.sumRows(x, rows, cols, out, accumulate);

          assertWithin(what, expected, out, i -> (rows + 2) * U * magnitude[i]);
          assertPadUntouched(what, out, cols);
        }
      }
    }
  }

  // ---- activations ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void tanhForwardMatchesReference(int threads) {
    Random rnd = new Random(31);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "tanhForward n=" + n + " on " + backend.name();
        float[] x = inputs(rnd, n, -10, 10);
        float[] y = outputs(rnd, n);
        double[] expected = ScalarReference.tanh(x, n);

        backend.tanhForward(x, y, n);

        assertWithin(what, expected, y, i -> 2 * U * tanhUlps() * Math.abs(expected[i]));
        assertPadUntouched(what, y, n);

        backend.tanhForward(x, x, n);
        assertArrayEquals(Arrays.copyOf(y, n), Arrays.copyOf(x, n), what + " in place");
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void tanhBackwardMatchesReference(int threads) {
    Random rnd = new Random(32);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "tanhBackward n=" + n + " on " + backend.name();
        float[] y = inputs(rnd, n, -1, 1);
        float[] dy = inputs(rnd, n, -5, 5);
        float[] dx = outputs(rnd, n);
        double[] expected = ScalarReference.tanhBackward(y, dy, n);

        backend.tanhBackward(y, dy, dx, n);

        assertWithin(
            what, expected, dx, i -> 4 * U * Math.abs(dy[i]) * (1 + (double) y[i] * y[i]));
        assertPadUntouched(what, dx, n);

        backend.tanhBackward(y, dy, dy, n);
        assertArrayEquals(Arrays.copyOf(dx, n), Arrays.copyOf(dy, n), what + " in place");
      }
    }
  }

  // ---- softmax cross-entropy ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void softmaxCrossEntropyMatchesReference(int threads) {
    Random rnd = new Random(41);
    int[][] shapes = {
      {0, 5}, {1, 1}, {7, 33}, {33, 7}, {1000, 7}, {7, 1000}, {200, 1001}, {1, LARGE}
    };
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : shapes) {
        int rows = shape[0];
        int classes = shape[1];
        String what = "softmaxCrossEntropy " + rows + "x" + classes + " on " + backend.name();
        float[] logits = inputs(rnd, rows * classes, -8, 8);
        int[] targets = targets(rnd, rows, classes);
        float gradScale = rows == 0 ? 1f : 1f / rows * (rnd.nextBoolean() ? 1 : -3);
        float[] grad = outputs(rnd, rows * classes);
        double[] rowLoss = ScalarReference.crossEntropyRows(logits, targets, rows, classes);
        double expectedLoss = Arrays.stream(rowLoss).sum();
        double lossTolerance = 1e-12 * (rows + Arrays.stream(rowLoss).map(Math::abs).sum());
        double[] expectedGrad =
            ScalarReference.crossEntropyGrad(logits, targets, rows, classes, gradScale);

        double loss = backend.softmaxCrossEntropy(logits, targets, rows, classes, grad, gradScale);
        double lossOnly =
            backend.softmaxCrossEntropy(logits, targets, rows, classes, null, gradScale);

        assertEquals(expectedLoss, loss, lossTolerance, what + " loss");
        assertEquals(loss, lossOnly, what + " loss without grad");
        assertWithin(
            what + " grad",
            expectedGrad,
            grad,
            i -> {
              double unscaled = expectedGrad[i] / gradScale;
              double p = unscaled + (i % classes == targets[i / classes] ? 1 : 0);
              return 4 * U * Math.abs(gradScale) * (Math.abs(unscaled) + p);
            });
        assertPadUntouched(what, grad, rows * classes);
      }
    }
  }

  @Test
  void softmaxCrossEntropyGradIsDerivativeOfLoss() {
    Random rnd = new Random(42);
    int rows = 3;
    int classes = 5;
    float[] logits = inputs(rnd, rows * classes, -2, 2);
    int[] targets = targets(rnd, rows, classes);
    float[] grad = new float[rows * classes];
    try (TensorBackend backend = open(1)) {
      backend.softmaxCrossEntropy(logits, targets, rows, classes, grad, 1f);
      for (int i = 0; i < rows * classes; i++) {
        float original = logits[i];
        float up = original + 1e-2f;
        float down = original - 1e-2f;
        logits[i] = up;
        double lossUp = backend.softmaxCrossEntropy(logits, targets, rows, classes, null, 1f);
        logits[i] = down;
        double lossDown = backend.softmaxCrossEntropy(logits, targets, rows, classes, null, 1f);
        logits[i] = original;
        // Divide by the step actually taken after rounding to float; the central difference is
        // then off by h^2 f'''/6, below 1e-4 here, while grad entries are of order 0.1 to 1.
        double numeric = (lossUp - lossDown) / ((double) up - down);
        assertEquals(numeric, grad[i], 1e-3, "d loss / d logit " + i);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void softmaxCrossEntropyAllowsGradInPlaceOfLogits(int threads) {
    Random rnd = new Random(43);
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : new int[][] {{7, 33}, {200, 1001}}) {
        int rows = shape[0];
        int classes = shape[1];
        float[] logits = inputs(rnd, rows * classes, -8, 8);
        int[] targets = targets(rnd, rows, classes);
        float[] separate = new float[rows * classes];
        double expected =
            backend.softmaxCrossEntropy(logits, targets, rows, classes, separate, 0.5f);

        double loss = backend.softmaxCrossEntropy(logits, targets, rows, classes, logits, 0.5f);

        assertEquals(expected, loss, Arrays.toString(shape));
        assertArrayEquals(separate, Arrays.copyOf(logits, rows * classes), Arrays.toString(shape));
      }
    }
  }

  @Test
  void softmaxCrossEntropyIsStableForLargeLogits() {
    int rows = 2;
    int classes = 4;
    // exp(1e4) overflows even in double: only the shift by the row maximum keeps this finite.
    float[] logits = {1e4f, 1e4f - 1, 1e4f - 2, 1e4f - 3, -1e4f, -1e4f + 5, 3e4f, -3e4f};
    int[] targets = {1, 3};
    float[] grad = new float[rows * classes];
    try (TensorBackend backend = open(1)) {
      double loss = backend.softmaxCrossEntropy(logits, targets, rows, classes, grad, 1f);
      double expected =
          Arrays.stream(ScalarReference.crossEntropyRows(logits, targets, rows, classes)).sum();
      assertTrue(Double.isFinite(loss));
      assertEquals(expected, loss, 1e-12 * Math.abs(expected));
      double[] expectedGrad = ScalarReference.crossEntropyGrad(logits, targets, rows, classes, 1);
      assertWithin("grad", expectedGrad, grad, i -> 1e-6);
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void softmaxCrossEntropyRejectsOutOfRangeTargets(int threads) {
    Random rnd = new Random(44);
    int rows = 200;
    int classes = 1001;
    try (TensorBackend backend = open(threads)) {
      for (int bad : new int[] {-1, classes}) {
        float[] logits = inputs(rnd, rows * classes, -1, 1);
        int[] targets = targets(rnd, rows, classes);
        targets[rows - 1] = bad;
        float[] grad = outputs(rnd, rows * classes);
        float[] gradBefore = grad.clone();
        float[] logitsBefore = logits.clone();

        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> backend.softmaxCrossEntropy(logits, targets, rows, classes, grad, 1f));
        assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
        assertThrows(
            IllegalArgumentException.class,
            () -> backend.softmaxCrossEntropy(logits, targets, rows, classes, logits, 1f));
        assertArrayEquals(gradBefore, grad, "grad written before the target was checked");
        assertArrayEquals(logitsBefore, logits, "logits written before the target was checked");
      }
    }
  }

  // ---- embeddings ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void gatherRowsCopiesSelectedRows(int threads) {
    Random rnd = new Random(51);
    int tableRows = 50;
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : new int[][] {{0, 8}, {1, 1}, {7, 33}, {33, 7}, {1000, 7}, {3000, 70}}) {
        int count = shape[0];
        int dim = shape[1];
        String what = "gatherRows " + count + "x" + dim + " on " + backend.name();
        float[] table = inputs(rnd, tableRows * dim, -1, 1);
        int[] indices = targets(rnd, count, tableRows);
        float[] out = outputs(rnd, count * dim);
        double[] expected = ScalarReference.gatherRows(table, dim, indices, count);

        backend.gatherRows(table, dim, indices, count, out);

        assertWithin(what, expected, out, i -> 0);
        assertPadUntouched(what, out, count * dim);
      }
    }
  }

  @Test
  void gatherRowsRejectsOutOfRangeIndicesWithoutWriting() {
    try (TensorBackend backend = open(1)) {
      float[] table = new float[4 * 3];
      float[] out = filled(2 * 3, 7f);
      float[] before = out.clone();
      assertThrows(
          IndexOutOfBoundsException.class,
          () -> backend.gatherRows(table, 3, new int[] {0, 4}, 2, out));
      assertThrows(
          IndexOutOfBoundsException.class,
          () -> backend.gatherRows(table, 3, new int[] {-1, 0}, 2, out));
      assertArrayEquals(before, out);
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void scatterAddRowsMatchesReference(int threads) {
    Random rnd = new Random(52);
    int tableRows = 50;
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : new int[][] {{0, 8}, {1, 1}, {7, 33}, {33, 7}, {1000, 7}, {3000, 70}}) {
        int count = shape[0];
        int dim = shape[1];
        String what = "scatterAddRows " + count + "x" + dim + " on " + backend.name();
        float[] rowsGrad = inputs(rnd, count * dim, -1, 1);
        int[] indices = targets(rnd, count, tableRows);
        float[] tableGrad = outputs(rnd, tableRows * dim);
        checkScatterAdd(backend, what, rowsGrad, dim, indices, count, tableGrad);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void scatterAddRowsAccumulatesRepeatedIndices(int threads) {
    Random rnd = new Random(53);
    int count = 1000;
    int dim = 70;
    try (TensorBackend backend = open(threads)) {
      int[] same = new int[count];
      Arrays.fill(same, 3);
      int[] alternating = new int[count];
      for (int i = 0; i < count; i++) {
        alternating[i] = i % 2 == 0 ? 0 : 4;
      }
      for (int[] indices : new int[][] {same, alternating}) {
        float[] rowsGrad = inputs(rnd, count * dim, 0, 1);
        float[] tableGrad = outputs(rnd, 5 * dim);
        checkScatterAdd(
            backend, "repeated indices on " + backend.name(), rowsGrad, dim, indices, count,
            tableGrad);
      }
    }
  }

  private static void checkScatterAdd(
      TensorBackend backend,
      String what,
      float[] rowsGrad,
      int dim,
      int[] indices,
      int count,
      float[] tableGrad) {
    int tableRows = (tableGrad.length - PAD) / Math.max(dim, 1);
    int[] hits = new int[tableRows];
    for (int i = 0; i < count; i++) {
      hits[indices[i]]++;
    }
    float[] table0 = tableGrad.clone();
    double[] expected = ScalarReference.scatterAddRows(rowsGrad, dim, indices, count, table0);
    double[] magnitude =
        ScalarReference.scatterAddRowsMagnitude(rowsGrad, dim, indices, count, table0);
    backend.scatterAddRows(rowsGrad, dim, indices, count, tableGrad);
    int n = tableRows * dim;
    assertWithin(
        what,
        Arrays.copyOf(expected, n),
        tableGrad,
        i -> (hits[i / dim] + 2) * U * magnitude[i]);
    assertPadUntouched(what, tableGrad, n);
  }

  // ---- optimizer ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void adamWMatchesReference(int threads) {
    Random rnd = new Random(61);
    float lr = 1e-2f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-3f;
    float weightDecay = 0.1f;
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (long step : new long[] {1, 2, 10, 1000}) {
          String what = "adamW n=" + n + " step=" + step + " on " + backend.name();
          float[] params = outputs(rnd, n);
          float[] grads = inputs(rnd, n, -0.05, 0.05);
          float[] m = outputs(rnd, n);
          float[] v = outputs(rnd, n);
          for (int i = 0; i < n; i++) {
            m[i] *= 0.05f;
            v[i] = v[i] * v[i] * 0.01f;
          }
          float[] p0 = params.clone();
          float[] m0 = m.clone();
          float[] v0 = v.clone();
          ScalarReference.AdamState expected =
              ScalarReference.adamW(
                  p0, grads, m0, v0, n, step, lr, beta1, beta2, eps, weightDecay);
          double correction1 = 1 - Math.pow(beta1, step);
          double correction2 = 1 - Math.pow(beta2, step);

          backend.adamW(params, grads, m, v, n, step, lr, beta1, beta2, eps, weightDecay);

          IntToDoubleFunction mMagnitude =
              i -> Math.abs(beta1 * m0[i]) + Math.abs((1 - beta1) * grads[i]);
          assertWithin(what + " m", expected.m(), m, i -> 4 * U * mMagnitude.applyAsDouble(i));
          assertWithin(
              what + " v",
              expected.v(),
              v,
              i -> 4 * U * (beta2 * v0[i] + (1 - beta2) * (double) grads[i] * grads[i]));
          assertWithin(
              what + " params",
              expected.params(),
              params,
              i -> {
                double denom = Math.sqrt(expected.v()[i] / correction2) + eps;
                double update = lr * mMagnitude.applyAsDouble(i) / correction1 / denom;
                return 16 * U * (Math.abs(p0[i]) + update);
              });
          assertPadUntouched(what, params, n);
          assertPadUntouched(what, m, n);
          assertPadUntouched(what, v, n);
        }
      }
    }
  }

  @Test
  void adamWRejectsStepZero() {
    try (TensorBackend backend = open(1)) {
      float[] x = new float[3];
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.adamW(x, x.clone(), x.clone(), x.clone(), 3, 0, 1e-3f, 0.9f, 0.99f, 1e-8f,
              0f));
    }
  }

  // ---- vector ops ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void axpyMatchesReference(int threads) {
    Random rnd = new Random(71);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "axpy n=" + n + " on " + backend.name();
        float w = (float) (rnd.nextDouble() * 4 - 2);
        float[] x = inputs(rnd, n, -1, 1);
        float[] y = outputs(rnd, n);
        float[] y0 = y.clone();
        double[] expected = ScalarReference.axpy(w, x, y0, n);

        backend.axpy(w, x, y, n);

        assertWithin(what, expected, y, i -> 2 * U * (Math.abs(w * x[i]) + Math.abs(y0[i])));
        assertPadUntouched(what, y, n);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void scaleMatchesReference(int threads) {
    Random rnd = new Random(72);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "scale n=" + n + " on " + backend.name();
        float s = (float) (rnd.nextDouble() * 4 - 2);
        float[] x = outputs(rnd, n);
        double[] expected = ScalarReference.scale(x, s, n);

        backend.scale(x, s, n);

        assertWithin(what, expected, x, i -> 2 * U * Math.abs(expected[i]));
        assertPadUntouched(what, x, n);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void differenceMatchesReferenceAndMayOverwriteItsInput(int threads) {
    Random rnd = new Random(73);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "difference n=" + n + " on " + backend.name();
        float[] a = inputs(rnd, n, -1, 1);
        float[] b = inputs(rnd, n, -1, 1);
        float[] out = outputs(rnd, n);
        double[] expected = ScalarReference.difference(a, b, n);

        backend.difference(a, b, out, n);

        assertWithin(what, expected, out, i -> 2 * U * (Math.abs(a[i]) + Math.abs(b[i])));
        assertPadUntouched(what, out, n);

        backend.difference(a, b, a, n);
        assertArrayEquals(Arrays.copyOf(out, n), Arrays.copyOf(a, n), what + " in place");
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void dotAndL2NormMatchReference(int threads) {
    Random rnd = new Random(74);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "n=" + n + " on " + backend.name();
        float[] a = inputs(rnd, n, -1, 1);
        float[] b = inputs(rnd, n, -1, 1);
        double relative = (n + 8) * 0x1p-53;

        assertEquals(
            ScalarReference.dot(a, b, n),
            backend.dot(a, b, n),
            relative * ScalarReference.dotMagnitude(a, b, n),
            "dot " + what);
        double norm = ScalarReference.l2Norm(a, n);
        assertEquals(norm, backend.l2Norm(a, n), relative * norm, "l2Norm " + what);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void allFiniteDetectsNanAndInfinityAtLastPosition(int threads) {
    Random rnd = new Random(75);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        float[] x = inputs(rnd, n, -1e30, 1e30);
        String what = "n=" + n + " on " + backend.name();
        assertTrue(ScalarReference.allFinite(x, n), what);
        assertTrue(backend.allFinite(x, n), "finite values, " + what);
        if (n == 0) {
          continue;
        }
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, -Float.MAX_VALUE * 2}) {
          x[n - 1] = bad;
          assertFalse(ScalarReference.allFinite(x, n), what);
          assertFalse(backend.allFinite(x, n), bad + " last, " + what);
        }
      }
    }
  }

  @Test
  void allFiniteAcceptsExtremesAndIgnoresElementsPastN() {
    float[] x = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -0f, Float.NaN};
    try (TensorBackend backend = open(1)) {
      assertTrue(backend.allFinite(x, 4));
      assertFalse(backend.allFinite(x, 5));
    }
  }

  // ---- copy and clipping ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void copyCopiesExactly(int threads) {
    Random rnd = new Random(81);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        String what = "copy n=" + n + " on " + backend.name();
        float[] src = inputs(rnd, n, -1e30, 1e30);
        float[] dst = outputs(rnd, n);

        backend.copy(src, dst, n);

        assertWithin(what, ScalarReference.copy(src, n), dst, i -> 0);
        assertPadUntouched(what, dst, n);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void clipByNormMatchesReference(int threads) {
    Random rnd = new Random(82);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (double ratio : new double[] {0.3, 2.0}) {
          float[] x = outputs(rnd, n);
          float[] x0 = x.clone();
          double norm = ScalarReference.l2Norm(x0, n);
          double maxNorm = n == 0 ? 1.0 : norm * ratio;
          String what = "clipByNorm n=" + n + " maxNorm=" + maxNorm + " on " + backend.name();
          double[] expected = ScalarReference.clipByNorm(x0, n, maxNorm);

          double returned = backend.clipByNorm(x, n, maxNorm);

          assertEquals(norm, returned, (n + 8) * 0x1p-53 * norm, what + " returned norm");
          if (norm <= maxNorm) {
            assertArrayEquals(x0, x, what + " must leave x alone");
          } else {
            // One rounding of the factor to float, one of each product.
            assertWithin(what, expected, x, i -> 2 * U * Math.abs(expected[i]));
            double after = ScalarReference.l2Norm(x, n);
            assertEquals(maxNorm, after, 4 * U * maxNorm, what + " norm after clipping");
          }
          assertPadUntouched(what, x, n);
        }
      }
    }
  }

  @Test
  void clipByNormRejectsNonPositiveMaxNormAndSkipsNonFiniteNorms() {
    try (TensorBackend backend = open(1)) {
      float[] x = {3f, 4f, SENTINEL};
      for (double bad : new double[] {0, -1, Double.NaN}) {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> backend.clipByNorm(x, 2, bad));
        assertTrue(e.getMessage().contains("maxNorm"), e.getMessage());
      }
      assertArrayEquals(new float[] {3f, 4f, SENTINEL}, x);
      assertEquals(5.0, backend.clipByNorm(x, 2, 10.0));
      assertArrayEquals(new float[] {3f, 4f, SENTINEL}, x);
      assertEquals(5.0, backend.clipByNorm(x, 2, 1.0));
      assertArrayEquals(new float[] {0.6f, 0.8f, SENTINEL}, x);
      float[] bad = {1f, Float.NaN, Float.POSITIVE_INFINITY};
      assertTrue(Double.isNaN(backend.clipByNorm(bad, 3, 1.0)));
      assertArrayEquals(new float[] {1f, Float.NaN, Float.POSITIVE_INFINITY}, bad);
    }
  }

  // ---- quantization ----

  /** {n, blockSize}: blocks of 1, sizes not multiples of the block, one large split. */
  private static final int[][] INT8_SHAPES = {
    {0, 4}, {1, 1}, {7, 1}, {7, 3}, {33, 7}, {33, 64}, {1000, 7}, {1000, 64}, {LARGE, 64},
    {LARGE, 1000}
  };

  private static final int[][] INT4_SHAPES = {
    {0, 4}, {1, 2}, {7, 2}, {7, 4}, {33, 6}, {33, 64}, {1000, 14}, {1000, 64}, {LARGE, 64},
    {LARGE, 1000}
  };

  /** Random values with a varying scale per block, and one all-zero block when there are two. */
  private static float[] quantizeInputs(Random rnd, int n, int blockSize) {
    float[] x = inputs(rnd, n, -1, 1);
    for (int from = 0; from < n; from += blockSize) {
      double blockScale = Math.pow(10, rnd.nextInt(9) - 4);
      for (int i = from; i < Math.min(n, from + blockSize); i++) {
        x[i] *= (float) blockScale;
      }
    }
    if (n >= 2 * blockSize) {
      Arrays.fill(x, blockSize, 2 * blockSize, 0f);
    }
    return x;
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void quantizeInt8MatchesReferenceAndRoundTrips(int threads) {
    Random rnd = new Random(91);
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : INT8_SHAPES) {
        int n = shape[0];
        int blockSize = shape[1];
        String what = "int8 n=" + n + " blockSize=" + blockSize + " on " + backend.name();
        float[] x = quantizeInputs(rnd, n, blockSize);
        ScalarReference.Quantized expected = ScalarReference.quantize(x, n, blockSize, 127);
        int blocks = expected.scales().length;
        byte[] q = new byte[n + PAD];
        Arrays.fill(q, n, n + PAD, (byte) 99);
        float[] scales = filled(blocks, Float.NaN);

        assertEquals(blocks, backend.quantizeInt8(x, n, blockSize, q, scales), what + " blocks");

        assertArrayEquals(expected.scales(), Arrays.copyOf(scales, blocks), what + " scales");
        assertPadUntouched(what + " scales", scales, blocks);
        for (int i = 0; i < n; i++) {
          if (q[i] != expected.codes()[i]) {
            fail(what + ": code " + i + " of " + x[i] + " is " + q[i] + ", expected "
                + expected.codes()[i] + " (scale " + scales[i / blockSize] + ")");
          }
        }
        for (int i = n; i < n + PAD; i++) {
          assertEquals(99, q[i], what + " wrote a code past the end, at " + i);
        }

        float[] out = outputs(rnd, n);
        backend.dequantizeInt8(q, scales, n, blockSize, out);

        double[] decoded = ScalarReference.dequantize(expected.codes(), scales, n, blockSize);
        assertWithin(what + " dequantize", decoded, out, i -> U * Math.abs(decoded[i]));
        assertPadUntouched(what + " dequantize", out, n);
        checkRoundTrip(what, x, out, scales, n, blockSize, 127);
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void quantizeInt4MatchesReferenceAndRoundTrips(int threads) {
    Random rnd = new Random(92);
    try (TensorBackend backend = open(threads)) {
      for (int[] shape : INT4_SHAPES) {
        int n = shape[0];
        int blockSize = shape[1];
        String what = "int4 n=" + n + " blockSize=" + blockSize + " on " + backend.name();
        float[] x = quantizeInputs(rnd, n, blockSize);
        ScalarReference.Quantized expected = ScalarReference.quantize(x, n, blockSize, 7);
        byte[] expectedPacked = ScalarReference.packInt4(expected.codes(), n);
        int bytes = expectedPacked.length;
        int blocks = expected.scales().length;
        byte[] packed = new byte[bytes + PAD];
        Arrays.fill(packed, bytes, bytes + PAD, (byte) 99);
        float[] scales = filled(blocks, Float.NaN);

        assertEquals(
            blocks, backend.quantizeInt4(x, n, blockSize, packed, scales), what + " blocks");

        assertArrayEquals(expected.scales(), Arrays.copyOf(scales, blocks), what + " scales");
        assertPadUntouched(what + " scales", scales, blocks);
        for (int i = 0; i < n; i++) {
          int nibble = (packed[i / 2] >> (4 * (i % 2))) & 15;
          if (nibble - 8 != expected.codes()[i]) {
            fail(what + ": code " + i + " of " + x[i] + " is " + (nibble - 8) + ", expected "
                + expected.codes()[i] + " (scale " + scales[i / blockSize] + ")");
          }
        }
        assertArrayEquals(expectedPacked, Arrays.copyOf(packed, bytes), what + " packed bytes");
        for (int i = bytes; i < bytes + PAD; i++) {
          assertEquals(99, packed[i], what + " wrote a byte past the end, at " + i);
        }

        float[] out = outputs(rnd, n);
        backend.dequantizeInt4(packed, scales, n, blockSize, out);

        double[] decoded = ScalarReference.dequantize(expected.codes(), scales, n, blockSize);
        assertWithin(what + " dequantize", decoded, out, i -> U * Math.abs(decoded[i]));
        assertPadUntouched(what + " dequantize", out, n);
        checkRoundTrip(what, x, out, scales, n, blockSize, 7);
      }
    }
  }

  /**
   * {@code |x - dequantized| <= scale / 2}, plus float slack: the product's rounding and the
   * quotient of the block maximum exceeding the top level by a rounding, each {@code levels U
   * scale}.
   */
  private static void checkRoundTrip(
      String what, float[] x, float[] out, float[] scales, int n, int blockSize, int levels) {
    double[] original = new double[n];
    for (int i = 0; i < n; i++) {
      original[i] = x[i];
    }
    assertWithin(
        what + " round trip",
        original,
        out,
        i -> scales[i / blockSize] * (0.5 + 2 * levels * U));
  }

  @Test
  void quantizeRoundsHalvesToEven() {
    try (TensorBackend backend = open(1)) {
      // The block maxima make each scale exactly 1, so every quotient is the value itself.
      float[] x8 = {127f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 0.49999997f, -126.5f, 3.5000002f};
      byte[] q = new byte[x8.length];
      float[] scales8 = new float[1];
      backend.quantizeInt8(x8, x8.length, 9, q, scales8);
      assertEquals(1f, scales8[0]);
      assertArrayEquals(new byte[] {127, 0, 2, 2, 0, -2, 0, -126, 4}, q);

      float[] x4 = {7f, 0.5f, -0.5f, 2.5f, -3.5f, 6.5f, -7f};
      byte[] packed = new byte[4];
      float[] scales4 = new float[2];
      assertEquals(2, backend.quantizeInt4(x4, x4.length, 6, packed, scales4));
      assertArrayEquals(new float[] {1f, 1f}, scales4);
      // Codes 7, 0, 0, 2, -4, 6 | -7, stored +8 as low, high nibble pairs; the lone last is 8.
      assertArrayEquals(
          new byte[] {(byte) (15 | 8 << 4), (byte) (8 | 10 << 4), (byte) (4 | 14 << 4),
              (byte) (1 | 8 << 4)},
          packed);
      float[] out = new float[7];
      backend.dequantizeInt4(packed, scales4, 7, 6, out);
      assertArrayEquals(new float[] {7f, 0f, 0f, 2f, -4f, 6f, -7f}, out);
    }
  }

  @Test
  void quantizeRejectsBadBlockSizesAndShortArraysWithoutWriting() {
    try (TensorBackend backend = open(1)) {
      float[] x = {1f, 2f, 3f, 4f, 5f, 6f};
      byte[] q = new byte[6];
      Arrays.fill(q, (byte) 42);
      float[] scales = filled(3, 9f);
      float[] scalesBefore = scales.clone();
      for (int odd : new int[] {1, 3, 5}) {
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class, () -> backend.quantizeInt4(x, 6, odd, q, scales));
        assertTrue(e.getMessage().contains("even"), e.getMessage());
        assertThrows(
            IllegalArgumentException.class,
            () -> backend.dequantizeInt4(q, scales, 6, odd, new float[6]));
      }
      assertThrows(IllegalArgumentException.class, () -> backend.quantizeInt4(x, 6, 0, q, scales));
      assertThrows(IllegalArgumentException.class, () -> backend.quantizeInt8(x, 6, 0, q, scales));
      assertThrows(
          IllegalArgumentException.class, () -> backend.quantizeInt8(x, 6, -2, q, scales));
      // Six elements in blocks of 1 need six scales; scales holds three plus padding of five.
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.quantizeInt8(x, 6, 1, q, new float[5]));
      assertThrows(
          IllegalArgumentException.class, () -> backend.quantizeInt8(x, 6, 2, new byte[5], scales));
      assertThrows(
          IllegalArgumentException.class, () -> backend.quantizeInt4(x, 6, 2, new byte[2], scales));
      assertThrows(IllegalArgumentException.class, () -> backend.quantizeInt8(x, 7, 2, q, scales));
      assertArrayEquals(scalesBefore, scales);
      for (byte b : q) {
        assertEquals(42, b);
      }
      float[] out = filled(6, 5f);
      float[] outBefore = out.clone();
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.dequantizeInt8(q, new float[2], 6, 2, out));
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.dequantizeInt4(new byte[2], scales, 6, 2, out));
      assertArrayEquals(outBefore, out);
    }
  }

  // ---- top-k ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void topKMatchesFullSort(int threads) {
    Random rnd = new Random(101);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (boolean ties : new boolean[] {false, true}) {
          float[] x = inputs(rnd, n, -1, 1);
          if (ties) {
            // Few distinct magnitudes, both signs and both zeros: ranking leans on the index.
            for (int i = 0; i < n; i++) {
              x[i] = (rnd.nextInt(9) - 4) * 0.25f;
              if (x[i] == 0 && rnd.nextBoolean()) {
                x[i] = -0f;
              }
            }
          }
          for (int k : new int[] {0, 1, 5, 100, n / 3, n - 1, n, n + 3}) {
            if (k < 0) {
              continue;
            }
            String what =
                "topK n=" + n + " k=" + k + " ties=" + ties + " on " + backend.name();
            int[] expected = ScalarReference.topK(x, n, k);
            int m = expected.length;
            int[] indices = new int[m + PAD];
            Arrays.fill(indices, m, m + PAD, -7);

            assertEquals(m, backend.topK(x, n, k, indices), what + " count");

            assertArrayEquals(expected, Arrays.copyOf(indices, m), what);
            for (int i = m; i < m + PAD; i++) {
              assertEquals(-7, indices[i], what + " wrote past the end, at " + i);
            }
          }
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void topKRanksNanAndInfinityFirstAndBreaksTiesByIndex(int threads) {
    try (TensorBackend backend = open(threads)) {
      int n = LARGE;
      float[] x = new float[n];
      for (int i = 0; i < n; i++) {
        x[i] = (i % 7) * 0.1f;
      }
      x[n - 1] = Float.NaN;
      x[n / 2] = Float.NEGATIVE_INFINITY;
      x[3] = 5f;
      x[n - 2] = -5f;
      int[] indices = new int[10];
      assertEquals(10, backend.topK(x, n, 10, indices));
      // After NaN, -inf and the two 5s, the six earliest of the many 0.6s: i = 6, 13, 20, ...
      assertArrayEquals(new int[] {3, 6, 13, 20, 27, 34, 41, n / 2, n - 2, n - 1}, indices);
    }
  }

  @Test
  void topKRejectsNegativeKAndShortIndices() {
    try (TensorBackend backend = open(1)) {
      float[] x = {1f, -3f, 2f};
      int[] indices = {9, 9};
      assertThrows(IllegalArgumentException.class, () -> backend.topK(x, 3, -1, indices));
      assertThrows(IllegalArgumentException.class, () -> backend.topK(x, 3, 3, indices));
      assertThrows(IllegalArgumentException.class, () -> backend.topK(x, 4, 1, indices));
      assertArrayEquals(new int[] {9, 9}, indices);
      assertEquals(2, backend.topK(x, 3, 2, indices));
      assertArrayEquals(new int[] {1, 2}, indices);
    }
  }

  // ---- robust aggregation ----

  /** count arrays of n values; with ties, values on a coarse grid so many coincide. */
  private static float[][] aggregationInputs(Random rnd, int count, int n, boolean ties) {
    float[][] inputs = new float[count + 1][];
    for (int j = 0; j < count; j++) {
      inputs[j] = inputs(rnd, n, -10, 10);
      if (ties) {
        for (int i = 0; i < n; i++) {
          inputs[j][i] = Math.round(inputs[j][i] / 4) * 4f;
        }
      }
    }
    // An extra array past count, which must not be read.
    inputs[count] = filled(n, Float.NaN);
    return inputs;
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void medianMatchesReference(int threads) {
    Random rnd = new Random(111);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (int count : n > 1000 ? new int[] {2, 5} : new int[] {1, 2, 3, 4, 7, 8, 33}) {
          boolean ties = count % 2 == 1;
          String what = "median n=" + n + " count=" + count + " on " + backend.name();
          float[][] inputs = aggregationInputs(rnd, count, n, ties);
          float[] out = outputs(rnd, n);
          double[] expected = ScalarReference.median(inputs, count, n);

          backend.median(inputs, count, n, out);

          // Odd count: exact; even: the mean of two floats, rounded once.
          assertWithin(what, expected, out, i -> U * Math.abs(expected[i]));
          assertPadUntouched(what, out, n);

          float[] first = inputs[0];
          backend.median(inputs, count, n, first);
          assertArrayEquals(Arrays.copyOf(out, n), Arrays.copyOf(first, n), what + " in place");
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void trimmedMeanMatchesReference(int threads) {
    Random rnd = new Random(112);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (int[] shape : n > 1000
            ? new int[][] {{5, 1}, {8, 2}}
            : new int[][] {{1, 0}, {2, 0}, {3, 1}, {4, 1}, {7, 2}, {8, 3}, {33, 5}}) {
          int count = shape[0];
          int trim = shape[1];
          String what =
              "trimmedMean n=" + n + " count=" + count + " trim=" + trim + " on "
                  + backend.name();
          float[][] inputs = aggregationInputs(rnd, count, n, rnd.nextBoolean());
          float[] out = outputs(rnd, n);
          double[] expected = ScalarReference.trimmedMean(inputs, count, n, trim);

          backend.trimmedMean(inputs, count, n, trim, out);

          // Summed in double and rounded once: one float rounding plus a negligible double sum
          // error, bounded by count 2^-53 times the largest input magnitude (10).
          assertWithin(
              what, expected, out, i -> U * Math.abs(expected[i]) + count * 0x1p-53 * 10);
          assertPadUntouched(what, out, n);

          float[] first = inputs[0];
          backend.trimmedMean(inputs, count, n, trim, first);
          assertArrayEquals(Arrays.copyOf(out, n), Arrays.copyOf(first, n), what + " in place");
        }
      }
    }
  }

  @Test
  void trimmedMeanDropsOutliers() {
    float[][] inputs = {{1f, -100f}, {1000f, 2f}, {2f, 3f}, {3f, 4f}, {-50f, 5f}};
    float[] out = new float[2];
    try (TensorBackend backend = open(1)) {
      backend.trimmedMean(inputs, 5, 2, 1, out);
      assertArrayEquals(new float[] {2f, 3f}, out);
      backend.median(inputs, 4, 2, out);
      assertArrayEquals(new float[] {2.5f, 2.5f}, out);
    }
  }

  @Test
  void aggregationRejectsBadCountsAndShortInputsWithoutWriting() {
    try (TensorBackend backend = open(1)) {
      float[][] inputs = {{1f, 2f}, {3f, 4f}, {5f}, null};
      float[] out = {7f, 7f};
      assertThrows(IllegalArgumentException.class, () -> backend.median(inputs, 0, 2, out));
      assertThrows(IllegalArgumentException.class, () -> backend.median(inputs, 3, 2, out));
      assertThrows(IllegalArgumentException.class, () -> backend.median(inputs, 4, 1, out));
      assertThrows(IllegalArgumentException.class, () -> backend.median(inputs, 5, 1, out));
      assertThrows(
          IllegalArgumentException.class, () -> backend.median(inputs, 2, 3, new float[3]));
      for (int[] bad : new int[][] {{2, 1}, {3, 2}, {1, 1}, {2, -1}}) {
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> backend.trimmedMean(inputs, bad[0], 1, bad[1], out));
        assertTrue(e.getMessage().contains(Integer.toString(bad[1])), e.getMessage());
      }
      assertArrayEquals(new float[] {7f, 7f}, out);
    }
  }

  // ---- outer optimizers ----

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void nesterovStepMatchesReference(int threads) {
    Random rnd = new Random(121);
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (float momentum : new float[] {0f, 0.9f}) {
          String what = "nesterovStep n=" + n + " momentum=" + momentum + " on " + backend.name();
          float lr = 0.7f;
          float[] theta = outputs(rnd, n);
          float[] delta = inputs(rnd, n, -0.1, 0.1);
          float[] velocity = outputs(rnd, n);
          float[] theta0 = theta.clone();
          float[] velocity0 = velocity.clone();
          ScalarReference.NesterovState expected =
              ScalarReference.nesterov(theta0, delta, velocity0, n, lr, momentum);

          backend.nesterovStep(theta, delta, velocity, n, lr, momentum);

          IntToDoubleFunction vMagnitude =
              i -> Math.abs(momentum * velocity0[i]) + Math.abs(delta[i]);
          assertWithin(
              what + " velocity",
              expected.velocity(),
              velocity,
              i -> 2 * U * vMagnitude.applyAsDouble(i));
          assertWithin(
              what + " theta",
              expected.theta(),
              theta,
              i ->
                  8 * U
                      * (Math.abs(theta0[i])
                          + lr * (Math.abs(delta[i]) + momentum * vMagnitude.applyAsDouble(i))));
          assertPadUntouched(what, theta, n);
          assertPadUntouched(what, velocity, n);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} threads")
  @ValueSource(ints = {1, 2})
  void adamStepIsAdamWithoutWeightDecay(int threads) {
    Random rnd = new Random(122);
    float lr = 0.5f;
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-6f;
    try (TensorBackend backend = open(threads)) {
      for (int n : SIZES) {
        for (long step : new long[] {1, 3, 100}) {
          String what = "adamStep n=" + n + " step=" + step + " on " + backend.name();
          float[] theta = outputs(rnd, n);
          float[] delta = inputs(rnd, n, -0.05, 0.05);
          float[] m = outputs(rnd, n);
          float[] v = outputs(rnd, n);
          for (int i = 0; i < n; i++) {
            m[i] *= 0.05f;
            v[i] = v[i] * v[i] * 0.01f;
          }
          float[] theta0 = theta.clone();
          float[] m0 = m.clone();
          float[] v0 = v.clone();
          ScalarReference.AdamState expected =
              ScalarReference.adamW(theta0, delta, m0, v0, n, step, lr, beta1, beta2, eps, 0);
          double correction1 = 1 - Math.pow(beta1, step);
          double correction2 = 1 - Math.pow(beta2, step);

          backend.adamStep(theta, delta, m, v, n, step, lr, beta1, beta2, eps);

          // The adamW tolerances, with weight decay 0.
          IntToDoubleFunction mMagnitude =
              i -> Math.abs(beta1 * m0[i]) + Math.abs((1 - beta1) * delta[i]);
          assertWithin(what + " m", expected.m(), m, i -> 4 * U * mMagnitude.applyAsDouble(i));
          assertWithin(
              what + " v",
              expected.v(),
              v,
              i -> 4 * U * (beta2 * v0[i] + (1 - beta2) * (double) delta[i] * delta[i]));
          assertWithin(
              what + " theta",
              expected.params(),
              theta,
              i -> {
                double denom = Math.sqrt(expected.v()[i] / correction2) + eps;
                double update = lr * mMagnitude.applyAsDouble(i) / correction1 / denom;
                return 16 * U * (Math.abs(theta0[i]) + update);
              });
          assertPadUntouched(what, theta, n);
          assertPadUntouched(what, m, n);
          assertPadUntouched(what, v, n);
        }
      }
      float[] x = new float[3];
      assertThrows(
          IllegalArgumentException.class,
          () -> backend.adamStep(x, x.clone(), x.clone(), x.clone(), 3, 0, lr, beta1, beta2, eps));
    }
  }

  // ---- lifecycle and threads ----

  @Test
  void closedBackendRejectsCallsAndClosesTwice() {
    TensorBackend backend = open(2);
    backend.close();
    backend.close();
    float[] x = new float[4];
    assertThrows(IllegalStateException.class, () -> backend.scale(x, 2f, 4));
    assertThrows(
        IllegalStateException.class, () -> backend.matmul(x, false, x, false, x, 2, 2, 2, false));
  }

  // ---- helpers ----

  /** n random values in [lo, hi), then NaN padding that no kernel may read. */
  static float[] inputs(Random rnd, int n, double lo, double hi) {
    float[] x = new float[n + PAD];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
    }
    Arrays.fill(x, n, n + PAD, Float.NaN);
    return x;
  }

  /** n random values in [-1, 1), then sentinel padding that no kernel may write. */
  static float[] outputs(Random rnd, int n) {
    float[] x = new float[n + PAD];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (2 * rnd.nextDouble() - 1);
    }
    Arrays.fill(x, n, n + PAD, SENTINEL);
    return x;
  }

  private static float[] filled(int n, float value) {
    float[] x = new float[n + PAD];
    Arrays.fill(x, 0, n, value);
    Arrays.fill(x, n, n + PAD, SENTINEL);
    return x;
  }

  private static int[] targets(Random rnd, int rows, int classes) {
    int[] t = new int[rows + PAD];
    for (int r = 0; r < rows; r++) {
      t[r] = rnd.nextInt(classes);
    }
    Arrays.fill(t, rows, rows + PAD, -1);
    return t;
  }

  static void assertWithin(
      String what, double[] expected, float[] actual, IntToDoubleFunction tolerance) {
    for (int i = 0; i < expected.length; i++) {
      double tol = tolerance.applyAsDouble(i);
      if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
        fail(
            String.format(
                "%s: element %d is %s, expected %s within %s", what, i, actual[i], expected[i],
                tol));
      }
    }
  }

  static void assertPadUntouched(String what, float[] x, int n) {
    for (int i = n; i < x.length; i++) {
      if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(SENTINEL)) {
        fail(what + ": wrote " + x[i] + " past the end, at " + i);
      }
    }
  }
}
