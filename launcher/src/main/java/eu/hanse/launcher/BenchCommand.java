package eu.hanse.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import eu.hanse.aggregation.AggregateBenchmark;
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
    subcommands = {BenchCommand.Kernels.class, BenchCommand.Aggregate.class, FederationBenchmarks.Transport.class,
        FederationBenchmarks.Round.class})
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
        writeJson(json, toJson(report));
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

  @Command(name = "aggregate", mixinStandardHelpOptions = true,
      description = "Measures the coordinator's weighted-mean fold: N random updates of P parameters, sent as fp32, "
          + "int8 and int4 chunks, decoded and folded into one accumulator; next to a plain copy of the same fp32 bytes "
          + "in the same run, with the heap's peak while folding.")
  static final class Aggregate implements Callable<Integer> {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--sites", defaultValue = "10", paramLabel = "N",
        description = "Updates folded per round (default: ${DEFAULT-VALUE}).")
    int sites;

    @Option(names = "--params", defaultValue = "16777216", paramLabel = "P",
        description = "Parameters per update (default: ${DEFAULT-VALUE}, 64 MiB in fp32).")
    int params;

    @Option(names = "--repeats", defaultValue = "3", paramLabel = "N",
        description = "Timed rounds per codec after a warm-up round; the best counts (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    Path json;

    @Override
    public Integer call() throws Exception {
      AggregateBenchmark.Report report;
      try (TensorBackend backend = TensorBackend.cpu(1)) {
        report = new AggregateBenchmark(new AggregateBenchmark.Options(sites, params, repeats), backend).run();
      }
      var out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "%d updates of %,d parameters (model %.1f MiB); copy %.2f GB/s%n", sites, params,
          report.modelBytes() / 1048576.0, report.copyGBps());
      report.codecs().forEach((codec, result) -> out.printf(Locale.ROOT,
          "  %-5s fold %7.2f GB/s as sent, %7.2f GB/s as fp32 (%.2fx copy); peak heap %.1f MiB (%.2fx the model);"
              + " final division %.1f ms%n",
          codec, result.aggregateGBps(), result.fp32EquivalentGBps(), result.ratioToCopy(),
          result.peakHeapBytes() / 1048576.0, (double) result.peakHeapBytes() / report.modelBytes(),
          result.meanSeconds() * 1e3));
      out.flush();
      if (json != null) {
        writeJson(json, aggregateJson(report));
      }
      return 0;
    }

    static Map<String, Object> aggregateJson(AggregateBenchmark.Report report) {
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("sites", report.options().sites());
      root.put("params", report.options().params());
      root.put("modelBytes", report.modelBytes());
      root.put("javaVersion", System.getProperty("java.version"));
      root.put("copyGBps", report.copyGBps());
      AggregateBenchmark.Result fp32 = report.codecs().get("fp32");
      root.put("aggregateGBps", fp32.aggregateGBps());
      root.put("peakHeapBytes", fp32.peakHeapBytes());
      Map<String, Object> codecs = new LinkedHashMap<>();
      report.codecs().forEach((codec, result) -> {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("aggregateGBps", result.aggregateGBps());
        entry.put("fp32EquivalentGBps", result.fp32EquivalentGBps());
        entry.put("ratioToCopy", result.ratioToCopy());
        entry.put("peakHeapBytes", result.peakHeapBytes());
        entry.put("meanSeconds", result.meanSeconds());
        codecs.put(codec, entry);
      });
      root.put("codecs", codecs);
      return root;
    }
  }

  static void writeJson(Path file, Map<String, Object> root) throws java.io.IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
  }
}
