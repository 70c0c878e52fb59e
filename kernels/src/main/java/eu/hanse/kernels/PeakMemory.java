package eu.hanse.kernels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * This process's peak memory, for the benchmarks: the heap's (the sum of the heap pools' peaks,
 * an upper bound on the peak of their sum) and the resident set's high-water mark, as Linux counts
 * it. A process started with {@code HANSE_MEMORY_REPORT=FILE} in its environment writes both to
 * FILE as JSON when it exits, so a benchmark can read the peaks of the processes it started.
 */
public final class PeakMemory {
  /** The environment variable naming the file a process writes its peaks to at exit. */
  public static final String REPORT_VARIABLE = "HANSE_MEMORY_REPORT";

  private PeakMemory() {}

  /** Starts the heap's peak afresh from what is in use now. */
  public static void resetHeap() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
  }

  /** The sum of the heap pools' peaks since the start or the last reset. */
  public static long heapBytes() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    return peak;
  }

  /** The resident set's high-water mark (VmHWM), or -1 where /proc does not tell it. */
  public static long residentBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: unknown.
    }
    return -1;
  }

  /** Writes the peaks to the file {@link #REPORT_VARIABLE} names at exit, if the environment names one. */
  public static void reportAtExitIfAsked() {
    String file = System.getenv(REPORT_VARIABLE);
    if (file == null || file.isBlank()) {
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> write(Path.of(file)), "memory-report"));
  }

  private static void write(Path file) {
    String json = String.format(Locale.ROOT, "{\"peakHeapBytes\": %d, \"peakRssBytes\": %d, \"maxHeapBytes\": %d}%n",
        heapBytes(), residentBytes(), Runtime.getRuntime().maxMemory());
    try {
      Files.writeString(file, json, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the memory report " + file, e);
    }
  }
}
