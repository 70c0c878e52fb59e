package eu.hanse.coordinator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import eu.hanse.aggregation.ModelSource;
import eu.hanse.aggregation.PrivacyAccountant;
import eu.hanse.aggregation.SafetensorsFile;
import eu.hanse.security.SiteId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one job's rounds on its own thread: wait for quorum, evaluate the initial model, then for
 * each round open it, fold the updates as they complete, step the outer optimizer, commit and
 * evaluate the checkpoint.
 *
 * <p>All round state changes under this object's lock, whichever thread brings them (the job's own
 * thread, or the transport's threads delivering updates and evaluations), so the state machine reads
 * top to bottom in {@link #run()}.
 */
final class JobRun implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(JobRun.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final int ATTEMPTS_PER_ROUND = 3;

  private final JobSpec spec;
  /** The model's parameters; the model itself is only ever in its checkpoint files. */
  private final long elementCount;
  private final NextCheckpoint nextCheckpoint;
  /** The content address of the outer optimizer's state after the last step; null before the first. */
  private String outerState;
  private final PrivacyAccountant privacy;
  private final SiteSessions sessions;
  private final CheckpointStore checkpoints;
  private final CheckpointStore optimizerStates;
  private final StateStore store;
  private final ProgressPrinter progress;
  private final Path statusFile;
  private final Consortium consortium;
  private final java.time.Clock clock;
  private boolean paused;
  /** Volatile besides guarded, so that heartbeats read it without waiting for a commit to let go of the lock. */
  private volatile boolean cancelled;
  /** Set by {@link #stop()}; every wait gives up when it is. Not a thread interrupt, which would close file channels mid-write. */
  private boolean stopped;

  private OpenRound openRound;
  private Evaluation evaluation;
  private final List<RoundRecord> records = new ArrayList<>();
  private final List<Double> heldOutLoss = new ArrayList<>();
  private CheckpointRef initial;
  private CheckpointRef latest;
  private long bytesUploaded;
  /** Volatile besides guarded, as {@link #cancelled}. */
  private volatile String state = JobStatus.RUNNING;
  /** Rounds committed, as {@link #records} holds them, readable without the lock. */
  private volatile int committedRounds;
  private boolean initialEvaluated;
  /** Device-seconds each site's accepted updates took, as reported: what its GPU-hour budget is spent on. */
  private final Map<String, Double> usedDeviceSeconds = new java.util.TreeMap<>();
  /** In asynchronous rounds: the sites training now, and for which round. */
  private final Map<SiteId, Long> training = new LinkedHashMap<>();
  /** In asynchronous rounds: the checkpoint each recent round trained from. */
  private final Map<Long, String> recentBases = new LinkedHashMap<>();
  /** Why the job waits for sites, while it does; null otherwise. */
  private String waiting;
  /** When the last evaluation was sent out, for the round's time. */
  private long evaluationStarted;

  /**
   * Adds a job to the store with its initial model as checkpoint 0, signed; false, changing
   * nothing, if the store has a job of that id already.
   */
  static boolean create(JobSpec spec, String definition, ModelSource initialModel, String submittedBy, StateStore store,
      CheckpointStore checkpoints, Consortium consortium) {
    if (!store.addJob(spec.id().value(), definition, submittedBy)) {
      return false;
    }
    CheckpointRef written = checkpoints.commit(
        initialModel.withMetadata(NextCheckpoint.withLineage(initialModel.metadata(), spec.id(), 0, null)), 0);
    byte[] signature = consortium.signCheckpoint(written.claims(spec.id().value(), "", List.of()));
    consortium.audit("job.submitted", Map.of("job", spec.id().value(), "by", submittedBy));
    auditCommit(consortium, spec.id(), written, "", List.of());
    store.addInitial(new StateStore.StoredCheckpoint(spec.id().value(), 0, written.sha256(), written.sizeBytes(), "",
        List.of(), signature, null, null));
    return true;
  }

  /**
   * The job as the store has it: from its latest committed checkpoint, with the outer optimizer's
   * state, the privacy spent and the round records so far, and its paused or final state.
   */
  JobRun(JobSpec spec, StateStore store, SiteSessions sessions, CheckpointStore checkpoints,
      CheckpointStore optimizerStates, ProgressPrinter progress, Path dataDir, Consortium consortium,
      java.time.Clock clock) {
    this.consortium = consortium;
    this.spec = spec;
    this.store = store;
    this.clock = clock;
    this.privacy = new PrivacyAccountant(spec.privacy());
    this.sessions = sessions;
    this.checkpoints = checkpoints;
    this.optimizerStates = optimizerStates;
    this.progress = progress;
    this.statusFile = dataDir.resolve("jobs").resolve(spec.id().value()).resolve("status.json");
    StateStore.StoredJob stored = store.job(spec.id().value())
        .orElseThrow(() -> new IllegalStateException("job " + spec.id() + " is not in the coordinator's state"));
    List<StateStore.StoredCheckpoint> committed = store.checkpoints(spec.id().value());
    if (committed.isEmpty()) {
      throw new IllegalStateException("job " + spec.id() + " has no initial checkpoint in the coordinator's state");
    }
    this.initial = reference(committed.get(0));
    this.latest = reference(committed.get(committed.size() - 1));
    try (SafetensorsFile checkpoint = SafetensorsFile.open(latest.path())) {
      this.elementCount = checkpoint.length();
    }
    this.nextCheckpoint = new NextCheckpoint(spec, checkpoints, optimizerStates, elementCount);
    StateStore.StoredCheckpoint last = committed.get(committed.size() - 1);
    if (last.optimizerState() != null) {
      this.outerState = nextCheckpoint.requireOuterState(last.optimizerState());
    }
    committed.stream().map(StateStore.StoredCheckpoint::heldOutLoss).filter(java.util.Objects::nonNull)
        .forEach(heldOutLoss::add);
    records.addAll(store.rounds(spec.id().value()));
    committedRounds = records.size();
    for (RoundRecord record : records) {
      bytesUploaded += record.bytesUploaded().values().stream().mapToLong(Long::longValue).sum();
      if (record.privacyEpsilon() != null) {
        privacy.spend();
      }
    }
    this.state = stored.state();
    this.paused = stored.paused();
    this.initialEvaluated = committed.get(0).heldOutLoss() != null;
    usedDeviceSeconds.putAll(store.deviceSeconds(spec.id().value()));
    sessions.addListener(this::wake);
    sessions.addConnectListener(this::resendPendingWork);
  }


  private CheckpointRef reference(StateStore.StoredCheckpoint stored) {
    Path file = checkpoints.find(stored.sha256()).orElseThrow(() -> new IllegalStateException("checkpoint "
        + stored.sha256() + " of job " + spec.id() + " round " + stored.round() + " is missing from the store"));
    return CheckpointRef.unsealed(stored.sha256(), stored.sizeBytes(), stored.round(), file)
        .sealed(spec.id().value(), stored.parent(), stored.updateIds(), stored.signature());
  }

  /**
   * A site that (re)connects while a round or an evaluation it belongs to is open gets that work
   * again: what was sent on its old stream may never have reached it.
   */
  private synchronized void resendPendingWork(AgentLink link) {
    if (spec.schedule().async() != null) {
      // What it was training may have been lost with its old stream: it starts afresh.
      training.remove(link.site());
      dispatchIdle();
    } else if (openRound != null && openRound.awaits(link.site()) && openRound.firstSendTo(link)) {
      link.sendTrain(spec, openRound.number, openRound.base, roundSeed(openRound.number));
    }
    if (evaluation != null && evaluation.awaits(link.site()) && evaluation.firstSendTo(link)) {
      link.sendEvaluate(spec.id(), evaluation.checkpoint);
    }
  }

  JobId id() {
    return spec.id();
  }

  /** How long a round of this job waits for updates. */
  java.time.Duration roundDeadline() {
    return spec.roundDeadline();
  }

  @Override
  public void run() {
    // Every line the job's thread logs names the job (and the round, once one is open).
    org.slf4j.MDC.put("job", spec.id().value());
    try {
      runRounds();
    } catch (Cancelled e) {
      finish(JobStatus.CANCELLED, "cancelled by a training lead" + (e.round == 0 ? ""
          : "; round " + e.round + " was abandoned open"));
    } catch (InterruptedException e) {
      // The coordinator is stopping: the job stays as stored, and resumes when it starts again.
      log.info("job {} stopped after round {}; it resumes when the coordinator starts again on its data directory",
          spec.id(), records.size());
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
    synchronized (this) {
      if (!cancelled) {
        return;
      }
      if (open != null) {
        open.close();
        openRound = null;
        open.release();
        training.clear();
        consortium.audit("round.abandoned", Map.of("job", spec.id().value(), "round", Long.toString(open.number),
            "reason", "job cancelled"));
        log.info("round {} of job {} abandoned: the job was cancelled", open.number, spec.id());
      }
    }
    throw new Cancelled(open == null ? 0 : open.number);
  }

  /**
   * Why a site's work for a round of this job is no longer wanted, if it is not: the job was
   * cancelled or has ended, or (rounds in step) the round has committed. Asked with each heartbeat
   * of a site that trains, so that it stops, and cancels its batch job, instead of finishing work
   * nobody will take. Reads only volatile fields: a heartbeat never waits for a commit.
   */
  Optional<String> unwantedWork(long round) {
    if (cancelled) {
      return Optional.of("job " + spec.id() + " was cancelled");
    }
    String now = state;
    if (!now.equals(JobStatus.RUNNING)) {
      return Optional.of("job " + spec.id() + " has ended (" + now + ")");
    }
    if (spec.schedule().async() == null && round <= committedRounds) {
      return Optional.of("round " + round + " of job " + spec.id() + " has closed");
    }
    return Optional.empty();
  }

  private void runRounds() throws InterruptedException, Cancelled {
    if (!state.equals(JobStatus.RUNNING)) {
      return;
    }
    awaitStart();
    if (records.isEmpty()) {
      awaitSites(spec.startSites());
    }
    requireNotCancelled(null);
    progress.line("sites online: " + String.join(", ", sessions.online().stream()
        .map(link -> link.site() + " (" + link.device() + ")").toList()));
    if (!initialEvaluated) {
      OptionalDouble initialLoss = evaluate(initial);
      initialLoss.ifPresent(loss -> {
        heldOutLoss.add(loss);
        store.setHeldOutLoss(spec.id().value(), 0, loss, null);
      });
      initialEvaluated = true;
      progress.started(spec, elementCount, format(initialLoss));
    } else {
      progress.line("job " + spec.id() + " resumes after round " + records.size() + " of " + spec.rounds());
    }
    writeStatus();
    for (int round = records.size() + 1; round <= spec.rounds(); round++) {
      awaitUnpaused();
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
    java.time.Instant start = spec.schedule().start();
    if (start == null || !clock.instant().isBefore(start)) {
      return;
    }
    progress.line("job " + spec.id() + " starts at " + start);
    synchronized (this) {
      waiting = "starts at " + start;
      writeStatus();
    }
    while (clock.instant().isBefore(start) && !cancelled) {
      long millis = Math.min(java.time.Duration.between(clock.instant(), start).toMillis() + 1, 60_000);
      awaitUntil(() -> false, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
    }
    synchronized (this) {
      waiting = null;
      writeStatus();
    }
  }

  /** Runs a round until it commits, reopening it if too few updates arrive; null if it never does. */
  private RoundRecord runRound(int round) throws InterruptedException, Cancelled {
    if (spec.schedule().async() != null) {
      return runAsyncRound(round);
    }
    for (int attempt = 1; attempt <= ATTEMPTS_PER_ROUND; attempt++) {
      awaitSites(spec.minSites());
      requireNotCancelled(null);
      OpenRound open = open(round);
      awaitClose(open);
      requireNotCancelled(open);
      if (close(open)) {
        RoundRecord committed = commit(open);
        OptionalDouble loss = evaluate(latest);
        return evaluated(committed, loss);
      }
      log.atWarn().addKeyValue("reason", "TOO_FEW_UPDATES").log(
          "round {} of job {} failed: {} of {} needed updates accepted{} (refused: {}); opening it again",
          round, spec.id(), open.accepted().size(), spec.minSites(),
          spec.schedule().requiredSites().isEmpty() ? "" : ", required " + spec.schedule().requiredSites(),
          open.refused().keySet());
    }
    return null;
  }

  /**
   * An asynchronous round: open to updates trained for it or a few rounds before, it commits once
   * its buffer is full, or at its deadline with what it has; sites that are idle get to train at
   * once, the others go on with what they train. Only the last round's checkpoint is evaluated,
   * so that no round waits for sites busy training.
   */
  private RoundRecord runAsyncRound(int round) throws InterruptedException, Cancelled {
    AsyncRounds async = spec.schedule().async();
    for (int attempt = 1; attempt <= ATTEMPTS_PER_ROUND; attempt++) {
      awaitSites(1);
      requireNotCancelled(null);
      OpenRound open = open(round);
      awaitUntil(() -> open.accepted().size() >= async.buffer(), System.nanoTime() + spec.roundDeadline().toNanos());
      requireNotCancelled(open);
      if (close(open)) {
        RoundRecord committed = commit(open);
        OptionalDouble loss = round == spec.rounds() ? evaluate(latest) : OptionalDouble.empty();
        dispatchIdle();
        return evaluated(committed, loss);
      }
      log.atWarn().addKeyValue("reason", "NO_UPDATE_BEFORE_DEADLINE").log(
          "round {} of job {} failed: no update before the deadline; opening it again", round, spec.id());
    }
    return null;
  }

  /** Asynchronous rounds: every eligible site not training now gets the open round's work. */
  private synchronized void dispatchIdle() {
    if (openRound == null || spec.schedule().async() == null) {
      return;
    }
    for (AgentLink link : eligibleOnline()) {
      if (!training.containsKey(link.site()) && !openRound.accepted().containsKey(link.site())) {
        training.put(link.site(), openRound.number);
        link.sendTrain(spec, openRound.number, latest, roundSeed(openRound.number));
      }
    }
  }

  /**
   * Waits until every participant has answered or the deadline passes; with quorum plus grace, at
   * most the grace period once the quorum is in.
   */
  private void awaitClose(OpenRound open) throws InterruptedException {
    long deadline = System.nanoTime() + spec.roundDeadline().toNanos();
    if (spec.stragglers().policy() == Stragglers.Policy.WAIT_FOR_ALL) {
      awaitUntil(() -> open.everyoneReported(), deadline);
      return;
    }
    awaitUntil(() -> open.everyoneReported() || quorumIn(open), deadline);
    if (!open.everyoneReported() && quorumIn(open)) {
      long graceEnd = Math.min(deadline, System.nanoTime() + spec.stragglers().grace().toNanos());
      awaitUntil(() -> open.everyoneReported(), graceEnd);
    }
  }

  /** Whether a round has the updates it needs: at least the quorum, the required sites' among them. */
  private synchronized boolean quorumIn(OpenRound round) {
    if (spec.schedule().async() != null) {
      return !round.accepted().isEmpty();
    }
    return round.accepted().size() >= spec.minSites()
        && round.accepted().keySet().containsAll(spec.schedule().requiredSites());
  }

  /**
   * The online sites the job takes now: named by it (or any, if it names none), not in
   * maintenance, and with GPU-hours left in their budget.
   */
  private List<AgentLink> eligibleOnline() {
    java.time.Instant now = clock.instant();
    return sessions.online().stream()
        .filter(link -> spec.schedule().available(link.site(), now) && withinBudget(link.site()))
        .toList();
  }

  private synchronized boolean withinBudget(SiteId site) {
    Double budget = spec.schedule().find(site).map(JobSite::gpuHours).orElse(null);
    return budget == null || usedDeviceSeconds.getOrDefault(site.name(), 0.0) / 3600 < budget;
  }

  /** The device-seconds a header reports, refused when it is not a plausible number. */
  /** Device-seconds as a site reported them, or 0 for a report that is not a positive number. */
  private static double deviceSeconds(double reported) {
    return Double.isFinite(reported) && reported > 0 ? reported : 0;
  }

  /**
   * Opens a round for the eligible online sites. Updates accepted in it before (an earlier attempt,
   * or before the coordinator restarted) count again, folded from their spool files; their sites
   * are not asked to train again.
   */
  private synchronized OpenRound open(int round) {
    org.slf4j.MDC.put("round", Integer.toString(round));
    notifyAll(); // Uploads carried over from the last round wait for this one.
    List<AgentLink> links = eligibleOnline();
    List<StateStore.StoredUpdate> kept = store.acceptedUpdates(spec.id().value(), round);
    List<SiteId> participants = new ArrayList<>(links.stream().map(AgentLink::site).toList());
    kept.stream().map(u -> new SiteId(u.site())).filter(site -> !participants.contains(site)).forEach(participants::add);
    Map<Long, String> bases = Map.of((long) round, latest.sha256());
    if (spec.schedule().async() != null) {
      recentBases.put((long) round, latest.sha256());
      recentBases.keySet().removeIf(r -> r < round - spec.schedule().async().maxStaleness());
      bases = recentBases;
    }
    openRound = new OpenRound(spec, round, latest, participants, elementCount, bases);
    consortium.announce("round.opened", Map.of("job", spec.id().value(), "round", round, "base", latest.sha256(),
        "participants", participants.stream().map(SiteId::name).toList()));
    for (StateStore.StoredUpdate update : kept) {
      openRound.restore(new SiteId(update.site()), update.updateId(), update.samples(), update.trainLoss(),
          update.bytes(), Path.of(update.spoolFile()), update.norm(), update.trainedFor());
    }
    long seed = roundSeed(round);
    log.info("round {} of job {} open for {}{}", round, spec.id(), participants,
        kept.isEmpty() ? "" : " (" + kept.size() + " updates already accepted)");
    if (spec.schedule().async() != null) {
      dispatchIdle();
      return openRound;
    }
    for (AgentLink link : links) {
      if (openRound.awaits(link.site()) && openRound.firstSendTo(link)) {
        link.sendTrain(spec, round, latest, seed);
      }
    }
    return openRound;
  }

  /** The sampling seed of a round, the same for every attempt and every resend. */
  private long roundSeed(long round) {
    return spec.seed() * 1_000_003L + round;
  }

  /** Takes no more updates for the round; true if it has enough to commit. */
  private synchronized boolean close(OpenRound round) {
    round.close();
    openRound = null;
    if (!quorumIn(round)) {
      round.release();
      return false;
    }
    return true;
  }

  /**
   * Aggregates the round's updates (clipped as the job says), adds the job's noise, applies the
   * outer step and writes the new checkpoint and optimizer state: block by block, from the last
   * checkpoint's file to the next one's, so the model is never whole in memory.
   */
  private synchronized RoundRecord commit(OpenRound round) {
    eu.hanse.protocol.FaultPoints.reach("aggregate", round.number);
    long started = System.nanoTime();
    double sigma = 0;
    if (spec.privacy().noisy()) {
      double total = round.accepted().values().stream().mapToDouble(OpenRound.AcceptedUpdate::weight).sum();
      double largest = round.accepted().values().stream().mapToDouble(OpenRound.AcceptedUpdate::weight).max()
          .orElseThrow();
      sigma = spec.privacy().sigma(largest, total);
    }
    List<String> updateIds = round.accepted().values().stream().map(OpenRound.AcceptedUpdate::updateId).toList();
    NextCheckpoint.Written next = nextCheckpoint.write(round, latest, outerState, sigma);
    String detail = next.detail();
    Double epsilon = null;
    if (spec.privacy().noisy()) {
      epsilon = privacy.spend();
      detail += String.format(Locale.ROOT, "; gaussian noise sigma %.3g, privacy spent epsilon %.3f at delta %s",
          sigma, epsilon, spec.privacy().delta());
    }
    round.summarise(detail, epsilon);
    if (!spec.aggregator().streaming() || spec.privacy().clips() || spec.schedule().async() != null) {
      progress.line("round " + round.number + ": " + detail);
    }
    outerState = next.optimizerState();
    latest = seal(next.checkpoint(), updateIds);
    eu.hanse.protocol.FaultPoints.reach("checkpoint", round.number);
    RoundRecord record = record(round, latest, (System.nanoTime() - started) / 1e9);
    // One transaction: after a crash the round is either committed with its updates applied, or
    // still open with its updates accepted.
    store.commitRound(new StateStore.StoredCheckpoint(spec.id().value(), round.number, latest.sha256(),
        latest.sizeBytes(), latest.parentSha256(), updateIds, latest.signature(), outerState, null), record);
    records.add(record);
    committedRounds = records.size();
    bytesUploaded += record.bytesUploaded().values().stream().mapToLong(Long::longValue).sum();
    writeStatus();
    return record;
  }

  /** Signs a written checkpoint's claims (job, round, hash, parent, updates) and audits the commit. */
  private CheckpointRef seal(CheckpointRef written, List<String> updateIds) {
    String parent = latest == null ? "" : latest.sha256();
    byte[] signature = consortium.signCheckpoint(written.claims(spec.id().value(), parent, updateIds));
    auditCommit(consortium, spec.id(), written, parent, updateIds);
    return written.sealed(spec.id().value(), parent, updateIds, signature);
  }

  private static void auditCommit(Consortium consortium, JobId job, CheckpointRef written, String parent,
      List<String> updateIds) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", job.value());
    fields.put("round", Long.toString(written.round()));
    fields.put("checkpoint", written.sha256());
    fields.put("parent", parent);
    fields.put("updates", String.join(",", updateIds));
    consortium.audit("checkpoint.committed", fields);
  }

  private RoundRecord record(OpenRound round, CheckpointRef committed, double commitSeconds) {
    Map<String, Double> trainLoss = new LinkedHashMap<>();
    Map<String, Long> bytes = new LinkedHashMap<>();
    Map<String, SitePhases> phases = new LinkedHashMap<>();
    round.accepted().values().stream()
        .sorted(java.util.Comparator.comparing(u -> u.site().name()))
        .forEach(u -> {
          trainLoss.put(u.site().name(), u.trainLoss());
          bytes.put(u.site().name(), u.bytes());
          if (u.phases() != null) {
            phases.put(u.site().name(), u.phases());
          }
        });
    List<RoundRecord.RefusedSite> refused = round.refused().values().stream()
        .map(r -> new RoundRecord.RefusedSite(r.site().name(), r.reason().name(), r.message()))
        .toList();
    return new RoundRecord(round.number, "COMMITTED", List.copyOf(trainLoss.keySet()), refused,
        committed.sha256(), committed.path().toString(), trainLoss, bytes, null,
        (System.nanoTime() - round.startNanos) / 1e9, round.aggregationDetail(), round.privacyEpsilon(), phases,
        commitSeconds);
  }

  /** The fields of a "round.committed" event: the round's record, as the status JSON has it. */
  private Map<String, Object> roundCommitted(RoundRecord record) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.putAll(JSON.convertValue(record, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {}));
    return fields;
  }

  /** A committed round's record with its checkpoint's held-out loss and the time to it, stored. */
  private synchronized RoundRecord evaluated(RoundRecord committed, OptionalDouble loss) {
    RoundRecord record = new RoundRecord(committed.round(), committed.state(), committed.acceptedSites(),
        committed.refusedSites(), committed.checkpoint(), committed.checkpointPath(), committed.trainLoss(),
        committed.bytesUploaded(), loss.isPresent() ? loss.getAsDouble() : null,
        committed.seconds() + (System.nanoTime() - evaluationStarted) / 1e9, committed.aggregation(),
        committed.privacyEpsilon(), committed.phases(), committed.commitSeconds());
    records.set(records.size() - 1, record);
    consortium.announce("round.committed", roundCommitted(record));
    if (loss.isPresent()) {
      heldOutLoss.add(loss.getAsDouble());
      store.setHeldOutLoss(spec.id().value(), record.round(), loss.getAsDouble(), record);
    }
    writeStatus();
    return record;
  }

  /** Asks the online sites for their held-out loss of a checkpoint; waits up to the round deadline. */
  private OptionalDouble evaluate(CheckpointRef checkpoint) throws InterruptedException {
    Evaluation current;
    synchronized (this) {
      List<AgentLink> links = sessions.online();
      current = evaluation = new Evaluation(checkpoint, links.stream().map(AgentLink::site).toList());
      evaluationStarted = System.nanoTime();
      for (AgentLink link : links) {
        current.firstSendTo(link);
        link.sendEvaluate(spec.id(), checkpoint);
      }
    }
    long deadline = System.nanoTime() + spec.roundDeadline().toNanos();
    if (spec.stragglers().policy() == Stragglers.Policy.QUORUM_PLUS_GRACE) {
      // As with updates: once the quorum has reported, stragglers get the grace period, not the deadline.
      awaitUntil(() -> current.complete(sessions) || current.reports().size() >= spec.minSites(), deadline);
      long graceEnd = Math.min(deadline, System.nanoTime() + spec.stragglers().grace().toNanos());
      awaitUntil(() -> current.complete(sessions), graceEnd);
    } else {
      awaitUntil(() -> current.complete(sessions), deadline);
    }
    synchronized (this) {
      evaluation = null;
      // A job cancelled meanwhile keeps no loss that only some sites reported.
      return cancelled ? OptionalDouble.empty() : current.unionLoss();
    }
  }

  /**
   * An update header arrived from a site: admit it to the open round or refuse it. A resumed
   * upload repeats the nonce of the upload it goes on with; any other repeated nonce is a replay.
   */
  synchronized OpenRound.Admission admit(SiteId site, UpdateHeader header, boolean resuming) {
    awaitOpenRound();
    if (openRound == null) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "no round of job " + spec.id() + " is open"
          + (state.equals(JobStatus.RUNNING) ? "" : " (job " + state.toLowerCase(java.util.Locale.ROOT) + ")"));
    }
    String nonce = eu.hanse.security.Digests.hex(header.nonce());
    if (!resuming && store.nonceSeen(spec.id().value(), site.name(), nonce)) {
      throw new RefusedException(Refusal.REPLAYED, "an update with nonce " + nonce
          + " was already received from site " + site + " in job " + spec.id());
    }
    OpenRound.Admission admission = openRound.admit(site, header);
    store.addNonce(spec.id().value(), site.name(), nonce);
    return admission;
  }

  /** A verified, durable update is complete: fold it, unless its round or its site's standing changed meanwhile. */
  synchronized void accept(SiteId site, java.security.cert.X509Certificate certificate, String updateId,
      OpenRound.Admission admission, UpdateHeader header, Path spoolFile, long bytes, double norm, SitePhases phases) {
    if (openRound != admission.owner()) {
      carryOver(site, header);
    }
    // Checked under this lock: a revocation publishes the CRL before it takes the lock to discard.
    if (consortium.isRevoked(certificate)) {
      openRound.refuse(site, Refusal.REVOKED, "certificate revoked during the upload", true);
      throw new RefusedException(Refusal.REVOKED, "site " + site + "'s certificate was revoked during the upload");
    }
    openRound.requireAcceptable(site);
    long round = openRound.number;
    store.acceptUpdate(new StateStore.StoredUpdate(spec.id().value(), round, site.name(), updateId,
        eu.hanse.security.Digests.hex(header.nonce()), spoolFile.toString(), header.sampleCount(), header.trainLoss(),
        bytes, norm, header.round(), deviceSeconds(header.deviceSeconds())));
    try {
      openRound.accept(site, updateId, header, spoolFile, bytes, norm, phases);
    } catch (RuntimeException e) {
      store.discardUpdate(spec.id().value(), round, site.name());
      throw e;
    }
    training.remove(site);
    usedDeviceSeconds.merge(site.name(), deviceSeconds(header.deviceSeconds()), Double::sum);
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.put("round", Long.toString(round));
    if (header.round() != round) {
      fields.put("trainedFor", Long.toString(header.round()));
    }
    fields.put("site", site.name());
    fields.put("update", updateId);
    fields.put("nonce", eu.hanse.security.Digests.hex(header.nonce()));
    fields.put("samples", Long.toString(header.sampleCount()));
    fields.put("bytes", Long.toString(bytes));
    if (header.resumeFromChunk() > 0) {
      fields.put("resumedAtChunk", Long.toString(header.resumeFromChunk()));
    }
    consortium.audit("update.accepted", fields);
    log.atInfo().addKeyValue("job", spec.id().value()).addKeyValue("round", header.round())
        .addKeyValue("site", site.name()).log("round {}: accepted update from {} ({} bytes, {} samples)",
            header.round(), site, bytes, header.sampleCount());
    notifyAll();
  }

  /**
   * The round an upload was admitted to closed before it completed. In synchronous rounds that is
   * the end of it; asynchronous rounds take it into the next round, if it is not too stale by then.
   */
  private void carryOver(SiteId site, UpdateHeader header) {
    if (spec.schedule().async() == null) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + header.round() + " closed before the upload completed");
    }
    awaitOpenRound();
    if (openRound == null) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + header.round() + " closed before the upload "
          + "completed, and no round is open");
    }
    openRound.requireRecent(site, header);
  }

  /**
   * Asynchronous rounds: between a commit and the next round's opening, an upload waits (briefly)
   * for that round rather than being refused.
   */
  private void awaitOpenRound() {
    if (spec.schedule().async() == null) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    try {
      while (openRound == null && !stopped && state.equals(JobStatus.RUNNING) && records.size() < spec.rounds()
          && System.nanoTime() < deadline) {
        TimeUnit.NANOSECONDS.timedWait(this, deadline - System.nanoTime());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** An admitted upload failed a check or broke off. */
  synchronized void refuse(SiteId site, long round, Refusal reason, String message, OpenRound.Admission admission) {
    log.atWarn().addKeyValue("job", spec.id().value()).addKeyValue("round", round).addKeyValue("site", site.name())
        .addKeyValue("reason", reason.name()).log("round {}: refused update from {}: {}: {}", round, site, reason,
            message);
    auditRefusal(site, round, reason, message);
    training.remove(site);
    boolean sameRound = admission != null ? openRound == admission.owner()
        : openRound != null && openRound.number == round;
    if (sameRound) {
      openRound.refuse(site, reason, message, admission != null);
    }
    notifyAll();
  }

  /** Audits an update refused before or after its header was admitted. */
  synchronized void auditRefusal(SiteId site, long round, Refusal reason, String message) {
    auditRoundEvent("update.refused", site, round, reason.name(), message);
  }

  /** A site's update or training in a round of this job went wrong: to the audit trail, with why. */
  private void auditRoundEvent(String type, SiteId site, long round, String reason, String message) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.put("round", Long.toString(round));
    fields.put("site", site.name());
    fields.put("reason", reason);
    fields.put("message", message);
    consortium.audit(type, fields);
  }

  /**
   * A site says its training for {@code round} failed: the open round counts it as answered, refused
   * with TRAINING_FAILED and the site's reason, rather than waiting for it until the deadline.
   *
   * @throws RefusedException NOT_OPEN_ROUND when {@code round} is not the open round
   */
  synchronized void trainingFailed(SiteId site, long round, String reason, String message, String run,
      double deviceSeconds) {
    double spent = deviceSeconds(deviceSeconds);
    if (spent > 0 && store.recordFailedTraining(spec.id().value(), round, site.name(), run, spent)) {
      usedDeviceSeconds.merge(site.name(), spent, Double::sum);
    }
    if (openRound == null || openRound.number != round) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + round + " of job " + spec.id()
          + " is not open" + (openRound == null ? "" : "; round " + openRound.number + " is"));
    }
    log.atWarn().addKeyValue("job", spec.id().value()).addKeyValue("round", round).addKeyValue("site", site.name())
        .addKeyValue("reason", "TRAINING_FAILED").addKeyValue("trainerReason", reason)
        .log("round {}: training failed at {}: {}: {}", round, site, reason, message);
    auditRoundEvent("training.failed", site, round, reason, message);
    training.remove(site);
    openRound.refuse(site, Refusal.TRAINING_FAILED, reason + ": " + message, false);
    notifyAll();
  }

  synchronized List<SiteId> openRoundParticipants() {
    return openRound == null ? List.of() : openRound.participants;
  }

  /** The site's certificate was revoked: its update in the open round no longer counts. */
  synchronized void revoked(SiteId site) {
    if (openRound != null && openRound.participants.contains(site)
        && !(openRound.refused().containsKey(site) && openRound.refused().get(site).reason() == Refusal.REVOKED)) {
      boolean discarded = openRound.discard(site, "certificate revoked during round " + openRound.number);
      store.discardUpdate(spec.id().value(), openRound.number, site.name());
      if (discarded) {
        consortium.audit("update.discarded", Map.of("job", spec.id().value(), "round",
            Long.toString(openRound.number), "site", site.name(), "reason", "revoked"));
      }
      log.warn("round {}: site {} revoked{}", openRound.number, site, discarded ? "; its update was discarded" : "");
    }
    notifyAll();
  }

  synchronized void pause(String by) {
    if (!isDone()) {
      paused = true;
      store.setPaused(spec.id().value(), true);
      consortium.audit("job.paused", Map.of("job", spec.id().value(), "by", by));
      writeStatus();
    }
  }

  synchronized void resume(String by) {
    if (paused) {
      paused = false;
      store.setPaused(spec.id().value(), false);
      consortium.audit("job.resumed", Map.of("job", spec.id().value(), "by", by));
      writeStatus();
      notifyAll();
    }
  }

  synchronized void cancel(String by) {
    if (!isDone()) {
      cancelled = true;
      paused = false;
      consortium.audit("job.cancelled", Map.of("job", spec.id().value(), "by", by));
      notifyAll();
    }
  }

  private void awaitUnpaused() throws InterruptedException {
    synchronized (this) {
      while (paused && !cancelled && !stopped) {
        wait();
      }
      if (stopped) {
        throw new InterruptedException("job stopped");
      }
    }
  }

  /** Asks the job's thread to end at its next wait, recording the job as stopped. */
  synchronized void stop() {
    stopped = true;
    notifyAll();
  }

  /**
   * An upload that was admitted broke off (the connection dropped): the site may resume it while
   * the round is open; the round waits for it as long as the site is online.
   */
  synchronized void interrupted(SiteId site, OpenRound.Admission admission) {
    if (openRound == admission.owner()) {
      openRound.interrupted(site);
    }
    notifyAll();
  }

  /**
   * How many whole chunks of an interrupted upload of this site's update for {@code round} the
   * spool holds: where the site resumes. The upload's file is under the open round, the one it was
   * admitted to, which in asynchronous rounds may be later than the round the update is for. 0 when
   * no round is open, the round named is a later one, or nothing is held.
   */
  synchronized long chunksHeld(SiteId site, long round, byte[] nonce, UpdateSpool spool) {
    if (openRound == null || round > openRound.number) {
      return 0;
    }
    long held = spool.heldBytes(spec.id(), openRound.number, site.name(), eu.hanse.security.Digests.hex(nonce));
    OpenRound.Admission shape = openRound.shape();
    long chunks = 0;
    for (long bytes = 0; chunks < shape.chunks() && bytes + shape.bytes((int) chunks) <= held; chunks++) {
      bytes += shape.bytes((int) chunks);
    }
    return chunks;
  }

  /**
   * The round an update for {@code round} would be admitted to now, under which its upload's file
   * goes: the open round (later than {@code round} for a stale update in asynchronous rounds), or
   * {@code round} itself when none is open.
   */
  synchronized long admittingRound(long round) {
    return openRound == null ? round : openRound.number;
  }

  synchronized void evaluated(SiteId site, String jobId, String checkpointSha, double loss, long samples) {
    if (!jobId.equals(spec.id().value())) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "job '" + jobId + "' is not running here");
    }
    if (evaluation == null) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "no evaluation of job " + spec.id() + " is open");
    }
    evaluation.report(site, checkpointSha, loss, samples);
    notifyAll();
  }

  /** The job's current status; safe from any thread. */
  synchronized JobStatus status() {
    String shown = state.equals(JobStatus.RUNNING) && paused ? JobStatus.PAUSED : state;
    return new JobStatus(spec.id().value(), shown, spec.rounds(), records.size(), spec.outer().describe(),
        spec.aggregator().describe(), spec.privacy().describe(), spec.codec().describe(),
        sessions.online().stream().map(l -> l.site().name()).toList(),
        initial == null ? null : initial.path().toString(),
        latest == null ? null : latest.path().toString(),
        List.copyOf(heldOutLoss), bytesUploaded, deviceHours(), waiting, true, List.copyOf(records));
  }

  private Map<String, Double> deviceHours() {
    Map<String, Double> hours = new java.util.TreeMap<>();
    usedDeviceSeconds.forEach((site, seconds) -> hours.put(site, seconds / 3600));
    return hours;
  }

  synchronized boolean isDone() {
    return !state.equals(JobStatus.RUNNING);
  }

  private void finish(String finalState, String reason) {
    synchronized (this) {
      state = finalState;
      store.setJobState(spec.id().value(), finalState, reason);
      notifyAll();
    }
    writeStatus();
    consortium.audit("job." + finalState.toLowerCase(java.util.Locale.ROOT), Map.of("job", spec.id().value(),
        "rounds", Integer.toString(records.size()), "reason", reason == null ? "" : reason));
    if (finalState.equals(JobStatus.FINISHED)) {
      progress.line("job " + spec.id() + " finished: " + records.size() + " rounds; final checkpoint " + latest.path());
    } else {
      progress.line("job " + spec.id() + " " + finalState.toLowerCase(java.util.Locale.ROOT) + ": " + reason);
    }
    if (!finalState.equals(JobStatus.FAILED) && latest != null) {
      for (AgentLink link : sessions.online()) {
        link.sendFinished(spec.id(), latest, records.size());
      }
    }
  }

  /**
   * Waits until {@code needed} eligible sites are online, the required ones among them; meanwhile
   * the job's status says what it waits for, and a line goes to the progress output every 30 s.
   */
  private void awaitSites(int needed) throws InterruptedException {
    long nextLine = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!enoughSites(needed) && !cancelled) {
      String reason = missingSites(needed);
      synchronized (this) {
        if (!reason.equals(waiting)) {
          waiting = reason;
          log.info("job {} waits: {}", spec.id(), reason);
          writeStatus();
        }
      }
      awaitUntil(() -> enoughSites(needed), System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
      if (!enoughSites(needed) && System.nanoTime() > nextLine) {
        progress.line("job " + spec.id() + ": waiting for sites (" + missingSites(needed) + ")");
        nextLine = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      }
    }
    synchronized (this) {
      if (waiting != null) {
        waiting = null;
        writeStatus();
      }
    }
  }

  private String missingSites(int needed) {
    List<SiteId> online = eligibleOnline().stream().map(AgentLink::site).toList();
    List<SiteId> missing = spec.schedule().requiredSites().stream().filter(site -> !online.contains(site))
        .sorted(java.util.Comparator.comparing(SiteId::name)).toList();
    List<String> spent = sessions.online().stream().map(AgentLink::site).filter(site -> !withinBudget(site))
        .map(SiteId::name).sorted().toList();
    return online.size() + " of " + needed + " sites online" + (missing.isEmpty() ? ""
        : "; required but not here: " + missing) + (spent.isEmpty() ? "" : "; GPU-hour budget spent: " + spent);
  }

  private boolean enoughSites(int needed) {
    List<SiteId> online = eligibleOnline().stream().map(AgentLink::site).toList();
    return online.size() >= needed && online.containsAll(spec.schedule().requiredSites());
  }

  /** Waits until {@code condition} holds, the deadline passes, or the job is cancelled. */
  private synchronized void awaitUntil(BooleanSupplier condition, long deadlineNanos) throws InterruptedException {
    while (!condition.getAsBoolean() && !cancelled) {
      if (stopped) {
        throw new InterruptedException("job stopped");
      }
      long left = deadlineNanos - System.nanoTime();
      if (left <= 0) {
        return;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  private synchronized void wake() {
    notifyAll();
  }

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
    return loss.isPresent() ? String.format(java.util.Locale.ROOT, "%.3f", loss.getAsDouble()) : "n/a";
  }
}
