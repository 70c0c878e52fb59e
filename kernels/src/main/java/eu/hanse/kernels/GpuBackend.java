package eu.hanse.kernels;

import static eu.hanse.kernels.Checks.nonNegative;
import static eu.hanse.kernels.Checks.requireIndices;
import static eu.hanse.kernels.Checks.requireLength;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * The operations on a CUDA GPU, with Hanse's own kernels ({@code kernels/src/main/cuda}) loaded as
 * PTX through the JCuda driver API.
 *
 * <p>The interface takes host arrays, so each call copies its inputs to device memory, runs the
 * kernels there and copies its outputs back. Device memory is a handful of buffers kept between
 * calls and grown on demand, so a training step allocates nothing once warm. The device-side
 * entry points ({@code launch...}) are what {@link GpuKernelBenchmark} measures without the
 * copies.
 *
 * <p>Results follow the CPU backend's order of float operations where it fixes one (AdamW, the
 * Nesterov step, softmax gradients, column sums, scatter-add, median and trimmed mean of up to 64
 * inputs), rounding each product and sum as Java does (the PTX is built without fused
 * multiply-adds); reductions (dot, norms, softmax sums) and the matrix multiply add in a different
 * order, and the tests state the tolerance.
 */
public final class GpuBackend implements TensorBackend {
  private static final int THREADS = 256;
  private static final int MAX_GRID = 65_535;
  private static final int DOT_BLOCKS = 1024;
  private static final int TOPK_CHUNK = 4096;
  private static final int SOFTMAX_THREADS = 128;
  private static final int GEMM_TILE = 64;

  private final CudaDevice device;
  private final DeviceBuffer[] buffers = new DeviceBuffer[6];
  private boolean closed;

  private GpuBackend(CudaDevice device) {
    this.device = device;
    for (int i = 0; i < buffers.length; i++) {
      buffers[i] = new DeviceBuffer();
    }
  }

  /**
   * The first CUDA device with Hanse's kernels loaded.
   *
   * @throws IllegalStateException saying why when there is no usable GPU (no driver library, no
   *     device, or a driver too old for the PTX)
   */
  public static GpuBackend open() {
    return new GpuBackend(CudaDevice.open());
  }

  /** Whether a GPU is usable here, and its name or the reason it is not; probed once. */
  public static String probe() {
    CudaDevice.Probe probe = CudaDevice.probe();
    return (probe.available() ? "gpu: " : "no gpu: ") + probe.detail();
  }

  /** Whether {@link #open()} can find a device at all (the driver loads and reports one). */
  public static boolean available() {
    return CudaDevice.probe().available();
  }

  @Override
  public String name() {
    return "gpu (" + device.name() + ")";
  }

  // ---- Training ---------------------------------------------------------------------------------

  @Override
  public void matmul(
      float[] a, boolean transA, float[] b, boolean transB, float[] c, int m, int n, int k,
      boolean accumulate) {
    begin();
    Checks.matmul(a, b, c, m, n, k);
    if (m == 0 || n == 0) {
      return;
    }
    long mn = (long) m * n;
    CUdeviceptr da = upload(0, a, (long) m * k);
    CUdeviceptr db = upload(1, b, (long) k * n);
    CUdeviceptr dc = accumulate ? upload(2, c, mn) : space(2, 4 * mn);
    launchMatmul(da, transA, db, transB, dc, m, n, k, accumulate);
    download(dc, c, mn);
  }

  void launchMatmul(
      CUdeviceptr a, boolean transA, CUdeviceptr b, boolean transB, CUdeviceptr c, int m, int n,
      int k, boolean accumulate) {
    device.launch(
        "hanse_sgemm", ceil(n, GEMM_TILE), Math.min(MAX_GRID, ceil(m, GEMM_TILE)), THREADS, 0,
        m, n, k, a, flag(transA), b, flag(transB), c, flag(accumulate));
  }

  @Override
  public void addRowBias(float[] x, float[] bias, int rows, int cols) {
    begin();
    Checks.matrixAndRow(x, rows, cols, bias, "bias");
    long total = (long) rows * cols;
    if (total == 0) {
      return;
    }
    CUdeviceptr dx = upload(0, x, total);
    CUdeviceptr dbias = upload(1, bias, cols);
    device.launch("hanse_add_row_bias", grid(total), 1, THREADS, 0, rows, cols, dx, dbias);
    download(dx, x, total);
  }

  @Override
  public void sumRows(float[] x, int rows, int cols, float[] out, boolean accumulate) {
    begin();
    Checks.matrixAndRow(x, rows, cols, out, "out");
    if (cols == 0) {
      return;
    }
    CUdeviceptr dx = upload(0, x, (long) rows * cols);
    CUdeviceptr dout = accumulate ? upload(1, out, cols) : space(1, 4L * cols);
    device.launch("hanse_sum_rows", grid(cols), 1, THREADS, 0, rows, cols, dx, dout, flag(accumulate));
    download(dout, out, cols);
  }

  @Override
  public void tanhForward(float[] x, float[] y, int n) {
    begin();
    Checks.vectors(n, x, "x", y, "y");
    if (n == 0) {
      return;
    }
    CUdeviceptr dx = upload(0, x, n);
    device.launch("hanse_tanh_forward", grid(n), 1, THREADS, 0, n, dx, dx);
    download(dx, y, n);
  }

  @Override
  public void tanhBackward(float[] y, float[] dy, float[] dx, int n) {
    begin();
    Checks.vectors(n, y, "y", dy, "dy");
    requireLength(dx, n, "dx");
    if (n == 0) {
      return;
    }
    CUdeviceptr dY = upload(0, y, n);
    CUdeviceptr dDy = upload(1, dy, n);
    device.launch("hanse_tanh_backward", grid(n), 1, THREADS, 0, n, dY, dDy, dDy);
    download(dDy, dx, n);
  }

  @Override
  public double softmaxCrossEntropy(
      float[] logits, int[] targets, int rows, int classes, float[] grad, float gradScale) {
    begin();
    Checks.softmaxCrossEntropy(logits, targets, rows, classes, grad);
    if (rows == 0) {
      return 0;
    }
    long total = (long) rows * classes;
    CUdeviceptr dlogits = upload(0, logits, total);
    CUdeviceptr dtargets = upload(1, targets, rows);
    CUdeviceptr dgrad = grad == null ? new CUdeviceptr() : dlogits;
    CUdeviceptr dloss = space(2, 8L * rows);
    device.launch(
        "hanse_softmax_xent", rows, 1, SOFTMAX_THREADS, SOFTMAX_THREADS * Double.BYTES,
        rows, classes, dlogits, dtargets, dgrad, gradScale, dloss);
    double[] losses = new double[rows];
    cuMemcpyDtoH(Pointer.to(losses), dloss, 8L * rows);
    if (grad != null) {
      download(dlogits, grad, total);
    }
    double loss = 0;
    for (double rowLoss : losses) {
      loss += rowLoss;
    }
    return loss;
  }

  @Override
  public void gatherRows(float[] table, int dim, int[] indices, int count, float[] out) {
    begin();
    requireIndices(indices, count, table, dim, "table");
    requireLength(out, (long) count * dim, "out");
    long total = (long) count * dim;
    if (total == 0) {
      return;
    }
    CUdeviceptr dtable = upload(0, table, (long) (table.length / dim) * dim);
    CUdeviceptr dindices = upload(1, indices, count);
    CUdeviceptr dout = space(2, 4 * total);
    device.launch("hanse_gather_rows", grid(total), 1, THREADS, 0, count, dim, dtable, dindices, dout);
    download(dout, out, total);
  }

  @Override
  public void scatterAddRows(float[] rowsGrad, int dim, int[] indices, int count, float[] tableGrad) {
    begin();
    requireIndices(indices, count, tableGrad, dim, "tableGrad");
    requireLength(rowsGrad, (long) count * dim, "rowsGrad");
    if ((long) count * dim == 0) {
      return;
    }
    long tableElements = (long) (tableGrad.length / dim) * dim;
    CUdeviceptr drows = upload(0, rowsGrad, (long) count * dim);
    CUdeviceptr dindices = upload(1, indices, count);
    CUdeviceptr dtable = upload(2, tableGrad, tableElements);
    device.launch("hanse_scatter_add_rows", grid(dim), 1, THREADS, 0, count, dim, drows, dindices, dtable);
    download(dtable, tableGrad, tableElements);
  }

  @Override
  public void adamW(
      float[] params, float[] grads, float[] m, float[] v, int n, long step, float lr,
      float beta1, float beta2, float eps, float weightDecay) {
    begin();
    Checks.step(step);
    Checks.vectors(n, params, "params", grads, "grads");
    Checks.vectors(n, m, "m", v, "v");
    if (n == 0) {
      return;
    }
    CUdeviceptr dp = upload(0, params, n);
    CUdeviceptr dg = upload(1, grads, n);
    CUdeviceptr dm = upload(2, m, n);
    CUdeviceptr dv = upload(3, v, n);
    launchAdamW(dp, dg, dm, dv, n, step, lr, beta1, beta2, eps, weightDecay);
    download(dp, params, n);
    download(dm, m, n);
    download(dv, v, n);
  }

  /** The CPU backend's per-step constants, in double once, then the element-wise kernel. */
  void launchAdamW(
      CUdeviceptr p, CUdeviceptr g, CUdeviceptr m, CUdeviceptr v, int n, long step, float lr,
      float beta1, float beta2, float eps, float weightDecay) {
    float decay = (float) (1.0 - (double) lr * weightDecay);
    float stepSize = (float) (lr / (1.0 - Math.pow(beta1, step)));
    float rootCorrection2 = (float) (1.0 / Math.sqrt(1.0 - Math.pow(beta2, step)));
    device.launch(
        "hanse_adamw", grid(n), 1, THREADS, 0,
        n, beta1, beta2, (float) (1.0 - beta1), (float) (1.0 - beta2), decay, stepSize,
        rootCorrection2, eps, p, g, m, v);
  }

  // ---- Aggregation ------------------------------------------------------------------------------

  @Override
  public void axpy(float w, float[] x, float[] y, int n) {
    begin();
    Checks.vectors(n, x, "x", y, "y");
    if (n == 0) {
      return;
    }
    CUdeviceptr dx = upload(0, x, n);
    CUdeviceptr dy = upload(1, y, n);
    launchAxpy(w, dx, dy, n);
    download(dy, y, n);
  }

  void launchAxpy(float w, CUdeviceptr x, CUdeviceptr y, int n) {
    device.launch("hanse_axpy", grid(n), 1, THREADS, 0, n, w, x, y);
  }

  @Override
  public void scale(float[] x, float s, int n) {
    begin();
    Checks.vector(n, x, "x");
    if (n == 0) {
      return;
    }
    CUdeviceptr dx = upload(0, x, n);
    launchScale(dx, s, n);
    download(dx, x, n);
  }

  void launchScale(CUdeviceptr x, float s, int n) {
    device.launch("hanse_scale", grid(n), 1, THREADS, 0, n, s, x);
  }

  @Override
  public void difference(float[] a, float[] b, float[] out, int n) {
    begin();
    Checks.vectors(n, a, "a", b, "b");
    requireLength(out, n, "out");
    if (n == 0) {
      return;
    }
    CUdeviceptr da = upload(0, a, n);
    CUdeviceptr db = upload(1, b, n);
    launchDifference(da, db, da, n);
    download(da, out, n);
  }

  void launchDifference(CUdeviceptr a, CUdeviceptr b, CUdeviceptr out, int n) {
    device.launch("hanse_difference", grid(n), 1, THREADS, 0, n, a, b, out);
  }

  @Override
  public double dot(float[] a, float[] b, int n) {
    begin();
    Checks.vectors(n, a, "a", b, "b");
    if (n == 0) {
      return 0;
    }
    return launchDot(upload(0, a, n), upload(1, b, n), n);
  }

  /** The dot product of two device vectors: per-block partial sums in double, added here. */
  double launchDot(CUdeviceptr a, CUdeviceptr b, int n) {
    int blocks = Math.min(DOT_BLOCKS, ceil(n, THREADS));
    CUdeviceptr partials = space(5, 8L * blocks);
    device.launch("hanse_dot", blocks, 1, THREADS, THREADS * Double.BYTES, n, a, b, partials);
    double[] sums = new double[blocks];
    cuMemcpyDtoH(Pointer.to(sums), partials, 8L * blocks);
    double total = 0;
    for (double sum : sums) {
      total += sum;
    }
    return total;
  }

  @Override
  public double l2Norm(float[] a, int n) {
    return Math.sqrt(dot(a, a, n));
  }

  @Override
  public boolean allFinite(float[] x, int n) {
    begin();
    Checks.vector(n, x, "x");
    if (n == 0) {
      return true;
    }
    CUdeviceptr dx = upload(0, x, n);
    CUdeviceptr bad = space(5, Integer.BYTES);
    cuMemsetD32(bad, 0, 1);
    device.launch("hanse_any_non_finite", grid(n), 1, THREADS, 0, n, dx, bad);
    int[] flag = new int[1];
    cuMemcpyDtoH(Pointer.to(flag), bad, Integer.BYTES);
    return flag[0] == 0;
  }

  /** A plain host copy: the arrays live on the host, so a trip to the device would only cost. */
  @Override
  public void copy(float[] src, float[] dst, int n) {
    begin();
    Checks.vectors(n, src, "src", dst, "dst");
    System.arraycopy(src, 0, dst, 0, n);
  }

  @Override
  public double clipByNorm(float[] x, int n, double maxNorm) {
    begin();
    Checks.maxNorm(maxNorm);
    Checks.vector(n, x, "x");
    if (n == 0) {
      return 0;
    }
    CUdeviceptr dx = upload(0, x, n);
    double norm = Math.sqrt(launchDot(dx, dx, n));
    if (norm > maxNorm && norm <= Double.MAX_VALUE) {
      launchScale(dx, (float) (maxNorm / norm), n);
      download(dx, x, n);
    }
    return norm;
  }

  @Override
  public int quantizeInt8(float[] x, int n, int blockSize, byte[] q, float[] scales) {
    begin();
    int blocks = Checks.blocks(n, blockSize, false);
    requireLength(x, n, "x");
    requireLength(q, n, "q");
    requireLength(scales, blocks, "scales");
    if (n == 0) {
      return 0;
    }
    CUdeviceptr dx = upload(0, x, n);
    CUdeviceptr dq = space(1, n);
    CUdeviceptr dscales = space(2, 4L * blocks);
    launchQuantize("hanse_quantize_int8", dx, n, blockSize, blocks, dq, dscales);
    cuMemcpyDtoH(Pointer.to(q), dq, n);
    download(dscales, scales, blocks);
    return blocks;
  }

  void launchQuantize(
      String kernel, CUdeviceptr x, int n, int blockSize, int blocks, CUdeviceptr codes,
      CUdeviceptr scales) {
    device.launch(kernel, blocks, 1, THREADS, THREADS * Float.BYTES, n, blockSize, x, codes, scales);
  }

  @Override
  public void dequantizeInt8(byte[] q, float[] scales, int n, int blockSize, float[] out) {
    begin();
    int blocks = Checks.blocks(n, blockSize, false);
    requireLength(q, n, "q");
    requireLength(scales, blocks, "scales");
    requireLength(out, n, "out");
    dequantize("hanse_dequantize_int8", q, n, scales, n, blockSize, blocks, out);
  }

  @Override
  public int quantizeInt4(float[] x, int n, int blockSize, byte[] packed, float[] scales) {
    begin();
    int blocks = Checks.blocks(n, blockSize, true);
    long bytes = (n + 1L) / 2;
    requireLength(x, n, "x");
    requireLength(packed, bytes, "packed");
    requireLength(scales, blocks, "scales");
    if (n == 0) {
      return 0;
    }
    CUdeviceptr dx = upload(0, x, n);
    CUdeviceptr dpacked = space(1, bytes);
    CUdeviceptr dscales = space(2, 4L * blocks);
    launchQuantize("hanse_quantize_int4", dx, n, blockSize, blocks, dpacked, dscales);
    cuMemcpyDtoH(Pointer.to(packed), dpacked, bytes);
    download(dscales, scales, blocks);
    return blocks;
  }

  @Override
  public void dequantizeInt4(byte[] packed, float[] scales, int n, int blockSize, float[] out) {
    begin();
    int blocks = Checks.blocks(n, blockSize, true);
    long bytes = (n + 1L) / 2;
    requireLength(packed, bytes, "packed");
    requireLength(scales, blocks, "scales");
    requireLength(out, n, "out");
    dequantize("hanse_dequantize_int4", packed, bytes, scales, n, blockSize, blocks, out);
  }

  private void dequantize(
      String kernel, byte[] codes, long codeBytes, float[] scales, int n, int blockSize,
      int blocks, float[] out) {
    if (n == 0) {
      return;
    }
    CUdeviceptr dcodes = space(0, codeBytes);
    cuMemcpyHtoD(dcodes, Pointer.to(codes), codeBytes);
    CUdeviceptr dscales = upload(1, scales, blocks);
    CUdeviceptr dout = space(2, 4L * n);
    launchDequantize(kernel, dcodes, dscales, n, blockSize, dout);
    download(dout, out, n);
  }

  void launchDequantize(
      String kernel, CUdeviceptr codes, CUdeviceptr scales, int n, int blockSize, CUdeviceptr out) {
    device.launch(kernel, grid(n), 1, THREADS, 0, n, blockSize, codes, scales, out);
  }

  // ---- Order statistics -------------------------------------------------------------------------

  /**
   * Radix select of the m-th largest magnitude key (four 8-bit passes of a histogram), then an
   * ordered compaction: chunks count their keys above and at the threshold, the host decides how
   * many threshold keys each chunk keeps (the lowest indices first) and where it writes, and each
   * chunk writes its indices in order.
   */
  @Override
  public int topK(float[] x, int n, int k, int[] indices) {
    begin();
    int m = Checks.topK(x, n, k, indices);
    if (m == n) {
      for (int i = 0; i < n; i++) {
        indices[i] = i;
      }
      return m;
    }
    if (m == 0) {
      return 0;
    }
    CUdeviceptr dx = upload(0, x, n);
    CUdeviceptr histogram = space(1, 256L * Integer.BYTES);
    int prefix = 0;
    int mask = 0;
    long remaining = m;
    int[] counts = new int[256];
    for (int shift = 24; shift >= 0; shift -= 8) {
      cuMemsetD32(histogram, 0, 256);
      device.launch(
          "hanse_topk_histogram", Math.min(grid(n), 1024), 1, THREADS, 0,
          n, dx, prefix, mask, shift, histogram);
      cuMemcpyDtoH(Pointer.to(counts), histogram, 256L * Integer.BYTES);
      int digit = 255;
      while (counts[digit] < remaining) {
        remaining -= counts[digit];
        digit--;
      }
      prefix |= digit << shift;
      mask |= 0xff << shift;
    }
    int chunks = ceil(n, TOPK_CHUNK);
    CUdeviceptr greater = space(2, 4L * chunks);
    CUdeviceptr equal = space(3, 4L * chunks);
    device.launch("hanse_topk_count", chunks, 1, THREADS, 0, n, TOPK_CHUNK, dx, prefix, greater, equal);
    int[] above = new int[chunks];
    int[] same = new int[chunks];
    cuMemcpyDtoH(Pointer.to(above), greater, 4L * chunks);
    cuMemcpyDtoH(Pointer.to(same), equal, 4L * chunks);
    int[] offsets = new int[chunks];
    int[] takeEqual = new int[chunks];
    long equalLeft = remaining;
    int written = 0;
    for (int c = 0; c < chunks; c++) {
      takeEqual[c] = (int) Math.min(same[c], equalLeft);
      equalLeft -= takeEqual[c];
      offsets[c] = written;
      written += above[c] + takeEqual[c];
    }
    cuMemcpyHtoD(greater, Pointer.to(offsets), 4L * chunks);
    cuMemcpyHtoD(equal, Pointer.to(takeEqual), 4L * chunks);
    CUdeviceptr out = space(4, 4L * m);
    device.launch(
        "hanse_topk_write", chunks, 1, THREADS, THREADS * Integer.BYTES,
        n, TOPK_CHUNK, dx, prefix, greater, equal, out);
    cuMemcpyDtoH(Pointer.to(indices), out, 4L * m);
    return m;
  }

  @Override
  public void median(float[][] inputs, int count, int n, float[] out) {
    begin();
    Checks.acrossInputs(inputs, count, n, out);
    orderStatistic(inputs, count, n, -1, out);
  }

  @Override
  public void trimmedMean(float[][] inputs, int count, int n, int trim, float[] out) {
    begin();
    Checks.acrossInputs(inputs, count, n, out);
    Checks.trim(trim, count);
    orderStatistic(inputs, count, n, trim, out);
  }

  private void orderStatistic(float[][] inputs, int count, int n, int trim, float[] out) {
    if (n == 0) {
      return;
    }
    long rowBytes = 4L * n;
    CUdeviceptr stacked = space(0, rowBytes * count);
    for (int j = 0; j < count; j++) {
      cuMemcpyHtoD(stacked.withByteOffset(rowBytes * j), Pointer.to(inputs[j]), rowBytes);
    }
    CUdeviceptr dout = space(1, rowBytes);
    device.launch("hanse_order_statistic", grid(n), 1, THREADS, 0, count, n, trim, stacked, dout);
    download(dout, out, n);
  }

  // ---- Outer optimizers -------------------------------------------------------------------------

  @Override
  public void nesterovStep(
      float[] theta, float[] delta, float[] velocity, int n, float lr, float momentum) {
    begin();
    Checks.vectors(n, theta, "theta", delta, "delta");
    requireLength(velocity, n, "velocity");
    if (n == 0) {
      return;
    }
    CUdeviceptr dtheta = upload(0, theta, n);
    CUdeviceptr ddelta = upload(1, delta, n);
    CUdeviceptr dvelocity = upload(2, velocity, n);
    launchNesterov(dtheta, ddelta, dvelocity, n, lr, momentum);
    download(dtheta, theta, n);
    download(dvelocity, velocity, n);
  }

  void launchNesterov(
      CUdeviceptr theta, CUdeviceptr delta, CUdeviceptr velocity, int n, float lr, float momentum) {
    device.launch("hanse_nesterov_step", grid(n), 1, THREADS, 0, n, lr, momentum, theta, delta, velocity);
  }

  @Override
  public void adamStep(
      float[] theta, float[] delta, float[] m, float[] v, int n, long step, float lr, float beta1,
      float beta2, float eps) {
    adamW(theta, delta, m, v, n, step, lr, beta1, beta2, eps, 0f);
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    device.bind();
    for (DeviceBuffer buffer : buffers) {
      buffer.release(device);
    }
    device.close();
  }

  @Override
  public String toString() {
    return name();
  }

  // ---- Device memory ----------------------------------------------------------------------------

  /** Checks the backend is open and makes its context current on this thread. */
  private void begin() {
    if (closed) {
      throw new IllegalStateException(name() + " is closed");
    }
    device.bind();
  }

  /** Buffer {@code slot}, holding at least {@code bytes}. */
  CUdeviceptr space(int slot, long bytes) {
    return buffers[slot].reserve(device, bytes);
  }

  private CUdeviceptr upload(int slot, float[] host, long elements) {
    CUdeviceptr target = space(slot, 4 * elements);
    if (elements > 0) {
      cuMemcpyHtoD(target, Pointer.to(host), 4 * elements);
    }
    return target;
  }

  private CUdeviceptr upload(int slot, int[] host, long elements) {
    CUdeviceptr target = space(slot, 4 * elements);
    if (elements > 0) {
      cuMemcpyHtoD(target, Pointer.to(host), 4 * elements);
    }
    return target;
  }

  private static void download(CUdeviceptr source, float[] host, long elements) {
    cuMemcpyDtoH(Pointer.to(host), source, 4 * elements);
  }

  CudaDevice device() {
    return device;
  }

  private static int grid(long elements) {
    return (int) Math.max(1, Math.min(MAX_GRID, (elements + THREADS - 1) / THREADS));
  }

  private static int ceil(long value, int unit) {
    return (int) ((value + unit - 1) / unit);
  }

  private static int flag(boolean value) {
    return value ? 1 : 0;
  }

  /** A device allocation that grows, never shrinks, and is reused between calls. */
  private static final class DeviceBuffer {
    private CUdeviceptr pointer;
    private long capacity;

    /**
     * Room for {@code bytes}: twice the old capacity when that fits, else exactly {@code bytes};
     * the capacity changes only once an allocation succeeded, so a failed one leaves it usable.
     */
    CUdeviceptr reserve(CudaDevice device, long bytes) {
      if (pointer == null || capacity < bytes) {
        release(device);
        long grown = Math.max(bytes, capacity * 2);
        CUdeviceptr allocated;
        try {
          allocated = device.allocate(grown);
        } catch (RuntimeException e) {
          if (grown == bytes) {
            throw e;
          }
          grown = bytes;
          allocated = device.allocate(grown);
        }
        pointer = allocated;
        capacity = grown;
      }
      return pointer;
    }

    void release(CudaDevice device) {
      if (pointer != null) {
        device.free(pointer);
        pointer = null;
        capacity = 0;
      }
    }
  }
}
