package eu.hanse.coordinator.round;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.StateStore;
import eu.hanse.model.SafetensorsFile;
import eu.hanse.security.SiteId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs one job on its own thread: wait for its start and its sites, evaluate the initial model,
 * then for each round open it, wait for it to close as the job's {@link RoundPolicy} says, commit it
 * ({@link RoundCommit}) and evaluate the checkpoint ({@link Evaluations}).
 *
 * <p>Its parts share one {@link JobLock}: the round state changes under it whichever thread brings
 * the change (the job's own thread, or the transport's threads through {@link #intake()}), so the
 * state machine reads top to bottom in {@link #run()}.
 */
public final class JobRun implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(JobRun.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final int ATTEMPTS_PER_ROUND = 3;

  private final JobSpec spec;
  /** The model's parameters; the model itself is only ever in its checkpoint files. */
  private final long elementCount;
  private final JobLock lock = new JobLock();
  private final JobLifecycle lifecycle;
  private final JobHistory history;
  private final SiteEligibility eligibility;
  private final RoundPolicy policy;
  private final RoundCommit commits;
  private final Evaluations evaluations;
  private final UpdateIntake intake;
  private final SiteSessions sessions;
  private final StateStore store;
  private final ProgressPrinter progress;
  private final Path statusFile;
  private final Consortium consortium;
  private final Clock clock;
  /** Whether the coordinator's server requires every caller's certificate, for the status. */
  private final boolean mutualTls;
  /** The open round; null between rounds. Guarded by the lock. */
  private OpenRound openRound;
  /** Why the job waits for sites, while it does; null otherwise. Guarded by the lock. */
  private String waiting;

  /**
   * The job as the store has it: from its latest committed checkpoint, with the outer optimizer's
   * state, the privacy spent and the round records so far, and its paused or final state.
   */
  JobRun(JobSpec spec, JobContext context) {
    this.mutualTls = context.mutualTls();
    this.spec = spec;
    this.store = context.store();
    this.sessions = context.sessions();
    this.progress = context.progress();
    this.consortium = context.consortium();
    this.clock = context.clock();
    CheckpointStore checkpoints = context.checkpoints();
    CheckpointStore optimizerStates = context.optimizerStates();
    this.statusFile = context.dataDir().resolve("jobs").resolve(spec.id().value()).resolve("status.json");
    StateStore.StoredJob stored = store.job(spec.id().value())
        .orElseThrow(() -> new IllegalStateException("job " + spec.id() + " is not in the coordinator's state"));
    this.lifecycle = new JobLifecycle(spec.id(), stored, store, consortium, lock);
    List<StateStore.StoredCheckpoint> committed = store.checkpoints(spec.id().value());
    this.history = new JobHistory(spec, committed, store.rounds(spec.id().value()), checkpoints);
    try (SafetensorsFile checkpoint = SafetensorsFile.open(history.latest().path())) {
      this.elementCount = checkpoint.length();
    }
    this.eligibility = new SiteEligibility(spec, lock, sessions, clock, store.deviceSeconds(spec.id().value()));
    RoundPolicy.Job view = new RoundPolicy.Job() {
      @Override
      public OpenRound openRound() {
        return openRound;
      }

      @Override
      public boolean opensMoreRounds() {
        return lifecycle.running() && history.committedRounds() < spec.rounds();
      }

      @Override
      public List<AgentLink> eligibleOnline() {
        return eligibility.eligibleOnline();
      }
    };
    this.policy = RoundPolicy.of(spec, lock, view);
    this.commits = new RoundCommit(spec, policy, new NextCheckpoint(spec, checkpoints, optimizerStates, elementCount),
        committed.get(committed.size() - 1).optimizerState(), history.records(), store, consortium, progress);
    this.evaluations = new Evaluations(spec, lock, sessions);
    this.intake = new UpdateIntake(spec, lock, policy, view, lifecycle, eligibility, store, consortium);
    sessions.addListener(lock::signalAll);
    sessions.addConnectListener(this::resendPendingWork);
  }

  /**
   * A site that (re)connects while a round or an evaluation it belongs to is open gets that work
   * again: what was sent on its old stream may never have reached it.
   */
  private void resendPendingWork(AgentLink link) {
    synchronized (lock) {
      policy.reconnected(link, openRound);
    }
    evaluations.reconnected(link);
  }

  public JobId id() {
    return spec.id();
  }

  /** How long a round of this job waits for updates. */
  public Duration roundDeadline() {
    return spec.roundDeadline();
  }

  /** Where the transport hands the job its sites' updates, refusals and failed training. */
  public UpdateIntake intake() {
    return intake;
  }

  @Override
  public void run() {
    // Every line the job's thread logs names the job (and the round, once one is open).
    MDC.put("job", spec.id().value());
    try {
      runRounds();
    } catch (Cancelled e) {
      finish(JobStatus.CANCELLED, "cancelled by a training lead" + (e.round == 0 ? ""
          : "; round " + e.round + " was abandoned open"));
    } catch (InterruptedException e) {
      // The coordinator is stopping: the job stays as stored, and resumes when it starts again.
      log.info("job {} stopped after round {}; it resumes when the coordinator starts again on its data directory",
          spec.id(), history.committedRounds());
    } catch (RuntimeException e) {
      log.atError().addKeyValue("reason", "JOB_FAILED").setCause(e).log("job {} failed: {}", spec.id(), e.getMessage());
      finish(JobStatus.FAILED, e.getMessage());
    }
  }

  /** A training lead cancelled the job; an open round is abandoned, not committed. */
  private static final class Cancelled extends Exception {
    final long round;

    Cancelled(long round) {
      super(null, null, false, false);
      this.round = round;
    }
  }

  /** Ends the job's thread at once if the job was cancelled; an open round is abandoned first. */
  private void requireNotCancelled(OpenRound open) throws Cancelled {
    synchronized (lock) {
      if (!lock.cancelled()) {
        return;
      }
      if (open != null) {
        open.close();
        openRound = null;
        open.release();
        policy.abandoned();
        consortium.audit("round.abandoned", Map.of("job", spec.id().value(), "round", Long.toString(open.number),
            "reason", "job cancelled"));
        log.info("round {} of job {} abandoned: the job was cancelled", open.number, spec.id());
      }
    }
    throw new Cancelled(open == null ? 0 : open.number);
  }

  /**
   * Why a site's work for a round of this job is no longer wanted, if it is not: the job was
   * cancelled or has ended, or the policy says the round has closed. Asked with each heartbeat of
   * a site that trains, so that it stops, and cancels its batch job, instead of finishing work
   * nobody will take. Reads only volatile fields: a heartbeat never waits for a commit.
   */
  public Optional<String> unwantedWork(long round) {
    if (lock.cancelled()) {
      return Optional.of("job " + spec.id() + " was cancelled");
    }
    String now = lifecycle.state();
    if (!now.equals(JobStatus.RUNNING)) {
      return Optional.of("job " + spec.id() + " has ended (" + now + ")");
    }
    return policy.closedRound(round, history.committedRounds());
  }

  private void runRounds() throws InterruptedException, Cancelled {
    if (!lifecycle.running()) {
      return;
    }
    awaitStart();
    if (history.committedRounds() == 0) {
      awaitSites(spec.startSites());
    }
    requireNotCancelled(null);
    progress.line("sites online: " + String.join(", ", sessions.online().stream()
        .map(link -> link.site() + " (" + link.device() + ")").toList()));
    if (!history.initialEvaluated()) {
      OptionalDouble initialLoss = evaluations.evaluate(history.initial());
      synchronized (lock) {
        commits.initialEvaluated(initialLoss, history);
      }
      progress.started(spec, elementCount, format(initialLoss));
    } else {
      progress.line("job " + spec.id() + " resumes after round " + history.committedRounds() + " of "
          + spec.rounds());
    }
    writeStatus();
    for (int round = history.committedRounds() + 1; round <= spec.rounds(); round++) {
      lifecycle.awaitUnpaused();
      RoundRecord record = runRound(round);
      if (record == null) {
        finish(JobStatus.FAILED, "round " + round + " got fewer than " + spec.minSites()
            + " updates in " + ATTEMPTS_PER_ROUND + " attempts");
        return;
      }
      progress.committed(spec.rounds(), record);
    }
    finish(JobStatus.FINISHED, null);
  }

  /** Waits for the job's start time, if it has one in the future. */
  private void awaitStart() throws InterruptedException {
    Instant start = spec.schedule().start();
    if (start == null || !clock.instant().isBefore(start)) {
      return;
    }
    progress.line("job " + spec.id() + " starts at " + start);
    setWaiting("starts at " + start);
    while (clock.instant().isBefore(start) && !lock.cancelled()) {
      long millis = Math.min(Duration.between(clock.instant(), start).toMillis() + 1, 60_000);
      lock.awaitUntil(() -> false, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
    }
    setWaiting(null);
  }

  /** Runs a round until it commits, opening it again if it closes without enough updates; null if it never commits. */
  private RoundRecord runRound(int round) throws InterruptedException, Cancelled {
    for (int attempt = 1; attempt <= ATTEMPTS_PER_ROUND; attempt++) {
      awaitSites(policy.sitesToOpen());
      requireNotCancelled(null);
      OpenRound open = open(round);
      policy.awaitClose(open);
      requireNotCancelled(open);
      RoundRecord committed = closeAndCommit(open);
      if (committed != null) {
        boolean evaluates = policy.evaluatesAfter(round, spec.rounds());
        OptionalDouble loss = evaluates ? evaluations.evaluate(history.latest()) : OptionalDouble.empty();
        synchronized (lock) {
          double evaluationSeconds = evaluates ? evaluations.secondsSinceLastStarted() : 0;
          RoundRecord record = commits.evaluated(committed, loss, evaluationSeconds, history);
          writeStatus();
          return record;
        }
      }
      RoundPolicy.Failure failure = policy.failure(open);
      log.atWarn().addKeyValue("reason", failure.reason()).log("round {} of job {} failed: {}; opening it again",
          round, spec.id(), failure.message());
    }
    return null;
  }

  /**
   * Opens a round for the eligible online sites. Updates accepted in it before (an earlier attempt,
   * or before the coordinator restarted) count again, folded from their spool files; their sites
   * are not asked to train again.
   */
  private OpenRound open(int round) {
    synchronized (lock) {
      MDC.put("round", Integer.toString(round));
      lock.signalAll(); // Uploads carried over from the last round wait for this one.
      List<AgentLink> links = eligibility.eligibleOnline();
      List<StateStore.StoredUpdate> kept = store.acceptedUpdates(spec.id().value(), round);
      List<SiteId> participants = new ArrayList<>(links.stream().map(AgentLink::site).toList());
      kept.stream().map(u -> new SiteId(u.site())).filter(site -> !participants.contains(site))
          .forEach(participants::add);
      CheckpointRef base = history.latest();
      openRound = new OpenRound(spec, policy, round, base, participants, elementCount);
      consortium.announce("round.opened", Map.of("job", spec.id().value(), "round", round, "base", base.sha256(),
          "participants", participants.stream().map(SiteId::name).toList()));
      for (StateStore.StoredUpdate update : kept) {
        openRound.restore(new SiteId(update.site()), update.updateId(), update.samples(), update.trainLoss(),
            update.bytes(), Path.of(update.spoolFile()), update.norm(), update.trainedFor());
      }
      log.info("round {} of job {} open for {}{}", round, spec.id(), participants,
          kept.isEmpty() ? "" : " (" + kept.size() + " updates already accepted)");
      policy.dispatch(openRound, links);
      return openRound;
    }
  }

  /** Takes no more updates for the round, and commits it if it has enough; null if it has not. */
  private RoundRecord closeAndCommit(OpenRound round) {
    synchronized (lock) {
      round.close();
      openRound = null;
      if (!policy.quorumIn(round)) {
        round.release();
        return null;
      }
      RoundRecord record = commits.commit(round, history);
      writeStatus();
      return record;
    }
  }

  /** A site reports its held-out loss of the checkpoint the job evaluates. */
  public void evaluated(SiteId site, String jobId, String checkpointSha, double loss, long samples) {
    if (!jobId.equals(spec.id().value())) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "job '" + jobId + "' is not running here");
    }
    evaluations.report(site, checkpointSha, loss, samples);
  }

  public void pause(String by) {
    synchronized (lock) {
      if (lifecycle.pause(by)) {
        writeStatus();
      }
    }
  }

  public void resume(String by) {
    synchronized (lock) {
      if (lifecycle.resume(by)) {
        writeStatus();
      }
    }
  }

  public void cancel(String by) {
    lifecycle.cancel(by);
  }

  /** Asks the job's thread to end at its next wait, the job staying as stored. */
  public void stop() {
    lock.stop();
  }

  /** The job's current status; safe from any thread. */
  public JobStatus status() {
    synchronized (lock) {
      CheckpointRef initial = history.initial();
      CheckpointRef latest = history.latest();
      return new JobStatus(spec.id().value(), lifecycle.shown(), spec.rounds(), history.committedRounds(),
          spec.outer().describe(), spec.aggregator().describe(), spec.privacy().describe(), spec.codec().describe(),
          sessions.online().stream().map(l -> l.site().name()).toList(),
          initial == null ? null : initial.path().toString(), latest == null ? null : latest.path().toString(),
          history.heldOutLoss(), history.bytesUploaded(), eligibility.deviceHours(), waiting, mutualTls,
          history.records());
    }
  }

  private void finish(String finalState, String reason) {
    int rounds = history.committedRounds();
    lifecycle.finish(finalState, reason, rounds);
    writeStatus();
    CheckpointRef latest;
    synchronized (lock) {
      latest = history.latest();
    }
    if (finalState.equals(JobStatus.FINISHED)) {
      progress.line("job " + spec.id() + " finished: " + rounds + " rounds; final checkpoint " + latest.path());
    } else {
      progress.line("job " + spec.id() + " " + finalState.toLowerCase(Locale.ROOT) + ": " + reason);
    }
    if (!finalState.equals(JobStatus.FAILED) && latest != null) {
      for (AgentLink link : sessions.online()) {
        link.sendFinished(spec.id(), latest, rounds);
      }
    }
  }

  /**
   * Waits until {@code needed} eligible sites are online, the required ones among them; meanwhile
   * the job's status says what it waits for, and a line goes to the progress output every 30 s.
   */
  private void awaitSites(int needed) throws InterruptedException {
    long nextLine = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!eligibility.enough(needed) && !lock.cancelled()) {
      String reason = eligibility.missing(needed);
      synchronized (lock) {
        if (!reason.equals(waiting)) {
          log.info("job {} waits: {}", spec.id(), reason);
          setWaiting(reason);
        }
      }
      lock.awaitUntil(() -> eligibility.enough(needed), System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
      if (!eligibility.enough(needed) && System.nanoTime() > nextLine) {
        progress.line("job " + spec.id() + ": waiting for sites (" + eligibility.missing(needed) + ")");
        nextLine = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      }
    }
    setWaiting(null);
  }

  /** Says in the job's status why it waits, or (null) that it does not. */
  private void setWaiting(String reason) {
    synchronized (lock) {
      if (!java.util.Objects.equals(reason, waiting)) {
        waiting = reason;
        writeStatus();
      }
    }
  }

  /** Writes {@code status.json} whole, then moves it into place: a reader never sees half of it. */
  private void writeStatus() {
    JobStatus status = status();
    try {
      Files.createDirectories(statusFile.getParent());
      Path temporary = statusFile.resolveSibling("status.json.part");
      JSON.writeValue(temporary.toFile(), status);
      Files.move(temporary, statusFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + statusFile + ": " + e.getMessage(), e);
    }
  }

  private static String format(OptionalDouble loss) {
    return loss.isPresent() ? String.format(Locale.ROOT, "%.3f", loss.getAsDouble()) : "n/a";
  }
}
