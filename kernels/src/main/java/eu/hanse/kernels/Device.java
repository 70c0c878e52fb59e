package eu.hanse.kernels;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** Where the tensor operations run, as chosen with {@code --device}. */
public enum Device {
  /** The GPU when one works, else the CPU, saying so in one log line. */
  AUTO,
  /** The CPU backend. */
  CPU,
  /** The GPU backend; refuses to start without a working GPU. */
  GPU;

  /**
   * The device named {@code auto}, {@code cpu} or {@code gpu}, in any case.
   *
   * @throws IllegalArgumentException naming the accepted values otherwise
   */
  public static Device parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown device '" + name + "': expected auto, cpu or gpu", e);
    }
  }

  /**
   * Opens the backend for this choice.
   *
   * @param cpuThreads threads for the CPU backend, when it is the one chosen
   * @param log receives the one line saying the GPU was not usable when {@link #AUTO} falls back
   * @throws IllegalStateException for {@link #GPU} when no GPU works, saying why
   */
  public TensorBackend open(int cpuThreads, Consumer<String> log) {
    return open(cpuThreads, log, GpuBackend::open);
  }

  /** {@link #open(int, Consumer)} with the GPU backend's opener given, so tests can make it fail. */
  TensorBackend open(int cpuThreads, Consumer<String> log, Supplier<TensorBackend> gpu) {
    return switch (this) {
      case CPU -> TensorBackend.cpu(cpuThreads);
      case GPU -> {
        try {
          yield gpu.get();
        } catch (IllegalStateException e) {
          throw new IllegalStateException("--device gpu: " + e.getMessage(), e);
        }
      }
      case AUTO -> {
        try {
          yield gpu.get();
        } catch (IllegalStateException e) {
          log.accept("device auto: " + e.getMessage() + "; using the CPU");
          yield TensorBackend.cpu(cpuThreads);
        }
      }
    };
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
