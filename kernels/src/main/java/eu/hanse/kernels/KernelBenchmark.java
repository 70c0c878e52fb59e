package eu.hanse.kernels;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Measures a backend's operations: each memory-bound one in GB/s next to a plain copy of the same
 * number of elements measured in the same run (so the result reads as a ratio, robust to how busy
 * the machine is), and matrix multiply in GFLOP/s.
 *
 * <p>Each figure is the best of {@code repeats} timed runs after a warm-up (see {@link Options#warmUpNanos}).
 * Bytes counted are the bytes an operation must read and write at least: a copy reads and writes 4
 * bytes per element; a += w·b reads two arrays and writes one (12 bytes per element). Not
 * thread-safe; one run at a time.
 */
public final class KernelBenchmark {
  /**
   * @param elements floats per array for the memory-bound operations
   * @param matmulSize m = n = k of the square matrix multiply
   * @param repeats timed runs per operation; the best counts
   * @param blockSize block size of the int8 and int4 quantizers
   * @param warmUpNanos how long each operation runs untimed first (and at least {@link
   *     #WARM_UP_RUNS} times), so that the JIT has compiled it
   */
  public record Options(int elements, int matmulSize, int repeats, int blockSize, long warmUpNanos) {
    public Options {
      if (elements < 1 || matmulSize < 1 || repeats < 1 || blockSize < 2 || blockSize % 2 != 0
          || warmUpNanos < 0) {
        throw new IllegalArgumentException("elements, matrix size and repeats must be positive, the block size "
            + "even and at least 2, the warm-up not negative; got " + elements + ", " + matmulSize + ", "
            + repeats + ", " + blockSize + ", " + warmUpNanos + " ns");
      }
    }

    public static Options defaults() {
      return new Options(1 << 25, 1024, 5, 64, DEFAULT_WARM_UP_NANOS);
    }
  }

  /** One operation's result: a bandwidth in GB/s, or a rate in GFLOP/s for matmul. */
  public record Result(String unit, double value, double ratioToCopy) {}

  /** The whole run. */
  public record Report(String device, int threads, Options options, double copyGBps, Map<String, Result> ops) {}

  static final int WARM_UP_RUNS = 5;
  static final int WARM_UP_MAX_RUNS = 100;
  public static final long DEFAULT_WARM_UP_NANOS = 1_000_000_000L;

  private final TensorBackend backend;
  private final Options options;

  public KernelBenchmark(TensorBackend backend, Options options) {
    this.backend = backend;
    this.options = options;
  }

  /**
   * Runs every measurement. On a {@link GpuBackend} the data stays in device memory and the
   * baseline is a device-to-device copy; {@code threads} is reported as given.
   */
  public Report run(int threads) {
    if (backend instanceof GpuBackend gpu) {
      return new GpuKernelBenchmark(gpu, options).run();
    }
    int n = options.elements();
    Random random = new Random(1);
    float[] a = randomArray(random, n);
    float[] b = randomArray(random, n);
    float[] out = new float[n];
    int blocks = (n + options.blockSize() - 1) / options.blockSize();
    byte[] q8 = new byte[n];
    byte[] q4 = new byte[(n + 1) / 2];
    float[] scales = new float[blocks];
    float[] m = new float[n];
    float[] v = new float[n];

    double copy = gigabytesPerSecond(8L * n, () -> backend.copy(a, out, n));
    Map<String, Result> ops = new LinkedHashMap<>();
    memoryBound(ops, "axpy", 12L * n, copy, () -> backend.axpy(0.5f, a, out, n));
    memoryBound(ops, "sub", 12L * n, copy, () -> backend.difference(a, b, out, n));
    memoryBound(ops, "scale", 8L * n, copy, () -> backend.scale(out, 0.999f, n));
    memoryBound(ops, "dot", 8L * n, copy, () -> backend.dot(a, b, n));
    memoryBound(ops, "l2Norm", 4L * n, copy, () -> backend.l2Norm(a, n));
    memoryBound(ops, "quantizeInt8", 5L * n, copy, () -> backend.quantizeInt8(a, n, options.blockSize(), q8, scales));
    memoryBound(ops, "dequantizeInt8", 5L * n, copy,
        () -> backend.dequantizeInt8(q8, scales, n, options.blockSize(), out));
    memoryBound(ops, "quantizeInt4", 4L * n + n / 2, copy,
        () -> backend.quantizeInt4(a, n, options.blockSize(), q4, scales));
    memoryBound(ops, "dequantizeInt4", 4L * n + n / 2, copy,
        () -> backend.dequantizeInt4(q4, scales, n, options.blockSize(), out));
    memoryBound(ops, "nesterovStep", 20L * n, copy, () -> backend.nesterovStep(out, a, v, n, 0.7f, 0.9f));
    long[] step = {0};
    memoryBound(ops, "adamW", 28L * n, copy,
        () -> backend.adamW(out, a, m, v, n, ++step[0], 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f));
    ops.put("matmul", matmul(random));
    return new Report(backend.name(), threads, options, copy, ops);
  }

  private void memoryBound(Map<String, Result> ops, String name, long bytes, double copyGBps, Runnable op) {
    double rate = gigabytesPerSecond(bytes, op);
    ops.put(name, new Result("GBps", rate, rate / copyGBps));
  }

  private Result matmul(Random random) {
    int size = options.matmulSize();
    float[] x = randomArray(random, size * size);
    float[] y = randomArray(random, size * size);
    float[] z = new float[size * size];
    double seconds = bestSeconds(() -> backend.matmul(x, false, y, false, z, size, size, size, false));
    return new Result("GFLOPs", 2.0 * size * size * size / seconds / 1e9, Double.NaN);
  }

  private double gigabytesPerSecond(long bytes, Runnable op) {
    return bytes / bestSeconds(op) / 1e9;
  }

  private double bestSeconds(Runnable op) {
    warmUp(op, options.warmUpNanos());
    long best = Long.MAX_VALUE;
    for (int r = 0; r < options.repeats(); r++) {
      long start = System.nanoTime();
      op.run();
      best = Math.min(best, System.nanoTime() - start);
    }
    return Math.max(best, 1) / 1e9;
  }

  /**
   * Runs op until the JIT has had its chance: at least {@link #WARM_UP_RUNS} times and {@code
   * nanos}, at most {@link #WARM_UP_MAX_RUNS} times. One run is not enough: the
   * vectorized loops are compiled only after several calls, and measured figures were half the
   * steady state before.
   */
  static void warmUp(Runnable op, long nanos) {
    long start = System.nanoTime();
    for (int run = 0; run < WARM_UP_MAX_RUNS; run++) {
      op.run();
      if (run + 1 >= WARM_UP_RUNS && System.nanoTime() - start >= nanos) {
        return;
      }
    }
  }

  private static float[] randomArray(Random random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
