package eu.hanse.launcher;

import eu.hanse.coordinator.SitePhases;
import eu.hanse.security.TlsFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The benchmarks that run a real federation on this machine: the transport, and a round at scale. */
final class FederationBenchmarks {
  private FederationBenchmarks() {}

  /** Options both share. */
  static class Common {
    @Option(names = "--heap", defaultValue = "1g", paramLabel = "SIZE",
        description = "Maximum heap of each process, as -Xmx takes it (default: ${DEFAULT-VALUE}).")
    String heap;

    @Option(names = "--work-dir", paramLabel = "DIR",
        description = "Where the federation's files go (default: a temporary directory, deleted afterwards). "
            + "It needs free disk for about five times the model per site.")
    Path workDir;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON to FILE.")
    Path json;

    @Option(names = "--connections", paramLabel = "N",
        description = "Each agent's --connections: how many connections its checkpoint download and its update "
            + "are split over (default: the agent's, one per two cores, at most 4).")
    Integer connections;

    /** Runs {@code body} in the work directory, deleting it afterwards if it was a temporary one. */
    <T> T inWorkDir(WorkDirBody<T> body) throws Exception {
      Path dir = workDir != null ? workDir : Files.createTempDirectory("hanse-bench-");
      try {
        return body.run(dir);
      } finally {
        if (workDir == null) {
          deleteTree(dir);
        }
      }
    }
  }

  interface WorkDirBody<T> {
    T run(Path dir) throws Exception;
  }

  @Command(name = "transport", mixinStandardHelpOptions = true,
      description = "Sends a signed update of N bytes from a site agent to a coordinator, each a process of its own,"
          + " over mutual TLS on 127.0.0.1, in each of two rounds, and the same bytes twice through a plain TLS "
          + "socket in the same run. Reports the update's rate (from its header's arrival to its acceptance: every "
          + "chunk hashed, decoded and checked, spooled to disk and forced, the signature verified, folded when the "
          + "model folds in memory) in the first round, when the processes have just started, and in the second, "
          + "when they are warm; the plain socket's first and second passes; their ratios; and each process's "
          + "peak heap.")
  static final class Transport extends Common implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--bytes", defaultValue = "1073741824", paramLabel = "N", converter = CountConverter.class,
        description = "Size of the update, a multiple of 4 (default: ${DEFAULT-VALUE}, 1 GiB; 1e9 and 1_000_000 work).")
    long bytes;

    @Override
    public Integer call() throws Exception {
      if (bytes < 4 || bytes % 4 != 0) {
        throw new IllegalArgumentException("--bytes must be a positive multiple of 4 (float32 values), was " + bytes);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "Transport: a signed update of %s from a site to the coordinator, over mutual TLS on "
          + "127.0.0.1%n", ProgressBytes.of(bytes));
      Map<String, Object> root = inWorkDir(dir -> {
        SyntheticRound.Result result = SyntheticRound.run(
            new SyntheticRound.Options(bytes / 4, 2, List.of("site"), heap, dir, connections), out);
        SitePhases cold = result.round().phases().get("site");
        SitePhases phases = result.lastRound().phases().get("site");
        double firstUpdateMBps = bytes / 1e6 / (cold.upload() + cold.verifyAndFold());
        double updateMBps = bytes / 1e6 / (phases.upload() + phases.verifyAndFold());
        TlsFiles coordinatorTls = TlsFiles.in(dir.resolve("coordinator").resolve("tls"));
        TlsFiles siteTls = TlsFiles.in(dir.resolve("sites/site/tls"));
        double firstRawTlsMBps = PlainTlsBaseline.megabytesPerSecond(bytes, coordinatorTls, siteTls);
        double rawTlsMBps = PlainTlsBaseline.megabytesPerSecond(bytes, coordinatorTls, siteTls);
        out.printf(Locale.ROOT, "  update, round 1  %7.1f MB/s  (upload %.2f s, verify and fold %.2f s), processes "
            + "just started%n", firstUpdateMBps, cold.upload(), cold.verifyAndFold());
        out.printf(Locale.ROOT, "  update, round 2  %7.1f MB/s  (upload %.2f s, verify and fold %.2f s), warm%n",
            updateMBps, phases.upload(), phases.verifyAndFold());
        out.printf(Locale.ROOT, "  plain TLS socket %7.1f MB/s  the same bytes, no framing or checks (first pass "
            + "%.1f MB/s)%n", rawTlsMBps, firstRawTlsMBps);
        out.printf(Locale.ROOT, "  ratio %.2f, round 2 over the second pass (target 0.6 or more); round 1 over the "
            + "first pass %.2f%n", updateMBps / rawTlsMBps, firstUpdateMBps / firstRawTlsMBps);
        out.printf(Locale.ROOT, "  at the site: encode and sign %.2f s (%.1f MB/s), before the upload%n",
            phases.encodeAndSign(), bytes / 1e6 / phases.encodeAndSign());
        printMemory(out, result, bytes);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("bytes", bytes);
        json.put("updateMBps", updateMBps);
        json.put("rawTlsMBps", rawTlsMBps);
        json.put("ratio", updateMBps / rawTlsMBps);
        json.put("firstUpdateMBps", firstUpdateMBps);
        json.put("firstRawTlsMBps", firstRawTlsMBps);
        json.put("firstRatio", firstUpdateMBps / firstRawTlsMBps);
        json.put("firstPhases", cold);
        json.put("encodeAndSignMBps", bytes / 1e6 / phases.encodeAndSign());
        json.put("phases", phases);
        json.put("heap", heap);
        json.put("coordinator", result.memory().get("coordinator"));
        json.put("agent", result.memory().get("site"));
        json.put("peakHeapBytes", Map.of("coordinator", result.memory().get("coordinator").peakHeapBytes(),
            "agent", result.memory().get("site").peakHeapBytes()));
        return json;
      });
      if (json != null) {
        BenchCommand.writeJson(json, root);
      }
      return 0;
    }
  }

  @Command(name = "round", mixinStandardHelpOptions = true,
      description = "One round of a synthetic model of P parameters with N sites, every part a process of its own over"
          + " mutual TLS on 127.0.0.1: each site downloads the checkpoint, sends a random update of the model's size,"
          + " and the coordinator verifies, folds and commits the next checkpoint. Reports where the round's time went "
          + "and each process's peak memory; the coordinator's peak resident memory against the model's size is the "
          + "measure (target: under 2.5x).")
  static final class Round extends Common implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--parameters", defaultValue = "1e9", paramLabel = "P", converter = CountConverter.class,
        description = "Parameters of the model, float32 (default: ${DEFAULT-VALUE}, 4 GB).")
    long parameters;

    @Option(names = "--sites", defaultValue = "3", paramLabel = "N", description = "Sites (default: ${DEFAULT-VALUE}).")
    int sites;

    @Override
    public Integer call() throws Exception {
      if (sites < 1) {
        throw new IllegalArgumentException("--sites must be at least 1, was " + sites);
      }
      eu.hanse.aggregation.SyntheticModel.requireParameters(parameters);
      PrintWriter out = spec.commandLine().getOut();
      long modelBytes = 4 * parameters;
      out.printf(Locale.ROOT, "Round: a model of %,d parameters (%s) and %d sites%n", parameters,
          ProgressBytes.of(modelBytes), sites);
      List<String> names = IntStream.rangeClosed(1, sites).mapToObj(i -> "site-" + i).toList();
      Map<String, Object> root = inWorkDir(dir -> {
        SyntheticRound.Result result = SyntheticRound.run(new SyntheticRound.Options(parameters, 1, names, heap, dir, connections), out);
        out.printf(Locale.ROOT, "  round committed in %.1f s; commit %.2f s%n", result.round().seconds(),
            result.round().commitSeconds());
        result.round().phases().forEach((site, phases) -> out.printf("  %-8s %s%n", site, phases.describe()));
        printMemory(out, result, modelBytes);
        double ratio = (double) result.memory().get("coordinator").peakRssBytes() / modelBytes;
        out.printf(Locale.ROOT, "  coordinator peak resident memory %.2fx the model (target under 2.5x)%n", ratio);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("parameters", parameters);
        json.put("modelBytes", modelBytes);
        json.put("sites", sites);
        json.put("heap", heap);
        json.put("roundSeconds", result.round().seconds());
        json.put("commitSeconds", result.round().commitSeconds());
        json.put("phases", result.round().phases());
        json.put("memory", result.memory());
        json.put("coordinatorPeakRssToModel", ratio);
        return json;
      });
      if (json != null) {
        BenchCommand.writeJson(json, root);
      }
      return 0;
    }
  }

  private static void printMemory(PrintWriter out, SyntheticRound.Result result, long modelBytes) {
    result.memory().forEach((process, memory) -> out.printf(Locale.ROOT,
        "  %-12s peak heap %7.1f MiB, peak resident %7.1f MiB (%.2fx the model)%n", process,
        memory.peakHeapBytes() / 1048576.0, memory.peakRssBytes() / 1048576.0,
        (double) memory.peakRssBytes() / modelBytes));
    out.flush();
  }

  /** A whole number written 1073741824, 1_000_000_000 or 1e9. */
  static final class CountConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      try {
        return new BigDecimal(value.replace("_", "")).longValueExact();
      } catch (NumberFormatException | ArithmeticException e) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number (1000000000, 1_000_000_000 "
            + "or 1e9)");
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var walk = Files.walk(dir)) {
      for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }

  /** Sizes for people: 1.0 GiB, 512.0 MiB. */
  static final class ProgressBytes {
    private ProgressBytes() {}

    static String of(long bytes) {
      return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
          : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
  }
}
