package eu.hanse.kernels;

/**
 * The numeric operations a training step needs, over plain {@code float[]} buffers.
 *
 * <p><b>Layout.</b> Every matrix is dense and row-major: element {@code (r, c)} of a matrix with
 * {@code cols} columns lives at index {@code r * cols + c}, starting at index 0 of its array. Sizes
 * are passed explicitly and arrays may be longer than the sizes require, so callers can reuse one
 * large buffer for differently shaped tensors; elements past the described extent are neither read
 * nor written. A vector of length {@code n} occupies indices {@code [0, n)}.
 *
 * <p><b>Aliasing.</b> Unless an operation says otherwise, an output array must not be the same
 * array as any input. Element-wise operations whose output has the same shape as an input say so
 * where in-place use is allowed.
 *
 * <p><b>Errors.</b> Negative sizes, arrays shorter than the sizes require, and the invalid values
 * an operation names are rejected with {@link IllegalArgumentException}; a rejected call writes
 * nothing. Row indices outside the table they select from are rejected the same way, but with
 * {@link IndexOutOfBoundsException}. Using a backend after {@link #close()} throws {@link
 * IllegalStateException}.
 *
 * <p><b>Threads.</b> A backend may use threads of its own inside a call, but it is not safe for
 * concurrent calls: one caller thread at a time, with the usual happens-before hand-over (for
 * example a lock or a queue) when the calling thread changes. Results are deterministic for a given
 * implementation and thread count.
 */
public interface TensorBackend extends AutoCloseable {

  /**
   * A backend running plain Java loops on {@code threads} threads.
   *
   * @param threads how many threads large operations are split across; 1 runs everything on the
   *     caller's thread and starts none
   * @throws IllegalArgumentException if {@code threads < 1}
   */
  static TensorBackend cpu(int threads) {
    return new CpuBackend(threads);
  }

  /** A short human-readable description for logs, for example {@code "cpu (2 threads)"}. */
  String name();

  /**
   * {@code C = op(A) * op(B)}, or {@code C += op(A) * op(B)} when {@code accumulate}.
   *
   * <p>{@code op(A)} is {@code m x k}: A is stored {@code m x k}, or {@code k x m} when {@code
   * transA}. {@code op(B)} is {@code k x n}: B is stored {@code k x n}, or {@code n x k} when
   * {@code transB}. C is stored {@code m x n}. Products are accumulated in {@code float}. C must
   * not alias A or B. When {@code accumulate} is false the previous contents of C are ignored, even
   * NaN.
   */
  void matmul(
      float[] a,
      boolean transA,
      float[] b,
      boolean transB,
      float[] c,
      int m,
      int n,
      int k,
      boolean accumulate);

  /** {@code x[r][c] += bias[c]} for the {@code rows x cols} matrix x and the length-cols bias. */
  void addRowBias(float[] x, float[] bias, int rows, int cols);

  /**
   * Column sums of the {@code rows x cols} matrix x: {@code out[c] = sum over r of x[r][c]}, added
   * to {@code out[c]} instead when {@code accumulate}. Sums are accumulated in {@code float}; out
   * must not alias x.
   */
  void sumRows(float[] x, int rows, int cols, float[] out, boolean accumulate);

  /** {@code y[i] = tanh(x[i])} for {@code i < n}; y may be the same array as x. */
  void tanhForward(float[] x, float[] y, int n);

  /**
   * Gradient through tanh given its output: {@code dx[i] = dy[i] * (1 - y[i] * y[i])}. dx may be
   * the same array as y or dy.
   */
  void tanhBackward(float[] y, float[] dy, float[] dx, int n);

  /**
   * Summed softmax cross-entropy of the {@code rows x classes} logits against one target class per
   * row.
   *
   * <p>Computed stably (each row is shifted by its maximum) and accumulated in {@code double}.
   * When {@code grad} is non-null it receives the {@code rows x classes} gradient of the returned
   * loss times {@code gradScale}: {@code (softmax(row) - onehot(target)) * gradScale}; pass {@code
   * 1f / rows} for the gradient of the mean. grad may be the same array as logits, which then is
   * overwritten.
   *
   * @param targets the class of each row, {@code targets[r]} for {@code r < rows}
   * @return the sum over rows of {@code -log softmax(logits[r])[targets[r]]}
   * @throws IllegalArgumentException if a target is outside {@code [0, classes)}; nothing is
   *     written then
   */
  double softmaxCrossEntropy(
      float[] logits, int[] targets, int rows, int classes, float[] grad, float gradScale);

  /**
   * Embedding lookup: row i of the {@code count x dim} matrix out is row {@code indices[i]} of the
   * row-major table with {@code dim} columns.
   */
  void gatherRows(float[] table, int dim, int[] indices, int count, float[] out);

  /**
   * Embedding gradient: row i of the {@code count x dim} matrix rowsGrad is added to row {@code
   * indices[i]} of tableGrad. Indices may repeat; repeated rows accumulate in order of i.
   */
  void scatterAddRows(float[] rowsGrad, int dim, int[] indices, int count, float[] tableGrad);

  /**
   * One AdamW step over the first n parameters, with PyTorch's semantics (decoupled weight decay,
   * bias-corrected moments, eps added after the square root). Updates params, m and v in place;
   * grads is only read.
   *
   * @param step the 1-based number of this step, used for bias correction
   * @throws IllegalArgumentException if {@code step < 1}
   */
  void adamW(
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
      float weightDecay);

  /** {@code y[i] += w * x[i]} for {@code i < n}. */
  void axpy(float w, float[] x, float[] y, int n);

  /** {@code x[i] *= s} for {@code i < n}. */
  void scale(float[] x, float s, int n);

  /** {@code out[i] = a[i] - b[i]} for {@code i < n}; out may be the same array as a or b. */
  void difference(float[] a, float[] b, float[] out, int n);

  /** The dot product of the first n elements, accumulated in {@code double}. */
  double dot(float[] a, float[] b, int n);

  /** The Euclidean norm of the first n elements, accumulated in {@code double}. */
  double l2Norm(float[] a, int n);

  /** Whether none of the first n elements is NaN or infinite. */
  boolean allFinite(float[] x, int n);

  /** {@code dst[i] = src[i]} for {@code i < n}; dst may be the same array as src. */
  void copy(float[] src, float[] dst, int n);

  /**
   * Clips the first n elements of x to Euclidean norm at most {@code maxNorm}: when their norm
   * exceeds {@code maxNorm} they are multiplied in place by {@code maxNorm / norm} (the factor
   * rounded to float once, so the new norm is {@code maxNorm} up to float rounding). A norm that is
   * not finite (x holds NaN or an infinity) leaves x unchanged.
   *
   * @return the norm before clipping, accumulated in {@code double} as by {@link #l2Norm}
   * @throws IllegalArgumentException if {@code maxNorm} is not positive (or is NaN)
   */
  double clipByNorm(float[] x, int n, double maxNorm);

  /**
   * Block-wise symmetric int8 quantization of the first n elements of x.
   *
   * <p>Block b covers {@code x[b * blockSize, min(n, (b + 1) * blockSize))}; the last block may be
   * shorter. Its scale is {@code scales[b] = max |x| / 127} over the block, divided in float, and 0
   * when that is 0 (an all-zero block, or one whose largest magnitude is too small for a nonzero
   * float scale). Each code is the float quotient {@code q[i] = x[i] / scale} rounded to the
   * nearest integer, halves to even (IEEE's default rounding, as {@code torch.round}), clamped to
   * {@code [-127, 127]}; 0 where the scale is 0. Codes are laid out like
   * x: {@code q[i]} for {@code i < n}. Inputs must be finite; codes for NaN or infinite elements
   * are unspecified.
   *
   * @return the number of blocks, {@code ceil(n / blockSize)}, which is how many scales are
   *     written
   * @throws IllegalArgumentException if {@code blockSize < 1}, or q or scales is too short
   */
  int quantizeInt8(float[] x, int n, int blockSize, byte[] q, float[] scales);

  /**
   * The inverse of {@link #quantizeInt8}: {@code out[i] = q[i] * scales[i / blockSize]} for {@code
   * i < n}, the product in float.
   *
   * @throws IllegalArgumentException if {@code blockSize < 1}, or an array is too short
   */
  void dequantizeInt8(byte[] q, float[] scales, int n, int blockSize, float[] out);

  /**
   * Block-wise symmetric int4 quantization of the first n elements of x, two codes per byte.
   *
   * <p>Blocks are as in {@link #quantizeInt8}, with {@code scales[b] = max |x| / 7} and values
   * rounded (halves to even) and clamped to {@code [-7, 7]}. Each value is stored as {@code
   * value + 8}, so in {@code [1, 15]} with 8 meaning zero: element {@code 2j} in the low nibble of
   * {@code packed[j]}, element {@code 2j + 1} in its high nibble. packed holds {@code ceil(n / 2)}
   * bytes; when n is odd the unused high nibble of the last byte is 8. blockSize must be even, so
   * that no byte holds elements of two blocks.
   *
   * @return the number of blocks, {@code ceil(n / blockSize)}
   * @throws IllegalArgumentException if {@code blockSize} is not positive and even, or packed or
   *     scales is too short
   */
  int quantizeInt4(float[] x, int n, int blockSize, byte[] packed, float[] scales);

  /**
   * The inverse of {@link #quantizeInt4}: {@code out[i] = (nibble(i) - 8) * scales[i /
   * blockSize]} for {@code i < n}, the product in float, where {@code nibble(i)} is the low nibble
   * of {@code packed[i / 2]} for even i and the high nibble for odd i. A nibble of 0, which {@link
   * #quantizeInt4} never writes, decodes as -8.
   *
   * @throws IllegalArgumentException if {@code blockSize} is not positive and even, or an array is
   *     too short
   */
  void dequantizeInt4(byte[] packed, float[] scales, int n, int blockSize, float[] out);

  /**
   * The indices of the k elements of x largest in magnitude {@code |x[i]|}, among the first n,
   * written to {@code indices[0, min(k, n))} in ascending index order. Equal magnitudes are ranked
   * by index, the lower first; +0 and -0 are equal, and NaN ranks above infinity, so it is never
   * silently dropped. Takes {@code O(n log k)} time.
   *
   * @return {@code min(k, n)}, the number of indices written
   * @throws IllegalArgumentException if {@code k < 0}, or indices is too short
   */
  int topK(float[] x, int n, int k, int[] indices);

  /**
   * Element-wise median of the first {@code count} arrays of inputs: {@code out[i]} is the median
   * of {@code inputs[j][i]} over {@code j < count}; for even count the mean of the two middle
   * values, computed in double and rounded once. Values are ordered as by {@link
   * java.util.Arrays#sort(float[])}, so NaN sorts above infinity. out may be one of the inputs.
   *
   * @throws IllegalArgumentException if {@code count < 1}, inputs holds fewer than count arrays,
   *     or an array is null or too short
   */
  void median(float[][] inputs, int count, int n, float[] out);

  /**
   * Element-wise trimmed mean of the first {@code count} arrays of inputs: for each i the {@code
   * trim} smallest and {@code trim} largest of {@code inputs[j][i]} over {@code j < count} are
   * dropped and the remaining {@code count - 2 trim} averaged, summed in double in ascending order
   * and rounded once. Values are ordered as in {@link #median}. out may be one of the inputs.
   *
   * @throws IllegalArgumentException if {@code trim < 0}, {@code 2 trim >= count}, inputs holds
   *     fewer than count arrays, or an array is null or too short
   */
  void trimmedMean(float[][] inputs, int count, int n, int trim, float[] out);

  /**
   * One outer Nesterov momentum step with the outer gradient delta, over the first n elements:
   * {@code velocity = momentum * velocity + delta}, then {@code theta -= lr * (delta + momentum *
   * velocity)} with the new velocity. Updates theta and velocity in place, in float; delta is only
   * read.
   */
  void nesterovStep(
      float[] theta, float[] delta, float[] velocity, int n, float lr, float momentum);

  /**
   * One outer Adam step with the outer gradient delta (FedOpt's server Adam): exactly {@link
   * #adamW} with weight decay 0. Updates theta, m and v in place; delta is only read.
   *
   * @param step the 1-based number of this outer step, used for bias correction
   * @throws IllegalArgumentException if {@code step < 1}
   */
  void adamStep(
      float[] theta,
      float[] delta,
      float[] m,
      float[] v,
      int n,
      long step,
      float lr,
      float beta1,
      float beta2,
      float eps);

  /** Releases the backend's threads. Idempotent; the backend is unusable afterwards. */
  @Override
  void close();
}
