package eu.hanse.launcher;

import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.security.TlsFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
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
          + " over mutual TLS on 127.0.0.1, once in each of R rounds, and the same bytes through a plain TLS socket in"
          + " the same run: a first pass, three untimed ones to warm it up, then R-1 timed ones; then two checked"
          + " baselines, whose receiver hashes and checks each chunk as the coordinator must, one over the plain"
          + " socket, one as the messages of a bare gRPC call (no protocol buffers, signature or spool), each an"
          + " untimed pass and R-1 timed ones. Reports each"
          + " round's rate (from its header's arrival to its acceptance: every chunk hashed, decoded and checked,"
          + " spooled to disk and forced, the signature verified, folded when the model folds in memory) and each"
          + " timed pass's; the ratio of the warm medians (rounds 2 to R over the timed passes after the warm-up;"
          + " round 1 runs on processes that have just started, and is reported apart with the first pass); the"
          + " checked passes' medians against both; and each process's peak heap.")
  static final class Transport extends Common implements Callable<Integer> {
    /**
     * Passes the plain socket makes untimed between its first pass and the timed ones: on this JDK
     * its path keeps getting faster over the first three or four passes of 1 GiB (390, 560, 990,
     * 1060 MB/s in one run), while the update's rounds run at much the same rate from round 2 on.
     */
    static final int BASELINE_WARM_UP_PASSES = 3;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--bytes", defaultValue = "1073741824", paramLabel = "N", converter = CountConverter.class,
        description = "Size of the update, a multiple of 4 (default: ${DEFAULT-VALUE}, 1 GiB; 1e9 and 1_000_000 work).")
    long bytes;

    @Option(names = "--rounds", defaultValue = "4", paramLabel = "R",
        description = "Rounds, at least 2: round 1 is the cold one, and the median of rounds 2 to R is compared with "
            + "that of R-1 warm passes of the plain socket (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
      if (bytes < 4 || bytes % 4 != 0) {
        throw new IllegalArgumentException("--bytes must be a positive multiple of 4 (float32 values), was " + bytes);
      }
      if (rounds < 2) {
        throw new IllegalArgumentException("--rounds must be at least 2 (a cold round and a warm one), was " + rounds);
      }
      PrintWriter out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "Transport: a signed update of %s from a site to the coordinator, over mutual TLS on "
          + "127.0.0.1, in %d rounds%n", ProgressBytes.of(bytes), rounds);
      Map<String, Object> root = inWorkDir(dir -> {
        SyntheticRound.Result result = SyntheticRound.run(
            new SyntheticRound.Options(bytes / 4, rounds, List.of("site"), heap, dir, connections), out);
        List<SitePhases> phases = result.rounds().stream().map(round -> round.phases().get("site")).toList();
        List<Double> updates = phases.stream().map(this::megabytesPerSecond).toList();
        for (int r = 0; r < rounds; r++) {
          out.printf(Locale.ROOT, "  update, round %d  %7.1f MB/s  (upload %.2f s, verify and fold %.2f s)%s%n", r + 1,
              updates.get(r), phases.get(r).upload(), phases.get(r).verifyAndFold(),
              r == 0 ? ", processes just started" : "");
        }
        TlsFiles coordinatorTls = TlsFiles.in(dir.resolve("coordinator").resolve("tls"));
        TlsFiles siteTls = TlsFiles.in(dir.resolve("sites/site/tls"));
        List<Double> passes = new ArrayList<>();
        passes.add(PlainTlsBaseline.megabytesPerSecond(bytes, coordinatorTls, siteTls));
        for (int w = 0; w < BASELINE_WARM_UP_PASSES; w++) {
          PlainTlsBaseline.megabytesPerSecond(bytes, coordinatorTls, siteTls);
        }
        for (int r = 1; r < rounds; r++) {
          passes.add(PlainTlsBaseline.megabytesPerSecond(bytes, coordinatorTls, siteTls));
        }
        // The checked baselines, each an untimed pass and R-1 timed ones, after the plain socket's
        // passes rather than between them: in one run with all three in turns, the plain socket's
        // timed passes ran at 499, 764 and 873 MB/s, where on their own they reach about 1 GB/s.
        List<Double> checkedPasses = warmThenTimed(() -> PlainTlsBaseline.megabytesPerSecond(bytes, coordinatorTls,
            siteTls, PlainTlsBaseline.Receiving.CHECK));
        List<Double> grpcPasses = warmThenTimed(() -> GrpcBaseline.megabytesPerSecond(bytes, coordinatorTls, siteTls));
        out.printf(Locale.ROOT, "  plain TLS socket, the same bytes with no framing or checks: first pass %.1f MB/s; "
            + "after %d untimed passes, %s MB/s%n", passes.get(0), BASELINE_WARM_UP_PASSES, rates(passes.subList(1, rounds)));
        out.printf(Locale.ROOT, "  the same socket, its receiver hashing (SHA-256) and checking each chunk on a thread of "
            + "its own, as the coordinator must (no framing, no spool): %s MB/s%n", rates(checkedPasses));
        out.printf(Locale.ROOT, "  the same bytes as 1 MiB messages of one bare gRPC call, each checked so (no protocol "
            + "buffers, signature or spool): %s MB/s%n", rates(grpcPasses));
        List<Double> warmUpdates = updates.subList(1, rounds);
        List<Double> warmPasses = passes.subList(1, rounds);
        double updateMBps = median(warmUpdates);
        double rawTlsMBps = median(warmPasses);
        double checkedTlsMBps = median(checkedPasses);
        double checkedGrpcMBps = median(grpcPasses);
        SitePhases typical = phases.get(1 + warmUpdates.indexOf(lowerMedian(warmUpdates)));
        out.printf(Locale.ROOT, "  warm medians: update %.1f MB/s, plain TLS %.1f MB/s, ratio %.2f (target 0.6 or "
            + "more); cold, round 1 over the first pass: %.2f%n", updateMBps, rawTlsMBps, updateMBps / rawTlsMBps,
            updates.get(0) / passes.get(0));
        out.printf(Locale.ROOT, "  what no update can exceed here: checked plain TLS %.1f MB/s (%.2f of plain TLS), "
            + "checked bare gRPC %.1f MB/s (%.2f); the update runs at %.2f of the latter%n", checkedTlsMBps,
            checkedTlsMBps / rawTlsMBps, checkedGrpcMBps, checkedGrpcMBps / rawTlsMBps, updateMBps / checkedGrpcMBps);
        out.printf(Locale.ROOT, "  at the site: encode and sign %.2f s (%.1f MB/s), before the upload%n",
            typical.encodeAndSign(), bytes / 1e6 / typical.encodeAndSign());
        printMemory(out, result, bytes);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("bytes", bytes);
        json.put("rounds", rounds);
        json.put("updateMBps", updateMBps);
        json.put("rawTlsMBps", rawTlsMBps);
        json.put("ratio", updateMBps / rawTlsMBps);
        json.put("roundUpdateMBps", updates);
        json.put("passRawTlsMBps", passes);
        json.put("checkedTlsMBps", checkedTlsMBps);
        json.put("checkedRatio", checkedTlsMBps / rawTlsMBps);
        json.put("ratioToChecked", updateMBps / checkedTlsMBps);
        json.put("passCheckedTlsMBps", checkedPasses);
        json.put("checkedGrpcMBps", checkedGrpcMBps);
        json.put("checkedGrpcRatio", checkedGrpcMBps / rawTlsMBps);
        json.put("ratioToCheckedGrpc", updateMBps / checkedGrpcMBps);
        json.put("passCheckedGrpcMBps", grpcPasses);
        json.put("firstUpdateMBps", updates.get(0));
        json.put("firstRawTlsMBps", passes.get(0));
        json.put("firstRatio", updates.get(0) / passes.get(0));
        json.put("encodeAndSignMBps", bytes / 1e6 / typical.encodeAndSign());
        json.put("phases", typical);
        json.put("roundPhases", phases);
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

    /** One untimed pass of {@code pass}, then R-1 timed ones: their rates. */
    private List<Double> warmThenTimed(Callable<Double> pass) throws Exception {
      pass.call();
      List<Double> rates = new ArrayList<>();
      for (int r = 1; r < rounds; r++) {
        rates.add(pass.call());
      }
      return rates;
    }

    /** The update's rate: its bytes over the time from its header's arrival to its acceptance. */
    private double megabytesPerSecond(SitePhases phases) {
      return bytes / 1e6 / (phases.upload() + phases.verifyAndFold());
    }
  }

  private static String rates(List<Double> rates) {
    return rates.stream().map(rate -> String.format(Locale.ROOT, "%.1f", rate)).collect(Collectors.joining(", "));
  }

  /** The middle value, or the mean of the two middle ones. */
  static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int middle = sorted.size() / 2;
    return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
  }

  /** The middle value, or the lower of the two middle ones: always one of the values. */
  static double lowerMedian(List<Double> values) {
    return values.stream().sorted().toList().get((values.size() - 1) / 2);
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
      eu.hanse.model.SyntheticModel.requireParameters(parameters);
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

  /** Sizes for people: 1.0 GiB, 512.0 MiB, 2.3 KiB. */
  static final class ProgressBytes {
    private ProgressBytes() {}

    static String of(long bytes) {
      return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
          : bytes >= 1L << 20 ? String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20))
          : String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
  }
}
