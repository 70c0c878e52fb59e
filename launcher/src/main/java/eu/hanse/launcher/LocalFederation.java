package eu.hanse.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.security.SiteId;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A federation on this machine, every part a process of its own talking gRPC over mutual TLS on
 * 127.0.0.1, as the demo and the benchmarks run it: a throw-away consortium CA in
 * {@code DIR/coordinator}, the coordinator, and sites enrolled with one-time invitations into
 * {@code DIR/sites/SITE}. Logs go to {@code DIR/logs}.
 */
final class LocalFederation {
  private final Path dir;
  private final ChildProcesses children;
  private final Path coordinatorDir;
  private final Path logs;
  private Process coordinator;
  private String address;

  /** Creates the consortium's CA in {@code dir}. */
  LocalFederation(Path dir, ChildProcesses children, String consortium) throws IOException {
    this.dir = dir;
    this.children = children;
    this.coordinatorDir = dir.resolve("coordinator");
    this.logs = Files.createDirectories(dir.resolve("logs"));
    CaCommand.Init.initialise(coordinatorDir, consortium, List.of("localhost", "127.0.0.1"), true);
  }

  Path coordinatorDir() {
    return coordinatorDir;
  }

  Path logs() {
    return logs;
  }

  Path siteDir(String site) {
    return dir.resolve("sites").resolve(site);
  }

  /** The coordinator's address once it listens. */
  String address() {
    return address;
  }

  /**
   * Starts 'hanse coordinator' on this federation's data directory, listening (the console too) on
   * free ports of 127.0.0.1, with {@code extraArgs} and {@code environment}; echoes its output to {@code out}
   * when not null. Returns once it listens.
   */
  Process startCoordinator(List<String> extraArgs, Map<String, String> environment, PrintStream out) throws Exception {
    List<String> args = new java.util.ArrayList<>(List.of("coordinator", "--data-dir", coordinatorDir.toString(),
        "--listen", "127.0.0.1:0", "--enrol-port", "0", "--console", "127.0.0.1:0"));
    args.addAll(extraArgs);
    Path log = logs.resolve("coordinator.log");
    coordinator = out == null ? children.start(args, log, environment)
        : children.startEchoing(args, log, out, environment);
    address = awaitAddress(coordinator, log);
    return coordinator;
  }

  /** Invites every site and runs 'hanse agent enroll' for all of them at once, as sites would. */
  void enrol(List<String> sites) throws Exception {
    Map<String, String> invitations = new LinkedHashMap<>();
    try (Consortium consortium = Consortium.open(coordinatorDir, Clock.systemUTC())) {
      for (String site : sites) {
        invitations.put(site, consortium.invite(new SiteId(site), Duration.ofMinutes(30), "local federation"));
      }
    }
    String enrolAddress = Files.readString(coordinatorDir.resolve(CoordinatorCommand.ENROL_ADDRESS_FILE)).strip();
    Map<String, Process> enrolling = new LinkedHashMap<>();
    for (String site : sites) {
      enrolling.put(site, children.start(List.of("agent", "enroll", "--coordinator", enrolAddress,
          "--token", invitations.get(site), "--data-dir", siteDir(site).toString()),
          logs.resolve("enrol-" + site + ".log"), Map.of()));
    }
    for (Map.Entry<String, Process> site : enrolling.entrySet()) {
      if (!site.getValue().waitFor(2, TimeUnit.MINUTES) || site.getValue().exitValue() != 0) {
        throw new IllegalStateException("site " + site.getKey() + " could not enrol: "
            + tail(logs.resolve("enrol-" + site.getKey() + ".log")));
      }
    }
  }

  /** Starts 'hanse agent' for an enrolled site with {@code extraArgs}; its output goes to its log. */
  Process startAgent(String site, List<String> extraArgs, Map<String, String> environment) throws IOException {
    List<String> args = new java.util.ArrayList<>(List.of("agent", "--data-dir", siteDir(site).toString(),
        "--coordinator", address));
    args.addAll(extraArgs);
    return children.start(args, logs.resolve("agent-" + site + ".log"), environment);
  }

  /** The job's status as the coordinator last wrote it. */
  JobStatus status(String job) throws IOException {
    Path file = coordinatorDir.resolve("jobs").resolve(job).resolve("status.json");
    if (!Files.exists(file)) {
      throw new IllegalStateException("the coordinator wrote no job status at " + file);
    }
    return new ObjectMapper().readValue(file.toFile(), JobStatus.class);
  }

  private String awaitAddress(Process process, Path log) throws Exception {
    Path file = coordinatorDir.resolve(CoordinatorCommand.ADDRESS_FILE);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.exists(file)) {
        String written = Files.readString(file).strip();
        if (!written.isEmpty()) {
          return written;
        }
      }
      if (!process.isAlive()) {
        throw new IllegalStateException("the coordinator exited (" + process.exitValue() + ") before listening: "
            + tail(log));
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("the coordinator did not start listening within 60 s: " + tail(log));
  }

  /** The last 15 lines of a log, for an error message. */
  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }
}
