package eu.hanse.coordinator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import eu.hanse.aggregation.Aggregation;
import eu.hanse.aggregation.Aggregators;
import eu.hanse.aggregation.GaussianNoise;
import eu.hanse.aggregation.ModelState;
import eu.hanse.aggregation.OuterOptimizer;
import eu.hanse.aggregation.PrivacyAccountant;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.security.SiteId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
  private final ModelState global;
  private final OuterOptimizer outer;
  /** Median and trimmed mean run on one CPU thread: a job's commit is one caller at a time. */
  private final Aggregators aggregators = new Aggregators(TensorBackend.cpu(1));
  private final PrivacyAccountant privacy;
  private final GaussianNoise noise = new GaussianNoise(new SecureRandom());
  private final SiteSessions sessions;
  private final CheckpointStore checkpoints;
  private final ProgressPrinter progress;
  private final Path statusFile;
  private final Consortium consortium;
  /** Every (site, nonce) admitted in this job: a second admission of one is a replay. */
  private final java.util.Set<String> seenNonces = new java.util.HashSet<>();
  private boolean paused;
  private boolean cancelled;
  /** Set by {@link #stop()}; every wait gives up when it is. Not a thread interrupt, which would close file channels mid-write. */
  private boolean stopped;

  private OpenRound openRound;
  private Evaluation evaluation;
  private final List<RoundRecord> records = new ArrayList<>();
  private final List<Double> heldOutLoss = new ArrayList<>();
  private CheckpointRef initial;
  private CheckpointRef latest;
  private long bytesUploaded;
  private String state = JobStatus.RUNNING;

  JobRun(JobSpec spec, ModelState initialModel, SiteSessions sessions, CheckpointStore checkpoints,
      ProgressPrinter progress, Path dataDir, Consortium consortium) {
    this.consortium = consortium;
    this.spec = spec;
    this.global = initialModel.copy();
    this.outer = OuterOptimizer.create(spec.outer());
    this.privacy = new PrivacyAccountant(spec.privacy());
    this.sessions = sessions;
    this.checkpoints = checkpoints;
    this.progress = progress;
    this.statusFile = dataDir.resolve("jobs").resolve(spec.id().value()).resolve("status.json");
    sessions.addListener(this::wake);
    sessions.addConnectListener(this::resendPendingWork);
  }

  /**
   * A site that (re)connects while a round or an evaluation it belongs to is open gets that work
   * again: what was sent on its old stream may never have reached it.
   */
  private synchronized void resendPendingWork(AgentLink link) {
    if (openRound != null && openRound.awaits(link.site())) {
      link.sendTrain(spec, openRound.number, openRound.base, roundSeed(openRound.number));
    }
    if (evaluation != null && evaluation.awaits(link.site())) {
      link.sendEvaluate(spec.id(), evaluation.checkpoint);
    }
  }

  JobId id() {
    return spec.id();
  }

  @Override
  public void run() {
    try {
      runRounds();
    } catch (InterruptedException e) {
      finish(JobStatus.FAILED, "stopped before it finished");
    } catch (RuntimeException e) {
      log.error("job {} failed", spec.id(), e);
      finish(JobStatus.FAILED, e.getMessage());
    }
  }

  private void runRounds() throws InterruptedException {
    awaitSites(spec.startSites());
    progress.line("sites online: " + String.join(", ", sessions.online().stream()
        .map(link -> link.site() + " (" + link.device() + ")").toList()));
    latest = initial = seal(checkpoints.commit(withRound(0), 0), List.of());
    OptionalDouble initialLoss = evaluate(initial);
    initialLoss.ifPresent(heldOutLoss::add);
    progress.started(spec, global.elementCount(), format(initialLoss));
    writeStatus();
    for (int round = 1; round <= spec.rounds(); round++) {
      awaitUnpaused();
      if (isCancelled()) {
        finish(JobStatus.CANCELLED, "cancelled by a training lead");
        return;
      }
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

  /** Runs a round until it commits, reopening it if too few updates arrive; null if it never does. */
  private RoundRecord runRound(int round) throws InterruptedException {
    for (int attempt = 1; attempt <= ATTEMPTS_PER_ROUND; attempt++) {
      awaitSites(spec.minSites());
      OpenRound open = open(round);
      long deadline = System.nanoTime() + spec.roundDeadline().toNanos();
      awaitUntil(() -> open.everyoneReported(sessions), deadline);
      if (close(open)) {
        CheckpointRef committed = commit(open);
        OptionalDouble loss = evaluate(committed);
        return record(open, committed, loss);
      }
      log.warn("round {} of job {}: {} of {} needed updates accepted (refused: {}); opening it again",
          round, spec.id(), open.accepted().size(), spec.minSites(), open.refused().keySet());
    }
    return null;
  }

  private synchronized OpenRound open(int round) {
    List<AgentLink> links = sessions.online();
    List<SiteId> participants = links.stream().map(AgentLink::site).toList();
    openRound = new OpenRound(spec, round, latest, participants, global.elementCount());
    long seed = roundSeed(round);
    log.info("round {} of job {} open for {}", round, spec.id(), participants);
    for (AgentLink link : links) {
      link.sendTrain(spec, round, latest, seed);
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
    return round.accepted().size() >= spec.minSites();
  }

  /**
   * Aggregates the round's updates (clipped as the job says), adds the job's noise, applies the
   * outer step and writes the new checkpoint.
   */
  private synchronized CheckpointRef commit(OpenRound round) {
    Aggregation aggregation = round.aggregate(aggregators);
    String detail = aggregation.detail() + clipped(round);
    Double epsilon = null;
    if (spec.privacy().noisy()) {
      double total = round.accepted().values().stream().mapToDouble(OpenRound.AcceptedUpdate::sampleCount).sum();
      double largest = round.accepted().values().stream().mapToDouble(OpenRound.AcceptedUpdate::sampleCount).max()
          .orElseThrow();
      double sigma = spec.privacy().sigma(largest, total);
      noise.addTo(aggregation.delta(), sigma);
      epsilon = privacy.spend();
      detail += String.format(Locale.ROOT, "; gaussian noise sigma %.3g, privacy spent epsilon %.3f at delta %s",
          sigma, epsilon, spec.privacy().delta());
    }
    round.summarise(detail, epsilon);
    if (!spec.aggregator().streaming() || spec.privacy().clips()) {
      progress.line("round " + round.number + ": " + detail);
    }
    outer.step(global, aggregation.delta());
    List<String> updateIds = round.accepted().values().stream().map(OpenRound.AcceptedUpdate::updateId).toList();
    latest = seal(checkpoints.commit(withRound(round.number), round.number), updateIds);
    return latest;
  }

  /** ", clipped SITE (norm N)" for each update the clip scaled down, or nothing. */
  private String clipped(OpenRound round) {
    List<String> sites = round.accepted().values().stream()
        .filter(u -> u.scale() < 1)
        .map(u -> String.format(Locale.ROOT, "%s (norm %.3g)", u.site(), u.norm()))
        .toList();
    return sites.isEmpty() ? "" : "; clipped to " + spec.privacy().clipNorm() + ": " + String.join(", ", sites);
  }

  /** Signs a written checkpoint's claims (job, round, hash, parent, updates) and audits the commit. */
  private CheckpointRef seal(CheckpointRef written, List<String> updateIds) {
    String parent = latest == null ? "" : latest.sha256();
    byte[] signature = consortium.signCheckpoint(written.claims(spec.id().value(), parent, updateIds));
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.put("round", Long.toString(written.round()));
    fields.put("checkpoint", written.sha256());
    fields.put("parent", parent);
    fields.put("updates", String.join(",", updateIds));
    consortium.audit("checkpoint.committed", fields);
    return written.sealed(spec.id().value(), parent, updateIds, signature);
  }

  private synchronized RoundRecord record(OpenRound round, CheckpointRef committed, OptionalDouble loss) {
    Map<String, Double> trainLoss = new LinkedHashMap<>();
    Map<String, Long> bytes = new LinkedHashMap<>();
    round.accepted().values().stream()
        .sorted(java.util.Comparator.comparing(u -> u.site().name()))
        .forEach(u -> {
          trainLoss.put(u.site().name(), u.trainLoss());
          bytes.put(u.site().name(), u.bytes());
        });
    bytesUploaded += bytes.values().stream().mapToLong(Long::longValue).sum();
    loss.ifPresent(heldOutLoss::add);
    List<RoundRecord.RefusedSite> refused = round.refused().values().stream()
        .map(r -> new RoundRecord.RefusedSite(r.site().name(), r.reason().name(), r.message()))
        .toList();
    RoundRecord record = new RoundRecord(round.number, "COMMITTED", List.copyOf(trainLoss.keySet()), refused,
        committed.sha256(), committed.path().toString(), trainLoss, bytes,
        loss.isPresent() ? loss.getAsDouble() : null,
        (System.nanoTime() - round.startNanos) / 1e9, round.aggregationDetail(), round.privacyEpsilon());
    records.add(record);
    writeStatus();
    return record;
  }

  /** Asks the online sites for their held-out loss of a checkpoint; waits up to the round deadline. */
  private OptionalDouble evaluate(CheckpointRef checkpoint) throws InterruptedException {
    Evaluation current;
    synchronized (this) {
      List<AgentLink> links = sessions.online();
      current = evaluation = new Evaluation(checkpoint, links.stream().map(AgentLink::site).toList());
      for (AgentLink link : links) {
        link.sendEvaluate(spec.id(), checkpoint);
      }
    }
    awaitUntil(() -> current.complete(sessions), System.nanoTime() + spec.roundDeadline().toNanos());
    synchronized (this) {
      evaluation = null;
      return current.unionLoss();
    }
  }

  /** An update header arrived from a site: admit it to the open round or refuse it. */
  synchronized OpenRound.Admission admit(SiteId site, UpdateHeader header) {
    if (openRound == null) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "no round of job " + spec.id() + " is open"
          + (state.equals(JobStatus.RUNNING) ? "" : " (job " + state.toLowerCase(java.util.Locale.ROOT) + ")"));
    }
    String nonce = site.name() + ":" + eu.hanse.security.Digests.hex(header.nonce());
    if (seenNonces.contains(nonce)) {
      throw new RefusedException(Refusal.REPLAYED, "an update with nonce " + eu.hanse.security.Digests.hex(header.nonce())
          + " was already received from site " + site + " in job " + spec.id());
    }
    OpenRound.Admission admission = openRound.admit(site, header);
    seenNonces.add(nonce);
    return admission;
  }

  /** A verified, durable update is complete: fold it, unless its round or its site's standing changed meanwhile. */
  synchronized void accept(SiteId site, java.security.cert.X509Certificate certificate, String updateId,
      OpenRound.Admission admission, UpdateHeader header, Path spoolFile, long bytes, double norm) {
    if (openRound != admission.owner()) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + header.round() + " closed before the upload completed");
    }
    // Checked under this lock: a revocation publishes the CRL before it takes the lock to discard.
    if (consortium.isRevoked(certificate)) {
      openRound.refuse(site, Refusal.REVOKED, "certificate revoked during the upload", true);
      throw new RefusedException(Refusal.REVOKED, "site " + site + "'s certificate was revoked during the upload");
    }
    openRound.accept(site, updateId, header, spoolFile, bytes, norm);
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.put("round", Long.toString(header.round()));
    fields.put("site", site.name());
    fields.put("update", updateId);
    fields.put("nonce", eu.hanse.security.Digests.hex(header.nonce()));
    fields.put("samples", Long.toString(header.sampleCount()));
    fields.put("bytes", Long.toString(bytes));
    consortium.audit("update.accepted", fields);
    log.info("round {}: accepted update from {} ({} bytes, {} samples)", header.round(), site, bytes, header.sampleCount());
    notifyAll();
  }

  /** An admitted upload failed a check or broke off. */
  synchronized void refuse(SiteId site, long round, Refusal reason, String message, OpenRound.Admission admission) {
    log.warn("round {}: refused update from {}: {} {}", round, site, reason, message);
    auditRefusal(site, round, reason, message);
    boolean sameRound = admission != null ? openRound == admission.owner()
        : openRound != null && openRound.number == round;
    if (sameRound) {
      openRound.refuse(site, reason, message, admission != null);
    }
    notifyAll();
  }

  /** Audits an update refused before or after its header was admitted. */
  synchronized void auditRefusal(SiteId site, long round, Refusal reason, String message) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.put("round", Long.toString(round));
    fields.put("site", site.name());
    fields.put("reason", reason.name());
    fields.put("message", message);
    consortium.audit("update.refused", fields);
  }

  synchronized List<SiteId> openRoundParticipants() {
    return openRound == null ? List.of() : openRound.participants;
  }

  /** The site's certificate was revoked: its update in the open round no longer counts. */
  synchronized void revoked(SiteId site) {
    if (openRound != null && openRound.participants.contains(site)
        && !(openRound.refused().containsKey(site) && openRound.refused().get(site).reason() == Refusal.REVOKED)) {
      boolean discarded = openRound.discard(site, "certificate revoked during round " + openRound.number);
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
      consortium.audit("job.paused", Map.of("job", spec.id().value(), "by", by));
      writeStatus();
    }
  }

  synchronized void resume(String by) {
    if (paused) {
      paused = false;
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

  private synchronized boolean isCancelled() {
    return cancelled;
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

  /** An upload that was admitted ended without a verdict (the connection dropped). */
  synchronized void abandon(SiteId site, OpenRound.Admission admission) {
    if (openRound == admission.owner()) {
      openRound.refuse(site, Refusal.TRUNCATED, "upload broke off", true);
    }
    notifyAll();
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
        List.copyOf(heldOutLoss), bytesUploaded, true, List.copyOf(records));
  }

  synchronized boolean isDone() {
    return !state.equals(JobStatus.RUNNING);
  }

  private void finish(String finalState, String reason) {
    synchronized (this) {
      state = finalState;
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

  private ModelState withRound(long round) {
    Map<String, String> metadata = new LinkedHashMap<>(global.metadata());
    metadata.put("hanse.job", spec.id().value());
    metadata.put("hanse.round", Long.toString(round));
    if (latest != null) {
      metadata.put("hanse.parent", latest.sha256());
    }
    return global.withMetadata(metadata);
  }

  private void awaitSites(int needed) throws InterruptedException {
    while (sessions.online().size() < needed) {
      awaitUntil(() -> sessions.online().size() >= needed, System.nanoTime() + TimeUnit.SECONDS.toNanos(30));
      if (sessions.online().size() < needed) {
        progress.line("job " + spec.id() + ": waiting for sites (" + sessions.online().size() + " of "
            + needed + " online)");
      }
    }
  }

  private synchronized void awaitUntil(BooleanSupplier condition, long deadlineNanos) throws InterruptedException {
    while (!condition.getAsBoolean()) {
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
