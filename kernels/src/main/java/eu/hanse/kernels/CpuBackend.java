package eu.hanse.kernels;

import static eu.hanse.kernels.Checks.nonNegative;
import static eu.hanse.kernels.Checks.requireIndices;
import static eu.hanse.kernels.Checks.requireLength;

import java.util.Arrays;

/**
 * {@link TensorBackend} in plain Java loops shaped for the JIT's auto-vectorizer.
 *
 * <p>Matrix multiplies of at least 2<sup>18</sup> multiply-adds, and element-wise operations over
 * at least 2<sup>16</sup> elements, are split across a fixed pool of {@code threads} daemon
 * threads named {@code hanse-kernels-N} while the caller waits; smaller ones run on the caller,
 * where the hand-off would cost more than it saves. With one thread no pool exists.
 *
 * <p>Not thread-safe: one caller thread at a time (the backend keeps per-thread matmul scratch, up
 * to 258 KiB per thread). Every output array is bit-identical for any thread count; only the
 * values returned by {@link #softmaxCrossEntropy}, {@link #dot}, {@link #l2Norm} and {@link
 * #clipByNorm} (and so the factor clipByNorm scales by) sum per-thread partial results, in a fixed
 * order, so they are reproducible for a given thread count.
 */
public final class CpuBackend implements TensorBackend {
  /** Element count from which element-wise operations use the pool. */
  static final int PARALLEL_ELEMENTS = 1 << 16;

  /** Multiply-add count ({@code m * n * k}) from which {@link #matmul} uses the pool. */
  static final long MATMUL_PARALLEL_WORK = 1 << 18;

  /** Floats per part boundary, one 64-byte cache line, so parts never write the same line. */
  private static final int LINE = 16;

  /** Elements per allFinite block: checked between blocks so a bad value stops the scan early. */
  private static final int FINITE_BLOCK = 1024;

  /** 1.5 * 2^23: see {@link #rounded}. */
  static final float ROUNDING = 12582912f;

  private final WorkerPool pool;
  private final Gemm.Scratch[] scratch;
  private volatile boolean closed;

  /**
   * A backend splitting large operations across {@code threads} threads.
   *
   * @throws IllegalArgumentException if {@code threads < 1}
   */
  public CpuBackend(int threads) {
    this.pool = new WorkerPool(threads);
    this.scratch = new Gemm.Scratch[threads];
  }

  @Override
  public String name() {
    int t = pool.threads();
    return "cpu (" + t + (t == 1 ? " thread)" : " threads)");
  }

  @Override
  public void matmul(
      float[] a,
      boolean transA,
      float[] b,
      boolean transB,
      float[] c,
      int m,
      int n,
      int k,
      boolean accumulate) {
    ensureOpen();
    Checks.matmul(a, b, c, m, n, k);
    if (m == 0 || n == 0) {
      return;
    }
    int threads = pool.threads();
    if (threads == 1 || (long) m * n * k < MATMUL_PARALLEL_WORK) {
      Gemm.compute(a, transA, b, transB, c, m, n, k, accumulate, 0, m, 0, n, scratch(0));
    } else if (m >= 4 * threads || n < 32 * threads) {
      pool.forEach(
          m,
          1,
          (part, from, to) ->
              Gemm.compute(
                  a, transA, b, transB, c, m, n, k, accumulate, from, to, 0, n,
                  scratch(part)));
    } else {
      // Too few rows to share out evenly (a batch of one, say): split the columns instead.
      pool.forEach(
          n,
          LINE,
          (part, from, to) ->
              Gemm.compute(
                  a, transA, b, transB, c, m, n, k, accumulate, 0, m, from, to,
                  scratch(part)));
    }
  }

  @Override
  public void addRowBias(float[] x, float[] bias, int rows, int cols) {
    ensureOpen();
    Checks.matrixAndRow(x, rows, cols, bias, "bias");
    WorkerPool.RangeTask task =
        (part, from, to) -> {
          for (int r = from; r < to; r++) {
            int base = r * cols;
            for (int col = 0; col < cols; col++) {
              x[base + col] += bias[col];
            }
          }
        };
    if (isLarge((long) rows * cols)) {
      pool.forEach(rows, 1, task);
    } else {
      task.run(0, 0, rows);
    }
  }

  @Override
  public void sumRows(float[] x, int rows, int cols, float[] out, boolean accumulate) {
    ensureOpen();
    Checks.matrixAndRow(x, rows, cols, out, "out");
    // Split by columns, not rows: each output element is then summed by one thread, in row order,
    // with no partial sums to combine.
    WorkerPool.RangeTask task =
        (part, from, to) -> {
          if (!accumulate) {
            Arrays.fill(out, from, to, 0f);
          }
          for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int col = from; col < to; col++) {
              out[col] += x[base + col];
            }
          }
        };
    if (isLarge((long) rows * cols)) {
      pool.forEach(cols, LINE, task);
    } else {
      task.run(0, 0, cols);
    }
  }

  @Override
  public void tanhForward(float[] x, float[] y, int n) {
    ensureOpen();
    Checks.vectors(n, x, "x", y, "y");
    elementwise(
        n,
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            y[i] = (float) Math.tanh(x[i]);
          }
        });
  }

  @Override
  public void tanhBackward(float[] y, float[] dy, float[] dx, int n) {
    ensureOpen();
    Checks.vectors(n, y, "y", dy, "dy");
    requireLength(dx, n, "dx");
    elementwise(
        n,
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            float yi = y[i];
            dx[i] = dy[i] * (1f - yi * yi);
          }
        });
  }

  @Override
  public double softmaxCrossEntropy(
      float[] logits, int[] targets, int rows, int classes, float[] grad, float gradScale) {
    ensureOpen();
    // Checked before any row is touched, so a bad batch leaves grad (possibly logits) intact.
    Checks.softmaxCrossEntropy(logits, targets, rows, classes, grad);
    WorkerPool.RangeSum rowsLoss =
        (from, to) -> {
          double loss = 0;
          for (int r = from; r < to; r++) {
            loss += softmaxRow(logits, targets[r], r * classes, classes, grad, gradScale);
          }
          return loss;
        };
    return isLarge((long) rows * classes) ? pool.sum(rows, 1, rowsLoss) : rowsLoss.sum(0, rows);
  }

  /** Loss of one row; writes its gradient when grad is non-null, reading each logit first. */
  private static double softmaxRow(
      float[] logits, int target, int base, int classes, float[] grad, float gradScale) {
    float max = logits[base];
    for (int col = 1; col < classes; col++) {
      max = Math.max(max, logits[base + col]);
    }
    double shiftedTarget = (double) logits[base + target] - max;
    double sum = 0;
    if (grad == null) {
      for (int col = 0; col < classes; col++) {
        sum += Math.exp((double) logits[base + col] - max);
      }
    } else {
      // Park each exponential in grad so the second pass need not recompute it; when grad is
      // logits this overwrites each logit only after reading it.
      for (int col = 0; col < classes; col++) {
        double e = Math.exp((double) logits[base + col] - max);
        sum += e;
        grad[base + col] = (float) e;
      }
      double scaleOverSum = gradScale / sum;
      for (int col = 0; col < classes; col++) {
        grad[base + col] = (float) (grad[base + col] * scaleOverSum);
      }
      grad[base + target] = (float) ((Math.exp(shiftedTarget) / sum - 1.0) * gradScale);
    }
    return Math.log(sum) - shiftedTarget;
  }

  @Override
  public void gatherRows(float[] table, int dim, int[] indices, int count, float[] out) {
    ensureOpen();
    requireIndices(indices, count, table, dim, "table");
    requireLength(out, (long) count * dim, "out");
    WorkerPool.RangeTask task =
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            System.arraycopy(table, indices[i] * dim, out, i * dim, dim);
          }
        };
    if (isLarge((long) count * dim)) {
      pool.forEach(count, 1, task);
    } else {
      task.run(0, 0, count);
    }
  }

  @Override
  public void scatterAddRows(
      float[] rowsGrad, int dim, int[] indices, int count, float[] tableGrad) {
    ensureOpen();
    requireIndices(indices, count, tableGrad, dim, "tableGrad");
    requireLength(rowsGrad, (long) count * dim, "rowsGrad");
    // Split by columns: repeated indices make different rows of rowsGrad land on the same table
    // row, which two threads must not update at once.
    WorkerPool.RangeTask task =
        (part, from, to) -> {
          for (int i = 0; i < count; i++) {
            int src = i * dim;
            int dst = indices[i] * dim;
            for (int d = from; d < to; d++) {
              tableGrad[dst + d] += rowsGrad[src + d];
            }
          }
        };
    if (isLarge((long) count * dim)) {
      pool.forEach(dim, LINE, task);
    } else {
      task.run(0, 0, dim);
    }
  }

  @Override
  public void adamW(
      float[] params,
      float[] grads,
      float[] m,
      float[] v,
      int n,
      long step,
      float lr,
      float beta1,
      float beta2,
      float eps,
      float weightDecay) {
    ensureOpen();
    nonNegative(n, "n");
    Checks.step(step);
    requireLength(params, n, "params");
    requireLength(grads, n, "grads");
    requireLength(m, n, "m");
    requireLength(v, n, "v");
    // Per-step constants in double, once; the per-element work stays in float so it vectorizes.
    float decay = (float) (1.0 - (double) lr * weightDecay);
    float oneMinusBeta1 = (float) (1.0 - beta1);
    float oneMinusBeta2 = (float) (1.0 - beta2);
    double correction1 = 1.0 - Math.pow(beta1, step);
    double correction2 = 1.0 - Math.pow(beta2, step);
    float stepSize = (float) (lr / correction1);
    float rootCorrection2 = (float) (1.0 / Math.sqrt(correction2));
    elementwise(
        n,
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            float g = grads[i];
            float mi = beta1 * m[i] + oneMinusBeta1 * g;
            float vi = beta2 * v[i] + oneMinusBeta2 * g * g;
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi) * rootCorrection2 + eps;
            params[i] = params[i] * decay - stepSize * mi / denom;
          }
        });
  }

  @Override
  public void axpy(float w, float[] x, float[] y, int n) {
    ensureOpen();
    Checks.vectors(n, x, "x", y, "y");
    elementwise(
        n,
        (part, from, to) -> Axpy.apply(w, x, from, y, from, to - from));
  }

  @Override
  public void scale(float[] x, float s, int n) {
    ensureOpen();
    Checks.vector(n, x, "x");
    elementwise(
        n,
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            x[i] *= s;
          }
        });
  }

  @Override
  public void difference(float[] a, float[] b, float[] out, int n) {
    ensureOpen();
    Checks.vectors(n, a, "a", b, "b");
    requireLength(out, n, "out");
    elementwise(
        n,
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            out[i] = a[i] - b[i];
          }
        });
  }

  @Override
  public double dot(float[] a, float[] b, int n) {
    ensureOpen();
    Checks.vectors(n, a, "a", b, "b");
    WorkerPool.RangeSum partial =
        (from, to) -> {
          // Four running sums break the add-latency chain; float products are exact in double.
          double s0 = 0;
          double s1 = 0;
          double s2 = 0;
          double s3 = 0;
          int i = from;
          for (; i + 4 <= to; i += 4) {
            s0 += (double) a[i] * b[i];
            s1 += (double) a[i + 1] * b[i + 1];
            s2 += (double) a[i + 2] * b[i + 2];
            s3 += (double) a[i + 3] * b[i + 3];
          }
          for (; i < to; i++) {
            s0 += (double) a[i] * b[i];
          }
          return (s0 + s1) + (s2 + s3);
        };
    return isLarge(n) ? pool.sum(n, LINE, partial) : partial.sum(0, n);
  }

  @Override
  public double l2Norm(float[] a, int n) {
    return Math.sqrt(dot(a, a, n));
  }

  @Override
  public boolean allFinite(float[] x, int n) {
    ensureOpen();
    Checks.vector(n, x, "x");
    WorkerPool.RangeSum nonFinite =
        (from, to) -> {
          for (int start = from; start < to; start += FINITE_BLOCK) {
            int end = Math.min(to, start + FINITE_BLOCK);
            // A branch-free max reduction vectorizes; Math.max carries NaN through and
            // infinities are the largest magnitudes, so one test per block suffices.
            float largest = 0f;
            for (int i = start; i < end; i++) {
              largest = Math.max(largest, Math.abs(x[i]));
            }
            if (!(largest <= Float.MAX_VALUE)) {
              return 1;
            }
          }
          return 0;
        };
    double bad = isLarge(n) ? pool.sum(n, LINE, nonFinite) : nonFinite.sum(0, n);
    return bad == 0;
  }

  @Override
  public void copy(float[] src, float[] dst, int n) {
    ensureOpen();
    Checks.vectors(n, src, "src", dst, "dst");
    elementwise(n, (part, from, to) -> System.arraycopy(src, from, dst, from, to - from));
  }

  @Override
  public double clipByNorm(float[] x, int n, double maxNorm) {
    ensureOpen();
    Checks.maxNorm(maxNorm);
    double norm = l2Norm(x, n);
    if (norm > maxNorm && norm <= Double.MAX_VALUE) {
      scale(x, (float) (maxNorm / norm), n);
    }
    return norm;
  }

  @Override
  public int quantizeInt8(float[] x, int n, int blockSize, byte[] q, float[] scales) {
    int blocks = blocks(n, blockSize, false);
    requireLength(x, n, "x");
    requireLength(q, n, "q");
    requireLength(scales, blocks, "scales");
    forBlocks(
        n,
        blocks,
        (part, fromBlock, toBlock) -> {
          if (Axpy.VECTOR_API) {
            VectorQuantizer.quantizeInt8(x, n, blockSize, fromBlock, toBlock, q, scales);
            return;
          }
          for (int b = fromBlock; b < toBlock; b++) {
            int from = b * blockSize;
            int to = Math.min(n, from + blockSize);
            float scale = plainMaxAbs(x, from, to) / 127f;
            scales[b] = scale;
            if (scale == 0f) {
              Arrays.fill(q, from, to, (byte) 0);
            } else {
              plainInt8Codes(x, from, to, scale, q);
            }
          }
        });
    return blocks;
  }

  @Override
  public void dequantizeInt8(byte[] q, float[] scales, int n, int blockSize, float[] out) {
    int blocks = blocks(n, blockSize, false);
    requireLength(q, n, "q");
    requireLength(scales, blocks, "scales");
    requireLength(out, n, "out");
    forBlocks(
        n,
        blocks,
        (part, fromBlock, toBlock) -> {
          for (int b = fromBlock; b < toBlock; b++) {
            int from = b * blockSize;
            int to = Math.min(n, from + blockSize);
            float scale = scales[b];
            for (int i = from; i < to; i++) {
              out[i] = q[i] * scale;
            }
          }
        });
  }

  @Override
  public int quantizeInt4(float[] x, int n, int blockSize, byte[] packed, float[] scales) {
    int blocks = blocks(n, blockSize, true);
    requireLength(x, n, "x");
    requireLength(packed, (n + 1L) / 2, "packed");
    requireLength(scales, blocks, "scales");
    forBlocks(
        n,
        blocks,
        (part, fromBlock, toBlock) -> {
          for (int b = fromBlock; b < toBlock; b++) {
            int from = b * blockSize;
            int to = Math.min(n, from + blockSize);
            float scale = maxAbs(x, from, to) / 7f;
            scales[b] = scale;
            // Blocks start at even indices, so pairs never straddle two blocks.
            int i = from;
            for (; i + 1 < to; i += 2) {
              int lo = code(x[i], scale, 7) + 8;
              int hi = code(x[i + 1], scale, 7) + 8;
              packed[i >> 1] = (byte) (lo | hi << 4);
            }
            if (i < to) {
              packed[i >> 1] = (byte) ((code(x[i], scale, 7) + 8) | 8 << 4);
            }
          }
        });
    return blocks;
  }

  @Override
  public void dequantizeInt4(byte[] packed, float[] scales, int n, int blockSize, float[] out) {
    int blocks = blocks(n, blockSize, true);
    requireLength(packed, (n + 1L) / 2, "packed");
    requireLength(scales, blocks, "scales");
    requireLength(out, n, "out");
    forBlocks(
        n,
        blocks,
        (part, fromBlock, toBlock) -> {
          for (int b = fromBlock; b < toBlock; b++) {
            int from = b * blockSize;
            int to = Math.min(n, from + blockSize);
            float scale = scales[b];
            int i = from;
            for (; i + 1 < to; i += 2) {
              int p = packed[i >> 1];
              out[i] = ((p & 15) - 8) * scale;
              out[i + 1] = (((p >> 4) & 15) - 8) * scale;
            }
            if (i < to) {
              out[i] = ((packed[i >> 1] & 15) - 8) * scale;
            }
          }
        });
  }

  /** The largest |x[i]| over {@code [from, to)}; a branch-free reduction that vectorizes. */
  private static float maxAbs(float[] x, int from, int to) {
    return Axpy.VECTOR_API
        ? VectorQuantizer.maxAbs(x, from, to)
        : plainMaxAbs(x, from, to);
  }

  /** {@link #maxAbs} without the Vector API. */
  static float plainMaxAbs(float[] x, int from, int to) {
    float largest = 0f;
    for (int i = from; i < to; i++) {
      largest = Math.max(largest, Math.abs(x[i]));
    }
    return largest;
  }

  /**
   * The int8 codes of {@code x[from, to)} for a nonzero scale, without the Vector API: float
   * arithmetic and one narrowing cast, which the JIT vectorizes on long blocks.
   */
  static void plainInt8Codes(float[] x, int from, int to, float scale, byte[] q) {
    for (int i = from; i < to; i++) {
      q[i] = (byte) rounded(x[i] / scale, 127f);
    }
  }

  /** The code of one value: {@link #rounded} as an int, 0 when the scale is 0. */
  private static int code(float v, float scale, int limit) {
    return scale == 0f ? 0 : (int) rounded(v / scale, limit);
  }

  /**
   * The quotient rounded to the nearest integer, halves to even, clamped to {@code [-limit,
   * limit]}. Adding and subtracting 1.5 * 2^23 rounds exactly so for every magnitude below 2^22
   * (larger ones are clamped anyway): the sum's unit in the last place is 1, and the float addition
   * rounds to nearest even. Both steps are plain float arithmetic the JIT vectorizes.
   */
  private static float rounded(float quotient, float limit) {
    float nearest = quotient + ROUNDING - ROUNDING;
    return Math.min(limit, Math.max(-limit, nearest));
  }

  /** Runs task over block numbers {@code [0, blocks)}, split across the pool when n is large. */
  private void forBlocks(int n, int blocks, WorkerPool.RangeTask task) {
    if (isLarge(n)) {
      pool.forEach(blocks, 1, task);
    } else {
      task.run(0, 0, blocks);
    }
  }

  /** Checks a quantizer's n and block size on an open backend; returns the number of blocks. */
  private int blocks(int n, int blockSize, boolean even) {
    ensureOpen();
    return Checks.blocks(n, blockSize, even);
  }

  @Override
  public int topK(float[] x, int n, int k, int[] indices) {
    ensureOpen();
    int m = Checks.topK(x, n, k, indices);
    if (m == n) {
      for (int i = 0; i < n; i++) {
        indices[i] = i;
      }
      return m;
    }
    int threads = pool.threads();
    if (!isLarge(n) || (long) m * 4 * threads > n) {
      int size = selectTop(x, null, 0, n, m, new int[m], indices);
      Arrays.sort(indices, 0, size);
      return m;
    }
    // Each part keeps the best m of its range; the best m overall are among those candidates.
    // The order is total, so the result does not depend on how the range was split.
    int[][] partTop = new int[threads][];
    int[] partSize = new int[threads];
    pool.forEach(
        n,
        LINE,
        (part, from, to) -> {
          int[] top = new int[m];
          int size = selectTop(x, null, from, to, m, new int[m], top);
          Arrays.sort(top, 0, size);
          partTop[part] = top;
          partSize[part] = size;
        });
    // Part numbers follow range order, so concatenating the sorted parts keeps indices ascending.
    int total = 0;
    for (int p = 0; p < threads; p++) {
      total += partSize[p];
    }
    int[] candidates = new int[total];
    int at = 0;
    for (int p = 0; p < threads; p++) {
      if (partSize[p] > 0) {
        System.arraycopy(partTop[p], 0, candidates, at, partSize[p]);
        at += partSize[p];
      }
    }
    int size = selectTop(x, candidates, 0, total, m, new int[m], indices);
    Arrays.sort(indices, 0, size);
    return m;
  }

  /**
   * Keeps the best {@code m} of a run of candidates in a heap whose root is the worst kept: the
   * candidates are indices {@code [from, to)} of x, or {@code candidates[from, to)} when that is
   * non-null, in ascending index order either way. A later candidate has a higher index than all
   * kept, so it displaces the root only when strictly larger in magnitude. Leaves the kept
   * indices, unordered, in {@code heapIndex[0, size)} and returns size, {@code min(m, to - from)}.
   */
  private static int selectTop(
      float[] x, int[] candidates, int from, int to, int m, int[] heapKey, int[] heapIndex) {
    if (m == 0) {
      return 0;
    }
    int size = 0;
    int c = from;
    for (; c < to && size < m; c++) {
      int index = candidates == null ? c : candidates[c];
      heapKey[size] = magnitudeKey(x[index]);
      heapIndex[size] = index;
      size++;
    }
    for (int i = size / 2 - 1; i >= 0; i--) {
      siftDown(heapKey, heapIndex, size, i, heapKey[i], heapIndex[i]);
    }
    int rootKey = heapKey[0];
    for (; c < to; c++) {
      int index = candidates == null ? c : candidates[c];
      int key = magnitudeKey(x[index]);
      if (key > rootKey) {
        siftDown(heapKey, heapIndex, size, 0, key, index);
        rootKey = heapKey[0];
      }
    }
    return size;
  }

  /** Places (key, index) at slot i or below, keeping every parent no better than its children. */
  private static void siftDown(
      int[] heapKey, int[] heapIndex, int size, int i, int key, int index) {
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size
          && worse(heapKey[child + 1], heapIndex[child + 1], heapKey[child], heapIndex[child])) {
        child++;
      }
      if (!worse(heapKey[child], heapIndex[child], key, index)) {
        break;
      }
      heapKey[i] = heapKey[child];
      heapIndex[i] = heapIndex[child];
      i = child;
    }
    heapKey[i] = key;
    heapIndex[i] = index;
  }

  /** Whether element a ranks below element b: smaller magnitude, or equal and a later index. */
  private static boolean worse(int keyA, int indexA, int keyB, int indexB) {
    return keyA < keyB || (keyA == keyB && indexA > indexB);
  }

  /**
   * |v| as an int ordered like the magnitudes: the bits of a non-negative float order as the
   * values do, -0 maps to +0, and the canonical NaN lands above infinity.
   */
  private static int magnitudeKey(float v) {
    return Float.floatToIntBits(v) & 0x7fffffff;
  }

  @Override
  public void median(float[][] inputs, int count, int n, float[] out) {
    ensureOpen();
    Checks.acrossInputs(inputs, count, n, out);
    int mid = count / 2;
    boolean even = count % 2 == 0;
    acrossInputs(
        inputs,
        count,
        n,
        (values, i) -> {
          out[i] = even ? (float) (((double) values[mid - 1] + values[mid]) * 0.5) : values[mid];
        });
  }

  @Override
  public void trimmedMean(float[][] inputs, int count, int n, int trim, float[] out) {
    ensureOpen();
    Checks.acrossInputs(inputs, count, n, out);
    Checks.trim(trim, count);
    int kept = count - 2 * trim;
    acrossInputs(
        inputs,
        count,
        n,
        (values, i) -> {
          double sum = 0;
          for (int j = trim; j < count - trim; j++) {
            sum += values[j];
          }
          out[i] = (float) (sum / kept);
        });
  }

  /** Receives the sorted values of element i across the inputs. */
  @FunctionalInterface
  private interface SortedColumn {
    void accept(float[] sorted, int i);
  }

  /**
   * For each {@code i < n}, sorts {@code inputs[j][i]} for {@code j < count} into a scratch array
   * of the part and hands it over; the scratch is allocated once per part, not per element.
   */
  private void acrossInputs(float[][] inputs, int count, int n, SortedColumn column) {
    elementwise(
        n,
        (part, from, to) -> {
          float[] values = new float[count];
          for (int i = from; i < to; i++) {
            for (int j = 0; j < count; j++) {
              values[j] = inputs[j][i];
            }
            Arrays.sort(values, 0, count);
            column.accept(values, i);
          }
        });
  }

  @Override
  public void nesterovStep(
      float[] theta, float[] delta, float[] velocity, int n, float lr, float momentum) {
    ensureOpen();
    Checks.vectors(n, theta, "theta", delta, "delta");
    requireLength(velocity, n, "velocity");
    elementwise(
        n,
        (part, from, to) -> {
          for (int i = from; i < to; i++) {
            float d = delta[i];
            float vi = momentum * velocity[i] + d;
            velocity[i] = vi;
            theta[i] -= lr * (d + momentum * vi);
          }
        });
  }

  @Override
  public void adamStep(
      float[] theta,
      float[] delta,
      float[] m,
      float[] v,
      int n,
      long step,
      float lr,
      float beta1,
      float beta2,
      float eps) {
    adamW(theta, delta, m, v, n, step, lr, beta1, beta2, eps, 0f);
  }

  @Override
  public void close() {
    closed = true;
    pool.close();
  }

  @Override
  public String toString() {
    return name();
  }

  private void elementwise(int n, WorkerPool.RangeTask task) {
    if (isLarge(n)) {
      pool.forEach(n, LINE, task);
    } else {
      task.run(0, 0, n);
    }
  }

  private boolean isLarge(long elements) {
    return elements >= PARALLEL_ELEMENTS && pool.threads() > 1;
  }

  /**
   * The matmul buffers of one part, allocated on first use and kept: a part number is used by one
   * thread at a time, and the pool's hand-over orders a later call's use after an earlier one's.
   */
  private Gemm.Scratch scratch(int part) {
    Gemm.Scratch s = scratch[part];
    if (s == null) {
      s = new Gemm.Scratch();
      scratch[part] = s;
    }
    return s;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(name() + " is closed");
    }
  }
}
