package eu.hanse.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import eu.hanse.kernels.Device;
import eu.hanse.kernels.KernelBenchmark;
import eu.hanse.kernels.TensorBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmarks that Hanse keeps: each measures a baseline in the same run, so results read as ratios.",
    subcommands = {BenchCommand.Kernels.class})
final class BenchCommand extends CommandGroup {

  @Command(name = "kernels", mixinStandardHelpOptions = true,
      description = "Measures the tensor operations on the selected device: each memory-bound operation in GB/s next "
          + "to a plain copy of the same bytes in the same run (on a GPU, a device-to-device copy, with the data kept "
          + "in device memory), and matrix multiply in GFLOP/s.")
  static final class Kernels implements Callable<Integer> {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    Path json;

    @Option(names = "--elements", defaultValue = "33554432", paramLabel = "N",
        description = "Floats per array for the memory-bound operations (default: ${DEFAULT-VALUE}, 128 MiB).")
    int elements;

    @Option(names = "--matmul-size", defaultValue = "1024", paramLabel = "N",
        description = "Size of the square matrix multiply (default: ${DEFAULT-VALUE}).")
    int matmulSize;

    @Option(names = "--repeats", defaultValue = "5", paramLabel = "N",
        description = "Timed runs per operation after a warm-up; the best counts (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--warm-up-ms", defaultValue = "1000", paramLabel = "MS",
        description = "Untimed running of each operation first, at least five runs, so the JIT has compiled it "
            + "(default: ${DEFAULT-VALUE}).")
    long warmUpMillis;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
        converter = DeviceConverter.class, description = DeviceConverter.DESCRIPTION)
    Device device;

    @Option(names = "--threads", paramLabel = "N",
        description = "CPU threads, on the CPU (default: all available processors).")
    Integer threads;

    @Override
    public Integer call() throws Exception {
      int cores = threads != null ? threads : Runtime.getRuntime().availableProcessors();
      KernelBenchmark.Options options = new KernelBenchmark.Options(elements, matmulSize, repeats, 64,
          TimeUnit.MILLISECONDS.toNanos(warmUpMillis));
      KernelBenchmark.Report report;
      try (TensorBackend backend = device.open(cores, spec.commandLine().getErr()::println)) {
        report = new KernelBenchmark(backend, options).run(cores);
      }
      var out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "device %s, %,d floats per array; copy %.2f GB/s%n", report.device(), elements,
          report.copyGBps());
      report.ops().forEach((name, result) -> out.printf(Locale.ROOT, "  %-16s %8.2f %-6s%s%n", name, result.value(),
          result.unit(), Double.isNaN(result.ratioToCopy()) ? ""
              : String.format(Locale.ROOT, "  %.2fx copy", result.ratioToCopy())));
      out.flush();
      if (json != null) {
        Path parent = json.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), toJson(report));
      }
      return 0;
    }

    static Map<String, Object> toJson(KernelBenchmark.Report report) {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("device", report.device());
      root.put("threads", report.threads());
      root.put("elements", report.options().elements());
      root.put("matmulSize", report.options().matmulSize());
      root.put("repeats", report.options().repeats());
      root.put("warmUpMillis", TimeUnit.NANOSECONDS.toMillis(report.options().warmUpNanos()));
      root.put("javaVersion", System.getProperty("java.version"));
      root.put("availableProcessors", Runtime.getRuntime().availableProcessors());
      root.put("copyGBps", report.copyGBps());
      Map<String, Object> ops = new LinkedHashMap<>();
      report.ops().forEach((name, result) -> {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put(result.unit(), result.value());
        if (!Double.isNaN(result.ratioToCopy())) {
          entry.put("ratioToCopy", result.ratioToCopy());
        }
        ops.put(name, entry);
      });
      root.put("ops", ops);
      return root;
    }
  }
}
