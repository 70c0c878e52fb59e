package eu.hanse.kernels;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The {@link TensorBackend} operations as naive loops in {@code double}, written for obviousness
 * rather than speed, to check backends against. Inputs are never modified; results are fresh
 * arrays. Where a test needs an error bound, a {@code ...Magnitude} method gives the sum of the
 * absolute values of the terms that went into each result.
 */
final class ScalarReference {
  private ScalarReference() {}

  /** Element (r, c) of op(X), X stored row-major as rows x cols, or cols x rows when trans. */
  private static double at(float[] x, boolean trans, int r, int c, int rows, int cols) {
    return trans ? x[c * rows + r] : x[r * cols + c];
  }

  static double[] matmul(
      float[] a,
      boolean transA,
      float[] b,
      boolean transB,
      float[] c,
      int m,
      int n,
      int k,
      boolean accumulate) {
    double[] out = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double sum = accumulate ? c[i * n + j] : 0;
        for (int p = 0; p < k; p++) {
          sum += at(a, transA, i, p, m, k) * at(b, transB, p, j, k, n);
        }
        out[i * n + j] = sum;
      }
    }
    return out;
  }

  /** {@code |C0[i][j]| (if accumulating) + sum over p of |op(A)[i][p] * op(B)[p][j]|}. */
  static double[] matmulMagnitude(
      float[] a,
      boolean transA,
      float[] b,
      boolean transB,
      float[] c,
      int m,
      int n,
      int k,
      boolean accumulate) {
    double[] out = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double sum = accumulate ? Math.abs(c[i * n + j]) : 0;
        for (int p = 0; p < k; p++) {
          sum += Math.abs(at(a, transA, i, p, m, k) * at(b, transB, p, j, k, n));
        }
        out[i * n + j] = sum;
      }
    }
    return out;
  }

  static double[] addRowBias(float[] x, float[] bias, int rows, int cols) {
    double[] out = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        out[r * cols + c] = (double) x[r * cols + c] + bias[c];
      }
    }
    return out;
  }

  static double[] sumRows(float[] x, int rows, int cols, float[] out0, boolean accumulate) {
    double[] out = new double[cols];
    for (int c = 0; c < cols; c++) {
      double sum = accumulate ? out0[c] : 0;
      for (int r = 0; r < rows; r++) {
        sum += x[r * cols + c];
      }
      out[c] = sum;
    }
    return out;
  }

  static double[] sumRowsMagnitude(
      float[] x, int rows, int cols, float[] out0, boolean accumulate) {
    double[] out = new double[cols];
    for (int c = 0; c < cols; c++) {
      double sum = accumulate ? Math.abs(out0[c]) : 0;
      for (int r = 0; r < rows; r++) {
        sum += Math.abs(x[r * cols + c]);
      }
      out[c] = sum;
    }
    return out;
  }

  static double[] tanh(float[] x, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = Math.tanh(x[i]);
    }
    return out;
  }

  static double[] tanhBackward(float[] y, float[] dy, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = dy[i] * (1 - (double) y[i] * y[i]);
    }
    return out;
  }

  /** The row's softmax, shifted by the row maximum so large logits do not overflow. */
  static double[] softmax(float[] logits, int row, int classes) {
    double max = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < classes; c++) {
      max = Math.max(max, logits[row * classes + c]);
    }
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      sum += Math.exp(logits[row * classes + c] - max);
    }
    double[] p = new double[classes];
    for (int c = 0; c < classes; c++) {
      p[c] = Math.exp(logits[row * classes + c] - max) / sum;
    }
    return p;
  }

  /** Per-row losses {@code -log softmax(row)[target]}. */
  static double[] crossEntropyRows(float[] logits, int[] targets, int rows, int classes) {
    double[] out = new double[rows];
    for (int r = 0; r < rows; r++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, logits[r * classes + c]);
      }
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        sum += Math.exp(logits[r * classes + c] - max);
      }
      out[r] = Math.log(sum) - (logits[r * classes + targets[r]] - max);
    }
    return out;
  }

  static double[] crossEntropyGrad(
      float[] logits, int[] targets, int rows, int classes, double scale) {
    double[] out = new double[rows * classes];
    for (int r = 0; r < rows; r++) {
      double[] p = softmax(logits, r, classes);
      for (int c = 0; c < classes; c++) {
        out[r * classes + c] = (p[c] - (c == targets[r] ? 1 : 0)) * scale;
      }
    }
    return out;
  }

  static double[] gatherRows(float[] table, int dim, int[] indices, int count) {
    double[] out = new double[count * dim];
    for (int i = 0; i < count; i++) {
      for (int d = 0; d < dim; d++) {
        out[i * dim + d] = table[indices[i] * dim + d];
      }
    }
    return out;
  }

  /** The whole of tableGrad after the rows are added; elements no index selects are copied. */
  static double[] scatterAddRows(
      float[] rowsGrad, int dim, int[] indices, int count, float[] tableGrad) {
    double[] out = new double[tableGrad.length];
    for (int t = 0; t < tableGrad.length; t++) {
      out[t] = tableGrad[t];
    }
    for (int i = 0; i < count; i++) {
      for (int d = 0; d < dim; d++) {
        out[indices[i] * dim + d] += rowsGrad[i * dim + d];
      }
    }
    return out;
  }

  static double[] scatterAddRowsMagnitude(
      float[] rowsGrad, int dim, int[] indices, int count, float[] tableGrad) {
    double[] out = new double[tableGrad.length];
    for (int t = 0; t < tableGrad.length; t++) {
      out[t] = Math.abs(tableGrad[t]);
    }
    for (int i = 0; i < count; i++) {
      for (int d = 0; d < dim; d++) {
        out[indices[i] * dim + d] += Math.abs(rowsGrad[i * dim + d]);
      }
    }
    return out;
  }

  /** Parameters and moments after one AdamW step, in double. */
  record AdamState(double[] params, double[] m, double[] v) {}

  static AdamState adamW(
      float[] params,
      float[] grads,
      float[] m,
      float[] v,
      int n,
      long step,
      double lr,
      double beta1,
      double beta2,
      double eps,
      double weightDecay) {
    double[] p2 = new double[n];
    double[] m2 = new double[n];
    double[] v2 = new double[n];
    for (int i = 0; i < n; i++) {
      double p = params[i];
      double g = grads[i];
      p -= lr * weightDecay * p;
      m2[i] = beta1 * m[i] + (1 - beta1) * g;
      v2[i] = beta2 * v[i] + (1 - beta2) * g * g;
      double mHat = m2[i] / (1 - Math.pow(beta1, step));
      double vHat = v2[i] / (1 - Math.pow(beta2, step));
      p -= lr * mHat / (Math.sqrt(vHat) + eps);
      p2[i] = p;
    }
    return new AdamState(p2, m2, v2);
  }

  static double[] axpy(double w, float[] x, float[] y, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = y[i] + w * x[i];
    }
    return out;
  }

  static double[] scale(float[] x, double s, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = x[i] * s;
    }
    return out;
  }

  static double[] difference(float[] a, float[] b, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = (double) a[i] - b[i];
    }
    return out;
  }

  static double dot(float[] a, float[] b, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += (double) a[i] * b[i];
    }
    return sum;
  }

  static double dotMagnitude(float[] a, float[] b, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.abs((double) a[i] * b[i]);
    }
    return sum;
  }

  static double l2Norm(float[] a, int n) {
    return Math.sqrt(dot(a, a, n));
  }

  static boolean allFinite(float[] x, int n) {
    for (int i = 0; i < n; i++) {
      if (Float.isNaN(x[i]) || Float.isInfinite(x[i])) {
        return false;
      }
    }
    return true;
  }

  static double[] copy(float[] src, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = src[i];
    }
    return out;
  }

  /** x after clipping to norm maxNorm, in double: unchanged when its norm is at most maxNorm. */
  static double[] clipByNorm(float[] x, int n, double maxNorm) {
    double norm = l2Norm(x, n);
    double factor = norm > maxNorm ? maxNorm / norm : 1;
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = x[i] * factor;
    }
    return out;
  }

  /** Block-wise codes and their float scales. */
  record Quantized(int[] codes, float[] scales) {}

  /**
   * Symmetric block-wise quantization to {@code [-levels, levels]}: scale {@code max |x| / levels}
   * rounded to float, codes: the float quotient {@code x / scale} rounded exactly (halves to
   * even) and clamped; all codes 0 where the scale is 0.
   */
  static Quantized quantize(float[] x, int n, int blockSize, int levels) {
    int blocks = (n + blockSize - 1) / blockSize;
    int[] codes = new int[n];
    float[] scales = new float[blocks];
    for (int b = 0; b < blocks; b++) {
      int from = b * blockSize;
      int to = Math.min(n, from + blockSize);
      double max = 0;
      for (int i = from; i < to; i++) {
        max = Math.max(max, Math.abs((double) x[i]));
      }
      float scale = (float) (max / levels);
      scales[b] = scale;
      for (int i = from; i < to; i++) {
        if (scale == 0) {
          codes[i] = 0;
          continue;
        }
        int q = new BigDecimal(x[i] / scale).setScale(0, RoundingMode.HALF_EVEN).intValueExact();
        codes[i] = Math.max(-levels, Math.min(levels, q));
      }
    }
    return new Quantized(codes, scales);
  }

  static double[] dequantize(int[] codes, float[] scales, int n, int blockSize) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = (double) codes[i] * scales[i / blockSize];
    }
    return out;
  }

  /** int4 codes packed two per byte as {@code code + 8}, even index low; a lone last high is 8. */
  static byte[] packInt4(int[] codes, int n) {
    byte[] packed = new byte[(n + 1) / 2];
    for (int i = 0; i < n; i += 2) {
      int lo = codes[i] + 8;
      int hi = i + 1 < n ? codes[i + 1] + 8 : 8;
      packed[i / 2] = (byte) (lo + 16 * hi);
    }
    return packed;
  }

  /**
   * The top k by magnitude via a full sort: indices ordered by descending |x| (NaN first, as the
   * largest), ties by ascending index; the first min(k, n) of them, sorted ascending.
   */
  static int[] topK(float[] x, int n, int k) {
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(
        order,
        Comparator.comparing((Integer i) -> Math.abs(x[i]), Float::compare)
            .reversed()
            .thenComparing(i -> i));
    int m = Math.min(k, n);
    int[] top = new int[m];
    for (int i = 0; i < m; i++) {
      top[i] = order[i];
    }
    Arrays.sort(top);
    return top;
  }

  /** The sorted values of element i across the first count inputs. */
  private static double[] column(float[][] inputs, int count, int i) {
    double[] values = new double[count];
    for (int j = 0; j < count; j++) {
      values[j] = inputs[j][i];
    }
    Arrays.sort(values);
    return values;
  }

  static double[] median(float[][] inputs, int count, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      double[] values = column(inputs, count, i);
      out[i] =
          count % 2 == 1
              ? values[count / 2]
              : (values[count / 2 - 1] + values[count / 2]) / 2;
    }
    return out;
  }

  static double[] trimmedMean(float[][] inputs, int count, int n, int trim) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      double[] values = column(inputs, count, i);
      double sum = 0;
      for (int j = trim; j < count - trim; j++) {
        sum += values[j];
      }
      out[i] = sum / (count - 2 * trim);
    }
    return out;
  }

  /** Parameters and velocity after one Nesterov step, in double. */
  record NesterovState(double[] theta, double[] velocity) {}

  static NesterovState nesterov(
      float[] theta, float[] delta, float[] velocity, int n, double lr, double momentum) {
    double[] t2 = new double[n];
    double[] v2 = new double[n];
    for (int i = 0; i < n; i++) {
      v2[i] = momentum * velocity[i] + delta[i];
      t2[i] = theta[i] - lr * (delta[i] + momentum * v2[i]);
    }
    return new NesterovState(t2, v2);
  }
}
