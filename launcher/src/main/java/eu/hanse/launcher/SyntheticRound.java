package eu.hanse.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.kernels.PeakMemory;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Rounds of a synthetic model of a given size (a random update from each site, no training)
 * through a real federation on this machine: a coordinator and one agent per site, each a process
 * of its own with the given heap, over mutual TLS on 127.0.0.1. What the benchmarks of the
 * transport and of a round at scale run; they read the round's phases and each process's peak
 * memory.
 */
final class SyntheticRound {
  static final String JOB = "synthetic-round";

  /**
   * @param rounds how many rounds the job runs
   * @param heap each process's maximum heap, as -Xmx takes it ("1g"), or null for the JVM's default
   * @param connections each agent's {@code --connections}; null for its default
   */
  record Options(long parameters, int rounds, List<String> sites, String heap, Path workDir, Integer connections) {}

  /** A process's peaks, as it wrote them at exit. */
  record Memory(long peakHeapBytes, long peakRssBytes, long maxHeapBytes) {}

  /** The committed rounds, and the peaks of the coordinator ("coordinator") and of each site's agent. */
  record Result(List<RoundRecord> rounds, Map<String, Memory> memory, double seconds) {
    /** The first round. */
    RoundRecord round() {
      return rounds.get(0);
    }

    /** The last round. */
    RoundRecord lastRound() {
      return rounds.get(rounds.size() - 1);
    }
  }

  private SyntheticRound() {}

  static Result run(Options options, PrintWriter out) throws Exception {
    Files.createDirectories(options.workDir());
    Path jobFile = Files.writeString(options.workDir().resolve("job.yaml"), """
        job: %s
        rounds: %d
        model:
          kind: synthetic
          parameters: %d
        aggregation:
          outer: sgd
        quorum:
          min-sites: %d
        round:
          deadline: 60m
        """.formatted(JOB, options.rounds(), options.parameters(), options.sites().size()));
    List<String> jvm = options.heap() == null ? List.of() : List.of("-Xmx" + options.heap());
    long started = System.nanoTime();
    try (ChildProcesses children = new ChildProcesses(jvm)) {
      LocalFederation federation = new LocalFederation(options.workDir(), children, "Hanse benchmark consortium");
      Process coordinator = federation.startCoordinator(List.of("--job-file", jobFile.toString(), "--exit-when-done"),
          memoryReport(options, "coordinator"), null);
      federation.enrol(options.sites());
      List<Process> agents = new ArrayList<>();
      for (String site : options.sites()) {
        List<String> agentOptions = new ArrayList<>(List.of("--device", "cpu", "--threads", "1", "--synthetic-chars",
            "20000", "--exit-when-finished"));
        if (options.connections() != null) {
          agentOptions.addAll(List.of("--connections", options.connections().toString()));
        }
        agents.add(federation.startAgent(site, agentOptions, memoryReport(options, site)));
      }
      out.printf(Locale.ROOT, "  a coordinator and %d agent%s, each a process%s; logs in %s%n", agents.size(),
          agents.size() == 1 ? "" : "s", jvm.isEmpty() ? "" : " with -Xmx" + options.heap(), federation.logs());
      if (!coordinator.waitFor(2, TimeUnit.HOURS) || coordinator.exitValue() != 0) {
        throw new IllegalStateException("the coordinator did not finish the round: "
            + LocalFederation.tail(federation.logs().resolve("coordinator.log")));
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      JobStatus status = federation.status(JOB);
      if (!JobStatus.FINISHED.equals(status.state()) || status.rounds().size() != options.rounds()) {
        throw new IllegalStateException("the rounds did not all commit: job " + status.state() + ", "
            + status.rounds().size() + " of " + options.rounds() + " rounds");
      }
      for (Process agent : agents) {
        if (!agent.waitFor(10, TimeUnit.MINUTES)) {
          agent.destroy();
          agent.waitFor(30, TimeUnit.SECONDS);
        }
      }
      Map<String, Memory> memory = new LinkedHashMap<>();
      memory.put("coordinator", readMemory(options, "coordinator"));
      for (String site : options.sites()) {
        memory.put(site, readMemory(options, site));
      }
      return new Result(List.copyOf(status.rounds()), memory, seconds);
    }
  }

  private static Map<String, String> memoryReport(Options options, String process) {
    return Map.of(PeakMemory.REPORT_VARIABLE, options.workDir().resolve("memory-" + process + ".json").toString());
  }

  private static Memory readMemory(Options options, String process) throws java.io.IOException {
    Path file = options.workDir().resolve("memory-" + process + ".json");
    if (!Files.exists(file)) {
      throw new IllegalStateException(process + " wrote no memory report at " + file);
    }
    return new ObjectMapper().readValue(file.toFile(), Memory.class);
  }
}
