package eu.hanse.coordinator.round;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.coordinator.storage.StateStore;
import eu.hanse.coordinator.storage.UpdateSpool;
import eu.hanse.security.Digests;
import eu.hanse.security.SiteId;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a job takes from its sites while a round is open: update headers admitted or refused,
 * verified and spooled updates accepted, refusals, failed training, revocations and broken-off
 * uploads. The transport's threads call it; each call changes the open round under the job's lock.
 */
public final class UpdateIntake {
  private static final Logger log = LoggerFactory.getLogger(UpdateIntake.class);

  private final JobSpec spec;
  private final JobLock lock;
  private final RoundPolicy policy;
  private final RoundPolicy.Job job;
  private final JobLifecycle lifecycle;
  private final SiteEligibility eligibility;
  private final StateStore store;
  private final Consortium consortium;

  UpdateIntake(JobSpec spec, JobLock lock, RoundPolicy policy, RoundPolicy.Job job, JobLifecycle lifecycle,
      SiteEligibility eligibility, StateStore store, Consortium consortium) {
    this.spec = spec;
    this.lock = lock;
    this.policy = policy;
    this.job = job;
    this.lifecycle = lifecycle;
    this.eligibility = eligibility;
    this.store = store;
    this.consortium = consortium;
  }

  public JobId jobId() {
    return spec.id();
  }

  /**
   * An update header arrived from a site: admit it to the open round or refuse it. A nonce counts
   * as used once an update carrying it was accepted: an update sent again after the coordinator
   * stopped between spooling and recording it is taken, once; any other repeat is a replay.
   */
  public OpenRound.Admission admit(SiteId site, UpdateHeader header) {
    synchronized (lock) {
      policy.awaitOpenRound();
      OpenRound open = job.openRound();
      if (open == null) {
        throw new RefusedException(Refusal.NOT_OPEN_ROUND, "no round of job " + spec.id() + " is open"
            + (lifecycle.running() ? "" : " (job " + lifecycle.state().toLowerCase(Locale.ROOT) + ")"));
      }
      String nonce = Digests.hex(header.nonce());
      requireUnused(site, nonce);
      return open.admit(site, header);
    }
  }

  /** Refuses a nonce of the site's that an accepted update carried: a replay. Under the lock. */
  private void requireUnused(SiteId site, String nonce) {
    if (store.nonceSeen(spec.id().value(), site.name(), nonce)) {
      throw new RefusedException(Refusal.REPLAYED, "an update with nonce " + nonce
          + " was already accepted from site " + site + " in job " + spec.id());
    }
  }

  /** A verified, durable update is complete: fold it, unless its round or its site's standing changed meanwhile. */
  public void accept(SiteId site, X509Certificate certificate, String updateId, OpenRound.Admission admission,
      UpdateHeader header, Path spoolFile, long bytes, double norm, SitePhases phases) {
    synchronized (lock) {
      if (job.openRound() != admission.owner()) {
        policy.carryOver(site, header);
      }
      OpenRound open = job.openRound();
      // Checked under this lock: a revocation publishes the CRL before it takes the lock to discard.
      if (consortium.isRevoked(certificate)) {
        open.refuse(site, Refusal.REVOKED, "certificate revoked during the upload", true);
        throw new RefusedException(Refusal.REVOKED, "site " + site + "'s certificate was revoked during the upload");
      }
      open.requireAcceptable(site);
      long round = open.number;
      String nonce = Digests.hex(header.nonce());
      // Two uploads of one update may be under way at once, admitted to different rounds (one sent
      // again after a broken link, in asynchronous rounds): the first accepted uses the nonce up.
      requireUnused(site, nonce);
      store.acceptUpdate(new StateStore.StoredUpdate(spec.id().value(), round, site.name(), updateId, nonce,
          spoolFile.toString(), header.sampleCount(), header.trainLoss(), bytes, norm, header.round(),
          SiteEligibility.deviceSeconds(header.deviceSeconds())));
      try {
        open.accept(site, updateId, header, spoolFile, bytes, norm, phases);
      } catch (RuntimeException e) {
        store.discardUpdate(spec.id().value(), round, site.name());
        throw e;
      }
      policy.answered(site);
      eligibility.spend(site, header.deviceSeconds());
      auditAccepted(site, round, updateId, header, bytes);
      log.atInfo().addKeyValue("job", spec.id().value()).addKeyValue("round", header.round())
          .addKeyValue("site", site.name()).log("round {}: accepted update from {} ({} bytes, {} samples)",
              header.round(), site, bytes, header.sampleCount());
      lock.signalAll();
    }
  }

  private void auditAccepted(SiteId site, long round, String updateId, UpdateHeader header, long bytes) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("job", spec.id().value());
    fields.put("round", Long.toString(round));
    if (header.round() != round) {
      fields.put("trainedFor", Long.toString(header.round()));
    }
    fields.put("site", site.name());
    fields.put("update", updateId);
    fields.put("nonce", Digests.hex(header.nonce()));
    fields.put("samples", Long.toString(header.sampleCount()));
    fields.put("bytes", Long.toString(bytes));
    if (header.resumeFromChunk() > 0) {
      fields.put("resumedAtChunk", Long.toString(header.resumeFromChunk()));
    }
    consortium.audit("update.accepted", fields);
  }

  /** An update failed a check or broke off; {@code admission} is null if its header was never admitted. */
  public void refuse(SiteId site, long round, Refusal reason, String message, OpenRound.Admission admission) {
    synchronized (lock) {
      log.atWarn().addKeyValue("job", spec.id().value()).addKeyValue("round", round).addKeyValue("site", site.name())
          .addKeyValue("reason", reason.name()).log("round {}: refused update from {}: {}: {}", round, site, reason,
              message);
      auditRefusal(site, round, reason, message);
      policy.answered(site);
      OpenRound open = job.openRound();
      boolean sameRound = admission != null ? open == admission.owner() : open != null && open.number == round;
      if (sameRound) {
        open.refuse(site, reason, message, admission != null);
      }
      lock.signalAll();
    }
  }

  /** Audits an update refused before or after its header was admitted. */
  private void auditRefusal(SiteId site, long round, Refusal reason, String message) {
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
   * with TRAINING_FAILED and the site's reason, rather than waiting for it until the deadline. The
   * device time the failed run took counts against the site's budget, once per run.
   *
   * @throws RefusedException NOT_OPEN_ROUND when {@code round} is not the open round
   */
  public void trainingFailed(SiteId site, long round, String reason, String message, String run, double deviceSeconds) {
    synchronized (lock) {
      double spent = SiteEligibility.deviceSeconds(deviceSeconds);
      if (spent > 0 && store.recordFailedTraining(spec.id().value(), round, site.name(), run, spent)) {
        eligibility.spend(site, spent);
      }
      OpenRound open = job.openRound();
      if (open == null || open.number != round) {
        throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + round + " of job " + spec.id()
            + " is not open" + (open == null ? "" : "; round " + open.number + " is"));
      }
      log.atWarn().addKeyValue("job", spec.id().value()).addKeyValue("round", round).addKeyValue("site", site.name())
          .addKeyValue("reason", "TRAINING_FAILED").addKeyValue("trainerReason", reason)
          .log("round {}: training failed at {}: {}: {}", round, site, reason, message);
      auditRoundEvent("training.failed", site, round, reason, message);
      policy.answered(site);
      open.refuse(site, Refusal.TRAINING_FAILED, reason + ": " + message, false);
      lock.signalAll();
    }
  }

  /** The sites asked to train in the open round; none between rounds. */
  public List<SiteId> openRoundParticipants() {
    synchronized (lock) {
      OpenRound open = job.openRound();
      return open == null ? List.of() : open.participants;
    }
  }

  /** The site's certificate was revoked: its update in the open round no longer counts. */
  public void revoked(SiteId site) {
    synchronized (lock) {
      OpenRound open = job.openRound();
      if (open != null && open.participants.contains(site)
          && !(open.refused().containsKey(site) && open.refused().get(site).reason() == Refusal.REVOKED)) {
        boolean discarded = open.discard(site, "certificate revoked during round " + open.number);
        store.discardUpdate(spec.id().value(), open.number, site.name());
        if (discarded) {
          consortium.audit("update.discarded", Map.of("job", spec.id().value(), "round",
              Long.toString(open.number), "site", site.name(), "reason", "revoked"));
        }
        log.warn("round {}: site {} revoked{}", open.number, site, discarded ? "; its update was discarded" : "");
      }
      lock.signalAll();
    }
  }

  /**
   * An upload that was admitted broke off (the connection dropped): the site may resume it while
   * the round is open; the round waits for it as long as the site is online.
   */
  public void interrupted(SiteId site, OpenRound.Admission admission) {
    synchronized (lock) {
      if (job.openRound() == admission.owner()) {
        job.openRound().interrupted(site);
      }
      lock.signalAll();
    }
  }

  /**
   * How many whole chunks of an interrupted upload of this site's update for {@code round} the
   * spool holds: where the site resumes. The upload's file is under the open round, the one it was
   * admitted to, which in asynchronous rounds may be later than the round the update is for. 0 when
   * no round is open, the round named is a later one, or nothing is held.
   */
  public long chunksHeld(SiteId site, long round, byte[] nonce, UpdateSpool spool) {
    synchronized (lock) {
      OpenRound open = job.openRound();
      if (open == null || round > open.number) {
        return 0;
      }
      long held = spool.heldBytes(spec.id(), open.number, site.name(), Digests.hex(nonce));
      OpenRound.Admission shape = open.shape();
      long chunks = 0;
      for (long bytes = 0; chunks < shape.chunks() && bytes + shape.bytes((int) chunks) <= held; chunks++) {
        bytes += shape.bytes((int) chunks);
      }
      return chunks;
    }
  }

  /**
   * The round an update for {@code round} would be admitted to now, under which its upload's file
   * goes: the open round (later than {@code round} for a stale update in asynchronous rounds), or
   * {@code round} itself when none is open.
   */
  public long admittingRound(long round) {
    synchronized (lock) {
      OpenRound open = job.openRound();
      return open == null ? round : open.number;
    }
  }
}
