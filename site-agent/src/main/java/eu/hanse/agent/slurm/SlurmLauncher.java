package eu.hanse.agent.slurm;

import eu.hanse.agent.trainer.ExternalTrainer;
import eu.hanse.agent.trainer.ExternalTrainer.Failure;
import eu.hanse.agent.trainer.ExternalTrainer.Reason;
import eu.hanse.agent.trainer.TrainerLauncher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a round's trainer as a Slurm batch job: renders the site's template into the round's folder,
 * submits it with {@code sbatch}, follows it with {@code squeue} until it ends, and reads how long it
 * queued and the GPU time it held from {@code sacct}. A job whose round is no longer wanted, or that
 * runs past the agent's limit, is cancelled with {@code scancel}. A job that ends other than
 * COMPLETED fails the round with Slurm's state and exit code, and its GPU time still counts.
 */
public final class SlurmLauncher implements TrainerLauncher {
  private static final Logger log = LoggerFactory.getLogger(SlurmLauncher.class);
  /** How long sacct may take to show a finished job's final state (slurmctld reports it to slurmdbd). */
  private static final long ACCOUNTING_WAIT_MILLIS = 60_000;
  /** Where a round's folder notes its Slurm job. */
  private static final String JOB_ID_FILE = "slurm-job-id";
  /** How long one Slurm command may take. */
  private static final long COMMAND_SECONDS = 60;

  private final SlurmSettings settings;
  private final BatchScript script;

  /** @throws IllegalArgumentException if the template cannot be read or is not a usable one */
  public SlurmLauncher(SlurmSettings settings) {
    this.settings = settings;
    this.script = settings.template().map(SlurmLauncher::readTemplate)
        .orElseGet(() -> new BatchScript("the built-in template", BatchScript.DEFAULT));
  }

  private static BatchScript readTemplate(Path path) {
    try {
      return new BatchScript(path.toString(), Files.readString(path, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the Slurm template " + path + ": " + e.getMessage(), e);
    }
  }

  public SlurmSettings settings() {
    return settings;
  }

  @Override
  public String describe() {
    return "a Slurm batch job on " + settings.partition().map(name -> "partition " + name)
        .orElse("the default partition") + " (" + settings.nodes() + " node(s), "
        + settings.gpusPerNode() + " GPU(s) each, template " + script.name() + ")";
  }

  @Override
  public boolean holdsLiveRun(Path folder) {
    return liveJob(folder).isPresent();
  }

  /** The Slurm job noted in the round's folder, if Slurm still has it queued or running. */
  private Optional<String> liveJob(Path folder) {
    Path noted = folder.resolve(JOB_ID_FILE);
    if (!Files.isRegularFile(noted)) {
      return Optional.empty();
    }
    try {
      String id = Files.readString(noted).strip();
      if (!id.matches("\\d+(_\\d+)?")) {
        return Optional.empty();
      }
      String state = state(id);
      return state.isEmpty() || state.equals("UNKNOWN") || Accounting.FINAL_STATES.contains(state) ? Optional.empty()
          : Optional.of(id);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  @Override
  public Usage run(Run run) {
    Optional<String> left = liveJob(run.folder());
    if (left.isPresent()) {
      log.info("Slurm job {} for this round, submitted before the agent restarted, is still queued or running; "
          + "following it instead of submitting another", left.get());
      return follow(left.get(), run);
    }
    Path file = run.folder().resolve("job.sbatch");
    try {
      Files.writeString(file, script(run), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the batch script " + file + ": " + e.getMessage(), e);
    }
    String id = submit(file, run);
    log.info("submitted Slurm job {} ({})", id, file);
    try {
      Files.writeString(run.folder().resolve(JOB_ID_FILE), id + "\n");
    } catch (IOException e) {
      log.warn("cannot note the Slurm job id in {}: {}", run.folder(), e.getMessage());
    }
    return follow(id, run);
  }

  /** The batch script for a round: the site's template with the round's values. */
  public String script(Run run) {
    return script.render(values(run));
  }

  /** The values of the template's placeholders for this round. */
  private Map<String, String> values(Run run) {
    Map<String, String> values = new HashMap<>();
    Path folder = run.folder().toAbsolutePath();
    values.put("job_name", "hanse-" + folder.getParent().getFileName() + "-" + folder.getFileName());
    values.put("partition", settings.partition().orElse(""));
    values.put("account", settings.account().orElse(""));
    values.put("nodes", Integer.toString(settings.nodes()));
    values.put("gpus_per_node", settings.gpusPerNode() > 0 ? Integer.toString(settings.gpusPerNode()) : "");
    values.put("time_limit", settings.slurmTimeLimit());
    values.put("log", run.log().toAbsolutePath().toString());
    values.put("work_dir", BatchScript.quoted(folder.toString()));
    values.put("sbatch_options", settings.sbatchOptions().stream().map(option -> "#SBATCH " + option)
        .collect(Collectors.joining("\n")));
    values.put("modules", settings.modules().isEmpty() ? "" : "module load " + String.join(" ", settings.modules()));
    values.put("environment", new java.util.TreeMap<>(run.environment()).entrySet().stream()
        .map(variable -> "export " + variable.getKey() + "=" + BatchScript.quoted(variable.getValue()))
        .collect(Collectors.joining("\n")));
    values.put("container", settings.container().orElse(""));
    List<String> launch = new ArrayList<>();
    settings.container().ifPresent(image -> {
      launch.add(settings.containerCommand());
      launch.add(BatchScript.quoted(image));
    });
    run.command().forEach(word -> launch.add(BatchScript.quoted(word)));
    values.put("launch", String.join(" ", launch));
    return values;
  }

  private String submit(Path file, Run run) {
    Result submitted;
    try {
      submitted = command(List.of(settings.command("sbatch"), "--parsable", file.toAbsolutePath().toString()),
          run.folder());
    } catch (IOException e) {
      throw new Failure(Reason.NOT_STARTED, "cannot run sbatch: " + e.getMessage());
    }
    String id = submitted.out().strip().split(";")[0];
    if (submitted.status() != 0 || !id.matches("\\d+(_\\d+)?")) {
      throw new Failure(Reason.NOT_STARTED, "sbatch refused the job (status " + submitted.status() + "): "
          + (submitted.err().isBlank() ? submitted.out() : submitted.err()).strip());
    }
    return id;
  }

  /** Follows the job until it ends, is stopped, or runs past the limit. */
  private Usage follow(String id, Run run) {
    run.phases().accept("queue");
    long submitted = System.nanoTime();
    long started = 0;
    while (true) {
      Optional<String> stop = run.stop().reason();
      if (stop.isPresent()) {
        cancel(id);
        Accounting ended = accounting(id, submitted, started);
        throw new Failure(Reason.CANCELLED, "Slurm job " + id + " was cancelled: " + stop.get(), ended.deviceSeconds());
      }
      String state = state(id);
      if (started == 0 && (state.equals("RUNNING") || state.equals("COMPLETING"))) {
        started = System.nanoTime();
        log.info("Slurm job {} started after {} s in the queue", id, (started - submitted) / 1_000_000_000);
        run.phases().accept("train");
      }
      if (started != 0 && System.nanoTime() - started > run.limit().toNanos()) {
        cancel(id);
        Accounting ended = accounting(id, submitted, started);
        throw new Failure(Reason.TIMED_OUT, "Slurm job " + id + " ran past the trainer's limit of "
            + run.limit().toSeconds() + " s and was cancelled" + ExternalTrainer.tail(run.log()), ended.deviceSeconds());
      }
      if (state.isEmpty() || Accounting.FINAL_STATES.contains(state)) {
        break;
      }
      run.stop().await(settings.pollInterval().toMillis());
    }
    Accounting ended = accounting(id, submitted, started);
    log.info("Slurm job {} ended {} after {} s in the queue and {} s running on {} GPU(s), {} node(s)", id,
        ended.state(), Math.round(ended.queueSeconds()), ended.elapsedSeconds(), ended.gpus(), ended.nodes());
    switch (ended.state()) {
      case "COMPLETED" -> {
        return new Usage(ended.queueSeconds(), ended.elapsedSeconds(), ended.deviceSeconds());
      }
      case "TIMEOUT" -> throw new Failure(Reason.TIMED_OUT, "Slurm job " + id + " reached its time limit of "
          + settings.slurmTimeLimit() + ExternalTrainer.tail(run.log()), ended.deviceSeconds());
      case "CANCELLED" -> throw new Failure(Reason.CANCELLED, "Slurm job " + id + " was cancelled outside Hanse"
          + ExternalTrainer.tail(run.log()), ended.deviceSeconds());
      default -> throw new Failure(Reason.EXITED, "Slurm job " + id + " ended " + ended.state() + " (exit code "
          + ended.exitCode() + ")" + ExternalTrainer.tail(run.log()), ended.deviceSeconds());
    }
  }

  /** The job's state from squeue; empty once squeue no longer knows it. */
  private String state(String id) {
    try {
      Result result = command(List.of(settings.command("squeue"), "-h", "-j", id, "-o", "%T"), null);
      if (result.status() != 0) {
        if (result.err().contains("Invalid job id")) {
          return "";
        }
        log.warn("squeue failed for Slurm job {} (status {}): {}; asking again", id, result.status(),
            result.err().strip());
        return "UNKNOWN";
      }
      return result.out().strip().split("\n")[0].strip();
    } catch (IOException e) {
      log.warn("cannot run squeue: {}; asking again", e.getMessage());
      return "UNKNOWN";
    }
  }

  /**
   * How the job ended, from sacct, waiting a while for accounting to catch up. Where the site has
   * no accounting, what the agent saw itself, with every requested GPU counted, and the job taken
   * as completed: whether it trained is then for the trained checkpoint and the metrics to show.
   */
  private Accounting accounting(String id, long submitted, long started) {
    long deadline = System.currentTimeMillis() + ACCOUNTING_WAIT_MILLIS;
    String problem = "";
    while (System.currentTimeMillis() < deadline) {
      try {
        Result result = command(List.of(settings.command("sacct"), "-X", "-n", "-P", "-j", id,
            "--format=" + Accounting.FORMAT), null);
        if (result.status() == 0) {
          Optional<Accounting> line = Accounting.parse(result.out());
          if (line.isPresent() && line.get().ended()) {
            return line.get();
          }
          problem = line.map(a -> "sacct still says " + a.state()).orElse("sacct has no line for it yet");
        } else {
          problem = "sacct failed: " + result.err().strip();
          if (result.err().contains("accounting storage is disabled")) {
            break;
          }
        }
      } catch (IOException e) {
        problem = "cannot run sacct: " + e.getMessage();
      }
      pause(1000);
    }
    long now = System.nanoTime();
    long ran = started == 0 ? 0 : (now - started) / 1_000_000_000;
    log.warn("no accounting for Slurm job {} ({}); counting what the agent saw: {} s running", id, problem, ran);
    return new Accounting("COMPLETED", "?", ((started == 0 ? now : started) - submitted) / 1e9, ran,
        settings.nodes() * settings.gpusPerNode(), settings.nodes());
  }

  /** Cancels the job and waits until Slurm no longer lists it. */
  private void cancel(String id) {
    try {
      Result result = command(List.of(settings.command("scancel"), id), null);
      if (result.status() != 0) {
        log.warn("scancel {} failed (status {}): {}", id, result.status(), result.err().strip());
      }
    } catch (IOException e) {
      log.warn("cannot run scancel for Slurm job {}: {}", id, e.getMessage());
      return;
    }
    long deadline = System.currentTimeMillis() + COMMAND_SECONDS * 1000;
    while (System.currentTimeMillis() < deadline) {
      String state = state(id);
      if (state.isEmpty() || Accounting.FINAL_STATES.contains(state)) {
        log.info("Slurm job {} cancelled", id);
        return;
      }
      pause(500);
    }
    log.warn("Slurm job {} is still listed a minute after scancel", id);
  }

  private record Result(int status, String out, String err) {}

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
    Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
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

  /** Waits between two questions to Slurm; an interrupted wait ends at once, the flag kept. */
  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
