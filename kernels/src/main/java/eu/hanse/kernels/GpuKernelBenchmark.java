package eu.hanse.kernels;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32;

import eu.hanse.kernels.KernelBenchmark.Options;
import eu.hanse.kernels.KernelBenchmark.Report;
import eu.hanse.kernels.KernelBenchmark.Result;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * {@link KernelBenchmark} on the GPU: the data stays in device memory, so each figure is the
 * kernel's own speed, next to a device-to-device copy of the same bytes measured in the same run.
 * Bytes counted are the same as on the CPU.
 */
final class GpuKernelBenchmark {
  private final GpuBackend gpu;
  private final Options options;

  GpuKernelBenchmark(GpuBackend gpu, Options options) {
    this.gpu = gpu;
    this.options = options;
  }

  Report run() {
    gpu.device().bind();
    int n = options.elements();
    int blockSize = options.blockSize();
    int blocks = (int) (((long) n + blockSize - 1) / blockSize);
    Random random = new Random(1);
    List<CUdeviceptr> allocated = new ArrayList<>();
    try {
      CUdeviceptr a = track(allocated, deviceArray(random, n));
      CUdeviceptr b = track(allocated, deviceArray(random, n));
      CUdeviceptr out = track(allocated, deviceArray(random, n));
      CUdeviceptr m = track(allocated, zeros(n));
      CUdeviceptr v = track(allocated, zeros(n));
      CUdeviceptr codes = track(allocated, gpu.device().allocate(n));
      CUdeviceptr scales = track(allocated, gpu.device().allocate(4L * blocks));
      double copy = gigabytesPerSecond(8L * n, () -> {
        cuMemcpyDtoD(out, a, 4L * n);
        cuCtxSynchronize();
      });
      Map<String, Result> ops = new LinkedHashMap<>();
      measure(ops, "axpy", 12L * n, copy, () -> gpu.launchAxpy(0.5f, a, out, n));
      measure(ops, "sub", 12L * n, copy, () -> gpu.launchDifference(a, b, out, n));
      measure(ops, "scale", 8L * n, copy, () -> gpu.launchScale(out, 0.999f, n));
      measure(ops, "dot", 8L * n, copy, () -> gpu.launchDot(a, b, n));
      measure(ops, "l2Norm", 4L * n, copy, () -> gpu.launchDot(a, a, n));
      measure(ops, "quantizeInt8", 5L * n, copy,
          () -> gpu.launchQuantize("hanse_quantize_int8", a, n, blockSize, blocks, codes, scales));
      measure(ops, "dequantizeInt8", 5L * n, copy,
          () -> gpu.launchDequantize("hanse_dequantize_int8", codes, scales, n, blockSize, out));
      measure(ops, "quantizeInt4", 4L * n + n / 2, copy,
          () -> gpu.launchQuantize("hanse_quantize_int4", a, n, blockSize, blocks, codes, scales));
      measure(ops, "dequantizeInt4", 4L * n + n / 2, copy,
          () -> gpu.launchDequantize("hanse_dequantize_int4", codes, scales, n, blockSize, out));
      measure(ops, "nesterovStep", 20L * n, copy, () -> gpu.launchNesterov(out, a, v, n, 0.7f, 0.9f));
      long[] step = {0};
      measure(ops, "adamW", 28L * n, copy,
          () -> gpu.launchAdamW(out, a, m, v, n, ++step[0], 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f));
      ops.put("matmul", matmul(random));
      return new Report(gpu.name(), 1, options, copy, ops);
    } finally {
      allocated.forEach(gpu.device()::free);
    }
  }

  private static CUdeviceptr track(List<CUdeviceptr> allocated, CUdeviceptr pointer) {
    allocated.add(pointer);
    return pointer;
  }

  /** n zero floats on the device: AdamW's second moment must not start negative. */
  private CUdeviceptr zeros(int n) {
    CUdeviceptr pointer = gpu.device().allocate(4L * n);
    cuMemsetD32(pointer, 0, n);
    return pointer;
  }

  private void measure(Map<String, Result> ops, String name, long bytes, double copyGBps, Runnable op) {
    double rate = gigabytesPerSecond(bytes, op);
    ops.put(name, new Result("GBps", rate, rate / copyGBps));
  }

  private Result matmul(Random random) {
    int size = options.matmulSize();
    long elements = (long) size * size;
    CUdeviceptr x = deviceArray(random, (int) elements);
    CUdeviceptr y = deviceArray(random, (int) elements);
    CUdeviceptr z = gpu.device().allocate(4 * elements);
    try {
      double seconds =
          bestSeconds(() -> gpu.launchMatmul(x, false, y, false, z, size, size, size, false));
      return new Result("GFLOPs", 2.0 * size * size * size / seconds / 1e9, Double.NaN);
    } finally {
      gpu.device().free(x);
      gpu.device().free(y);
      gpu.device().free(z);
    }
  }

  private double gigabytesPerSecond(long bytes, Runnable op) {
    return bytes / bestSeconds(op) / 1e9;
  }

  /** Launches synchronise, so wall time around one launch is the kernel's time plus its launch. */
  private double bestSeconds(Runnable op) {
    DoubleSupplier timed = () -> {
      long start = System.nanoTime();
      op.run();
      return System.nanoTime() - start;
    };
    KernelBenchmark.warmUp(op, options.warmUpNanos());
    double best = Double.MAX_VALUE;
    for (int r = 0; r < options.repeats(); r++) {
      best = Math.min(best, timed.getAsDouble());
    }
    return Math.max(best, 1) / 1e9;
  }

  private CUdeviceptr deviceArray(Random random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    CUdeviceptr pointer = gpu.device().allocate(4L * n);
    cuMemcpyHtoD(pointer, Pointer.to(values), 4L * n);
    return pointer;
  }
}
