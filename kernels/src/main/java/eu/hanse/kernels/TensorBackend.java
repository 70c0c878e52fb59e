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

  /** Releases the backend's threads. Idempotent; the backend is unusable afterwards. */
  @Override
  void close();
}
