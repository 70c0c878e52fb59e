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
  private static final long ACCOUNTING_WAIT_MILLIS = 300_000;
  /** How long the agent keeps cancelling a job Slurm still lists. */
  private static final long CANCEL_WAIT_MILLIS = 300_000;
  /** Where a round's folder notes its Slurm job. */
  private static final String JOB_ID_FILE = "slurm-job-id";

  private final SlurmSettings settings;
  private final BatchScript script;
  private final SlurmCommands slurm;

  /** @throws IllegalArgumentException if the template cannot be read or is not a usable one */
  public SlurmLauncher(SlurmSettings settings) {
    this.settings = settings;
    this.slurm = new SlurmCommands(settings);
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

  @Override
  public String describe() {
    return "a Slurm batch job on " + settings.partition().map(name -> "partition " + name)
        .orElse("the default partition") + " (" + settings.nodes() + " node(s), "
        + settings.gpusPerNode() + " GPU(s) each, template " + script.name() + ")";
  }

  @Override
  public boolean outlivesAgent() {
    return true;
  }

  /**
   * The Slurm job noted in the round's folder, if it is worth following: still queued or running,
   * completed, or of a state Slurm cannot tell now ({@link #follow} asks until it can). A job that
   * ended otherwise is not: the round starts afresh.
   */
  @Override
  public Optional<String> earlierRun(Path folder) {
    Optional<String> id = notedJob(folder);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    String state = slurm.state(id.get());
    if (Accounting.live(state)) {
      return id;
    }
    boolean completed = state.equals("COMPLETED")
        || slurm.sacct(id.get()).line().map(line -> line.state().equals("COMPLETED")).orElse(false);
    return completed ? id : Optional.empty();
  }

  private static Optional<String> notedJob(Path folder) {
    try {
      Path noted = folder.resolve(JOB_ID_FILE);
      String id = Files.isRegularFile(noted) ? Files.readString(noted).strip() : "";
      return id.matches(SlurmCommands.JOB_ID) ? Optional.of(id) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  @Override
  public Usage run(Run run) {
    cancelOrphans(run.folder());
    if (run.earlier().isPresent()) {
      log.info("Slurm job {} for this round, submitted before the agent restarted, is queued, running or done; "
          + "following it instead of submitting another", run.earlier().get());
      return follow(run.earlier().get(), run);
    }
    Path file = run.folder().resolve("job.sbatch");
    Map<String, String> values = values(run);
    try {
      Files.writeString(file, script.render(values), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the batch script " + file + ": " + e.getMessage(), e);
    }
    String id = submit(file, run, values.get("job_name"));
    log.info("submitted Slurm job {} ({})", id, file);
    try {
      Files.writeString(run.folder().resolve(JOB_ID_FILE), id + "\n");
    } catch (IOException e) {
      log.warn("cannot note the Slurm job id in {}: {}", run.folder(), e.getMessage());
    }
    return follow(id, run);
  }

  /**
   * Cancels the jobs noted in the other rounds' folders that Slurm still has queued or running: an
   * agent follows one job at a time, so they are left from an earlier run of the agent, and no one
   * will take what they train.
   */
  private void cancelOrphans(Path folder) {
    Path work = folder.toAbsolutePath().getParent().getParent();
    Map<String, Path> noted = new java.util.TreeMap<>();
    try (var rounds = Files.find(work, 2, (path, attributes) -> attributes.isDirectory()
        && path.getFileName().toString().startsWith("round-") && !path.equals(folder.toAbsolutePath()))) {
      rounds.forEach(round -> notedJob(round).ifPresent(id -> noted.put(id, round)));
    } catch (IOException | UncheckedIOException e) {
      log.debug("cannot look for Slurm jobs left in {}: {}", work, e.getMessage());
      return;
    }
    if (noted.isEmpty()) {
      return;
    }
    Map<String, String> live = slurm.myJobs();
    noted.forEach((id, round) -> {
      String state = live.getOrDefault(id, "");
      if (Accounting.live(state)) {
        log.warn("Slurm job {} ({}, {}), left by an earlier run of the agent, is {} and no one follows it; "
            + "cancelling it", id, round.getParent().getFileName(), round.getFileName(), state);
        cancel(id);
      }
    });
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

  private String submit(Path file, Run run, String name) {
    SlurmCommands.Result submitted;
    try {
      submitted = slurm.sbatch(file, run.folder());
    } catch (IOException e) {
      // sbatch may have taken the job before it stopped answering: look for it by its name.
      return slurm.jobNamed(name).orElseThrow(() -> new Failure(Reason.NOT_STARTED, "cannot run sbatch: "
          + e.getMessage()));
    }
    Optional<String> id = SlurmCommands.submittedId(submitted.out());
    if (submitted.status() == 0 && id.isEmpty()) {
      id = slurm.jobNamed(name);
    }
    if (submitted.status() != 0 || id.isEmpty()) {
      throw new Failure(Reason.NOT_STARTED, "sbatch refused the job (status " + submitted.status() + "): "
          + submitted.complaint());
    }
    return id.get();
  }

  /** Follows the job until it ends, is stopped, or runs past the limit. */
  private Usage follow(String id, Run run) {
    run.phases().accept("queue");
    long submitted = System.nanoTime();
    long started = 0;
    while (true) {
      Optional<String> stop = run.stop().reason();
      if (stop.isPresent()) {
        throw new Failure(Reason.CANCELLED, "Slurm job " + id + " was cancelled: " + stop.get(),
            cancelAndCount(id, submitted, started));
      }
      String state = slurm.state(id);
      if (started == 0 && (state.equals("RUNNING") || state.equals("COMPLETING"))) {
        started = System.nanoTime();
        log.info("Slurm job {} started after {} s in the queue", id, (started - submitted) / 1_000_000_000);
        run.phases().accept("train");
      }
      if (started != 0 && System.nanoTime() - started > run.limit().toNanos()) {
        throw new Failure(Reason.TIMED_OUT, "Slurm job " + id + " ran past the trainer's limit of "
            + run.limit().toSeconds() + " s and was cancelled" + ExternalTrainer.tail(run.log()),
            cancelAndCount(id, submitted, started));
      }
      if (!Accounting.live(state)) {
        break;
      }
      run.stop().await(settings.pollInterval().toMillis());
    }
    Accounting ended = accounting(id, submitted, started);
    log.info("Slurm job {} ended {} after {} s in the queue and {} s running on {} GPU(s), {} node(s)", id,
        ended.state(), Math.round(ended.queueSeconds()), ended.elapsedSeconds(), ended.gpus(), ended.nodes());
    switch (ended.state()) {
      case "COMPLETED", Accounting.UNACCOUNTED -> {
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

  /** Cancels the job; the device-seconds it held until then. */
  private double cancelAndCount(String id, long submitted, long started) {
    cancel(id);
    return accounting(id, submitted, started).deviceSeconds();
  }

  /**
   * How the job ended, from sacct, waiting up to five minutes for accounting to catch up. Where the
   * cluster keeps no accounting, or sacct gives nothing in that time, what the agent saw itself:
   * every requested GPU for the time since the job started (since its submission, when the agent
   * never saw it start), the state {@link Accounting#UNACCOUNTED}, and whether it trained is for the
   * trained checkpoint and the metrics to show.
   */
  private Accounting accounting(String id, long submitted, long started) {
    long deadline = System.currentTimeMillis() + ACCOUNTING_WAIT_MILLIS;
    SlurmCommands.Accounted answer;
    while (true) {
      answer = slurm.sacct(id);
      if (answer.line().isPresent() && answer.line().get().ended()) {
        return answer.line().get();
      }
      if (answer.disabled() || System.currentTimeMillis() > deadline) {
        break;
      }
      pause(answer.line().isPresent() ? 1000 : 5000);
    }
    long now = System.nanoTime();
    long ran = (now - (started == 0 ? submitted : started)) / 1_000_000_000;
    int gpus = settings.nodes() * settings.gpusPerNode();
    log.warn("no accounting for Slurm job {} ({}); counting what the agent saw: {} s with {} GPU(s)", id,
        answer.problem(), ran, gpus);
    return new Accounting(Accounting.UNACCOUNTED, "?", ((started == 0 ? now : started) - submitted) / 1e9, ran, gpus,
        settings.nodes());
  }

  /** Cancels the job, asking again every 10 s, until Slurm no longer lists it or five minutes have passed. */
  private void cancel(String id) {
    long deadline = System.currentTimeMillis() + CANCEL_WAIT_MILLIS;
    long nextAsk = 0;
    while (System.currentTimeMillis() < deadline) {
      if (System.currentTimeMillis() >= nextAsk) {
        slurm.scancel(id);
        nextAsk = System.currentTimeMillis() + 10_000;
      }
      String state = slurm.state(id);
      if (!Accounting.live(state)) {
        log.info("Slurm job {} cancelled", id);
        return;
      }
      pause(500);
    }
    log.error("Slurm job {} is still listed five minutes after the agent began cancelling it; cancel it by hand "
        + "(scancel {})", id, id);
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
