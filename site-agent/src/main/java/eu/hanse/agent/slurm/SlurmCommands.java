package eu.hanse.agent.slurm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Slurm commands the agent runs, each waited for at most a minute: sbatch, squeue, sacct and
 * scancel, from the site's bin-dir or the PATH. A command that cannot run, or fails for a reason
 * other than an unknown job, reads as "cannot tell now", never as "the job is gone".
 */
final class SlurmCommands {
  private static final Logger log = LoggerFactory.getLogger(SlurmCommands.class);
  /** A Slurm job id, of a job or of one task of an array. */
  static final String JOB_ID = "\\d+(_\\d+)?";
  /** What {@link #state} answers when Slurm cannot be asked now. */
  static final String UNKNOWN = "UNKNOWN";
  /** How long one Slurm command may take. */
  private static final long COMMAND_SECONDS = 60;

  private final SlurmSettings settings;

  SlurmCommands(SlurmSettings settings) {
    this.settings = settings;
  }

  record Result(int status, String out, String err) {
    String complaint() {
      return (err.isBlank() ? out : err).strip();
    }
  }

  /** Submits the script; its job id, or a result with the reason it was refused. */
  Result sbatch(Path script, Path directory) throws IOException {
    return command(List.of(settings.command("sbatch"), "--parsable", script.toAbsolutePath().toString()), directory);
  }

  /** The id in sbatch's parsable output ("ID" or "ID;CLUSTER", on its last line). */
  static Optional<String> submittedId(String out) {
    List<String> lines = out.strip().lines().toList();
    for (int i = lines.size() - 1; i >= 0; i--) {
      String id = lines.get(i).strip().split(";")[0];
      if (id.matches(JOB_ID)) {
        return Optional.of(id);
      }
    }
    return Optional.empty();
  }

  /** The user's job of this name, when Slurm lists exactly one. */
  Optional<String> jobNamed(String name) {
    try {
      Result result = command(List.of(settings.command("squeue"), "-h", "--me", "--name=" + name, "-o", "%i"), null);
      List<String> ids = result.out().strip().lines().map(String::strip).filter(id -> id.matches(JOB_ID)).toList();
      return result.status() == 0 && ids.size() == 1 ? Optional.of(ids.get(0)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The job's state from squeue; empty once squeue no longer lists it; {@link #UNKNOWN} if it cannot be asked. */
  String state(String id) {
    try {
      Result result = command(List.of(settings.command("squeue"), "-h", "-j", id, "-o", "%T"), null);
      if (result.status() != 0) {
        if (result.err().contains("Invalid job id")) {
          return "";
        }
        log.warn("squeue failed for Slurm job {} (status {}): {}; asking again", id, result.status(), result.complaint());
        return UNKNOWN;
      }
      return result.out().strip().lines().findFirst().orElse("").strip();
    } catch (IOException e) {
      log.warn("cannot run squeue: {}; asking again", e.getMessage());
      return UNKNOWN;
    }
  }

  /** The state of each of the user's jobs squeue lists, by id; empty if it cannot be asked. */
  Map<String, String> myJobs() {
    Map<String, String> jobs = new HashMap<>();
    try {
      Result result = command(List.of(settings.command("squeue"), "-h", "--me", "-o", "%i|%T"), null);
      if (result.status() == 0) {
        result.out().lines().map(line -> line.strip().split("\\|")).filter(f -> f.length == 2)
            .forEach(f -> jobs.put(f[0], f[1]));
      }
    } catch (IOException e) {
      log.debug("cannot list the user's Slurm jobs: {}", e.getMessage());
    }
    return jobs;
  }

  /** What sacct says of the job; a problem in words when it says nothing usable. */
  record Accounted(Optional<Accounting> line, String problem, boolean disabled) {}

  Accounted sacct(String id) {
    try {
      Result result = command(List.of(settings.command("sacct"), "-X", "-n", "-P", "-j", id,
          "--format=" + Accounting.FORMAT), null);
      if (result.status() != 0) {
        return new Accounted(Optional.empty(), "sacct failed: " + result.complaint(),
            result.err().contains("accounting storage is disabled"));
      }
      Optional<Accounting> line = Accounting.parse(result.out());
      return new Accounted(line, line.map(a -> "sacct says " + a.state()).orElse("sacct has no line for it yet"),
          false);
    } catch (IOException e) {
      return new Accounted(Optional.empty(), "cannot run sacct: " + e.getMessage(), false);
    }
  }

  /** Asks Slurm to cancel the job; false if scancel could not run or refused. */
  boolean scancel(String id) {
    try {
      Result result = command(List.of(settings.command("scancel"), id), null);
      if (result.status() != 0) {
        log.warn("scancel {} failed (status {}): {}", id, result.status(), result.complaint());
      }
      return result.status() == 0;
    } catch (IOException e) {
      log.warn("cannot run scancel for Slurm job {}: {}", id, e.getMessage());
      return false;
    }
  }

  /**
   * Runs a Slurm command and waits for it. It waits even when the agent's thread was interrupted,
   * so that a job is still cancelled while the agent stops.
   */
  private static Result command(List<String> command, Path directory) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command);
    if (directory != null) {
      builder.directory(directory.toFile());
    }
    Path out = Files.createTempFile("hanse-slurm", ".out");
    Path err = Files.createTempFile("hanse-slurm", ".err");
    try {
      Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!ended(process, COMMAND_SECONDS)) {
        process.destroyForcibly();
        throw new IOException(command.get(0) + " did not answer in " + COMMAND_SECONDS + " s");
      }
      return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** Waits up to {@code seconds} for the process to end, through interruptions, keeping the flag. */
  private static boolean ended(Process process, long seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
