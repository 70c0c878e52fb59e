package eu.hanse.kernels;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * One CUDA device through the driver API: its primary context, Hanse's kernels loaded from the
 * PTX resource, kernel launches and device memory. Every public-facing call makes the context
 * current on the calling thread first, so the caller thread may change between calls (one at a
 * time, as {@link TensorBackend} requires).
 */
final class CudaDevice implements AutoCloseable {
  static final String PTX_RESOURCE = "/eu/hanse/kernels/cuda/hanse_kernels.ptx";

  private static Probe probe;

  private final CUdevice device;
  private final CUcontext context;
  private final CUmodule module;
  private final String name;
  private final Map<String, CUfunction> functions = new HashMap<>();

  /** Whether a GPU can be used, and if not why; probed once per JVM. */
  record Probe(boolean available, String detail) {}

  private CudaDevice(CUdevice device, CUcontext context, CUmodule module, String name) {
    this.device = device;
    this.context = context;
    this.module = module;
    this.name = name;
  }

  /**
   * Loads the driver and checks for a device, once: without a driver library the first JCuda call
   * fails with {@link UnsatisfiedLinkError} and every later one with {@link NoClassDefFoundError},
   * so the answer is remembered.
   */
  static synchronized Probe probe() {
    if (probe == null) {
      probe = probeOnce();
    }
    return probe;
  }

  private static Probe probeOnce() {
    try {
      JCudaDriver.setExceptionsEnabled(true);
      cuInit(0);
      int[] count = new int[1];
      cuDeviceGetCount(count);
      if (count[0] < 1) {
        return new Probe(false, "the CUDA driver reports no device");
      }
      CUdevice first = new CUdevice();
      cuDeviceGet(first, 0);
      return new Probe(true, deviceName(first));
    } catch (LinkageError e) {
      return new Probe(
          false, "the CUDA driver (libcuda.so.1) could not be loaded: " + firstLine(e.getMessage()));
    } catch (RuntimeException e) {
      return new Probe(false, "the CUDA driver failed: " + firstLine(e.getMessage()));
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no detail";
    }
    int end = message.indexOf('\n');
    return (end < 0 ? message : message.substring(0, end)).strip();
  }

  /** Opens device 0 with Hanse's kernels; throws {@link IllegalStateException} saying why not. */
  static CudaDevice open() {
    Probe found = probe();
    if (!found.available()) {
      throw new IllegalStateException("no usable GPU: " + found.detail());
    }
    try {
      CUdevice device = new CUdevice();
      cuDeviceGet(device, 0);
      CUcontext context = new CUcontext();
      cuDevicePrimaryCtxRetain(context, device);
      CUmodule module = new CUmodule();
      try {
        cuCtxSetCurrent(context);
        cuModuleLoadData(module, ptx());
      } catch (RuntimeException e) {
        cuDevicePrimaryCtxRelease(device);
        throw e;
      }
      return new CudaDevice(device, context, module, found.detail());
    } catch (RuntimeException e) {
      throw new IllegalStateException("the GPU could not load Hanse's kernels: " + e.getMessage(), e);
    }
  }

  /** The PTX as a NUL-terminated image, as cuModuleLoadData expects. */
  private static byte[] ptx() {
    try (InputStream in = CudaDevice.class.getResourceAsStream(PTX_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the PTX resource " + PTX_RESOURCE + " is missing");
      }
      byte[] text = in.readAllBytes();
      byte[] image = new byte[text.length + 1];
      System.arraycopy(text, 0, image, 0, text.length);
      return image;
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + PTX_RESOURCE, e);
    }
  }

  private static String deviceName(CUdevice device) {
    byte[] raw = new byte[256];
    cuDeviceGetName(raw, raw.length, device);
    int end = 0;
    while (end < raw.length && raw[end] != 0) {
      end++;
    }
    return new String(raw, 0, end, StandardCharsets.US_ASCII);
  }

  String name() {
    return name;
  }

  /** Makes this device's context current on the calling thread. */
  void bind() {
    cuCtxSetCurrent(context);
  }

  /**
   * Launches a kernel with a one- or two-dimensional grid and waits for it. Arguments are
   * Integer, Long, Float, or CUdeviceptr, in the kernel's parameter order.
   */
  void launch(String kernel, int gridX, int gridY, int threads, int sharedBytes, Object... args) {
    Pointer[] params = new Pointer[args.length];
    for (int i = 0; i < args.length; i++) {
      params[i] = switch (args[i]) {
        case Integer v -> Pointer.to(new int[] {v});
        case Long v -> Pointer.to(new long[] {v});
        case Float v -> Pointer.to(new float[] {v});
        case CUdeviceptr v -> Pointer.to(v);
        default -> throw new IllegalArgumentException("unsupported kernel argument " + args[i]);
      };
    }
    cuLaunchKernel(
        function(kernel), gridX, gridY, 1, threads, 1, 1, sharedBytes, null,
        Pointer.to(params), null);
    cuCtxSynchronize();
  }

  CUdeviceptr allocate(long bytes) {
    CUdeviceptr pointer = new CUdeviceptr();
    cuMemAlloc(pointer, Math.max(1, bytes));
    return pointer;
  }

  void free(CUdeviceptr pointer) {
    cuMemFree(pointer);
  }

  private CUfunction function(String kernel) {
    return functions.computeIfAbsent(
        kernel,
        k -> {
          CUfunction f = new CUfunction();
          cuModuleGetFunction(f, module, k);
          return f;
        });
  }

  @Override
  public void close() {
    bind();
    cuModuleUnload(module);
    cuDevicePrimaryCtxRelease(device);
  }
}
