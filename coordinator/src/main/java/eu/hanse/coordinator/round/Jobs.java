package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.coordinator.job.ModelShape;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.jobfile.JobDefinition;
import eu.hanse.coordinator.jobfile.JobFile;
import eu.hanse.coordinator.storage.StateStore;
import eu.hanse.model.ModelSource;
import eu.hanse.model.SyntheticModel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The jobs a coordinator runs, by id, in the order they were submitted: those its state holds, and
 * those submitted since, each with checkpoint 0 written and signed. Once {@link #start()}ed, each
 * job runs on a platform thread of its own. Thread-safe.
 */
public final class Jobs {
  private final JobContext context;
  private final JobFile jobFiles;
  /** Makes the built-in kind of initial model; null when jobs come with their model. */
  private final ModelFactory models;
  /** Guarded by this. */
  private final Map<String, JobRun> runs = new LinkedHashMap<>();
  /** Guarded by this. */
  private final Map<String, Thread> threads = new LinkedHashMap<>();
  /** Guarded by this. */
  private boolean started;

  /** The jobs the context's state holds, loaded; none runs before {@link #start()}. */
  public Jobs(JobContext context, JobFile jobFiles, ModelFactory models) {
    this.context = context;
    this.jobFiles = jobFiles;
    this.models = models;
    for (StateStore.StoredJob stored : context.store().jobs()) {
      JobRun run = load(stored);
      runs.put(run.id().value(), run);
    }
  }

  private JobRun load(StateStore.StoredJob stored) {
    JobSpec spec = jobFiles.parse("job " + stored.id(), stored.definition().getBytes(StandardCharsets.UTF_8)).spec();
    return new JobRun(spec, context);
  }

  /** Reads job files as this coordinator's model factory allows. */
  public JobFile jobFiles() {
    return jobFiles;
  }

  /**
   * Adds a job from its file; its initial model is synthetic or comes from the model factory.
   * Submitting a job whose id is taken is refused, unless the file is the same one (a restart that
   * submits its jobs again), which changes nothing.
   *
   * @return the job's status
   * @throws IllegalArgumentException if a different job of the same id exists
   */
  public JobStatus submit(JobDefinition definition, String by) {
    Optional<JobRun> existing = find(definition.spec().id().value());
    if (existing.isPresent()) {
      return same(existing.get(), definition.source());
    }
    return submit(definition.spec(), definition.source(), initialModel(definition), by);
  }

  private ModelSource initialModel(JobDefinition definition) {
    ModelShape shape = definition.model();
    if (shape.kind() == ModelShape.Kind.SYNTHETIC) {
      return SyntheticModel.create(shape.parameters(), definition.spec().seed());
    }
    if (models == null) {
      throw new IllegalStateException("this coordinator has no model factory; submit the initial model with the job");
    }
    return ModelSource.of(models.create(shape, definition.spec().seed()));
  }

  /** Adds a job with its definition's text and initial model, written a block at a time; see {@link #submit(JobDefinition, String)}. */
  public synchronized JobStatus submit(JobSpec spec, String definition, ModelSource initialModel, String by) {
    Optional<JobRun> existing = find(spec.id().value());
    if (existing.isPresent()) {
      return same(existing.get(), definition);
    }
    RoundCommit.createJob(spec, definition, initialModel, by, context.store(), context.checkpoints(),
        context.consortium());
    JobRun run = load(context.store().job(spec.id().value()).orElseThrow());
    runs.put(run.id().value(), run);
    if (started) {
      startThread(run);
    }
    return run.status();
  }

  private JobStatus same(JobRun run, String definition) {
    String stored = context.store().job(run.id().value()).orElseThrow().definition();
    if (!stored.equals(definition)) {
      throw new IllegalArgumentException("job " + run.id() + " exists already with another definition; choose "
          + "another id for the new job");
    }
    return run.status();
  }

  /** Starts every job's thread; jobs submitted from now on start at once. */
  public synchronized void start() {
    started = true;
    runs.values().forEach(this::startThread);
  }

  private void startThread(JobRun run) {
    Thread thread = Thread.ofPlatform().name("hanse-job-" + run.id()).daemon().unstarted(run);
    threads.put(run.id().value(), thread);
    thread.start();
  }

  public synchronized Optional<JobRun> find(String id) {
    return Optional.ofNullable(runs.get(id));
  }

  /** The job an update or report names, or a refusal saying it does not run here. */
  public JobRun require(String id) {
    return find(id).orElseThrow(() -> new RefusedException(Refusal.NOT_OPEN_ROUND, "job '" + id
        + "' is not running here"));
  }

  public synchronized List<JobRun> all() {
    return new ArrayList<>(runs.values());
  }

  /** The jobs' status, in the order they were submitted. */
  public List<JobStatus> statuses() {
    return all().stream().map(JobRun::status).toList();
  }

  /** A job's status, if there is such a job. */
  public Optional<JobStatus> status(String id) {
    return find(id).map(JobRun::status);
  }

  private synchronized List<Thread> threads() {
    return List.copyOf(threads.values());
  }

  /** Waits for every job to finish, fail or be cancelled; false if one still runs after {@code timeout}. */
  public boolean awaitAll(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    for (Thread thread : threads()) {
      long left = end - System.nanoTime();
      if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Asks every job's thread to stop at its next wait, the jobs staying as stored, and waits up to
   * {@code grace} for each: their last words (the final state) go to the audit trail and the state.
   */
  public void stop(Duration grace) {
    all().forEach(JobRun::stop);
    try {
      for (Thread thread : threads()) {
        thread.join(grace);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
