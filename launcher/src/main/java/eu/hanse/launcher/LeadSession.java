package eu.hanse.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The demo's training lead: runs 'hanse job ...' commands as their own processes against the
 * running coordinator, with the lead's certificate, and shows each command and what it printed.
 */
final class LeadSession {
  private final ChildProcesses children;
  private final String coordinator;
  private final Path credential;
  private final Path logs;
  private final PrintStream out;
  private int commands;

  LeadSession(ChildProcesses children, String coordinator, Path credential, Path logs, PrintStream out) {
    this.children = children;
    this.coordinator = coordinator;
    this.credential = credential;
    this.logs = logs;
    this.out = out;
  }

  /** As {@link #run}, but a failure is shown, not thrown: the job may have ended meanwhile. */
  boolean tryRun(String... args) throws IOException, InterruptedException {
    try {
      run(args);
      return true;
    } catch (IllegalStateException e) {
      out.println("lead$ " + e.getMessage().lines().findFirst().orElse(""));
      return false;
    }
  }

  /** Runs {@code hanse ARGS --coordinator ... --credential ...}; fails if it does not exit 0. */
  void run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(args));
    command.addAll(List.of("--coordinator", coordinator, "--credential", credential.toString()));
    Path log = logs.resolve("lead-" + (++commands) + ".log");
    Process process = children.start(command, log);
    if (!process.waitFor(2, TimeUnit.MINUTES) || process.exitValue() != 0) {
      throw new IllegalStateException("hanse " + String.join(" ", args) + " failed: " + String.join("\n",
          Files.readAllLines(log).stream().filter(line -> !line.startsWith(ChildProcesses.INCUBATOR_NOTICE)).toList()));
    }
    out.println("lead$ hanse " + String.join(" ", args));
    for (String line : Files.readAllLines(log)) {
      if (!line.startsWith(ChildProcesses.INCUBATOR_NOTICE)) {
        out.println("  " + line);
      }
    }
  }
}
