package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.round.JobRun;
import eu.hanse.coordinator.round.Jobs;
import eu.hanse.coordinator.round.OpenRound;
import eu.hanse.coordinator.round.UpdateHeader;
import eu.hanse.coordinator.round.UpdateIntake;
import eu.hanse.coordinator.storage.SerialWorker;
import eu.hanse.coordinator.storage.UpdateSpool;
import eu.hanse.protocol.AliasingMarshaller;
import eu.hanse.protocol.v1.UpdateChunk;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.Digests;
import eu.hanse.security.Signatures;
import eu.hanse.security.SigningKeyExtension;
import eu.hanse.security.SiteId;
import eu.hanse.security.UpdateClaims;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives one call of an update: its header is checked (signature, then against the open round)
 * before any chunk is taken; each chunk is checked (order, size for its codec, hash, a well-formed
 * encoding of finite values) and handed to the update's {@link UploadAssembly}, which spools it
 * still encoded and, once every chunk is in, forces the update to disk, folds it, and only then
 * acknowledges it. A large update may come over several such calls at once, each with its own run
 * of chunks. Anything that fails a check is refused with its reason and leaves the round as it was.
 *
 * <p>gRPC delivers one call's callbacks one at a time. Each chunk's place and size are checked as
 * it arrives; its hash and values are checked, and it is written, on a thread of the call's own,
 * in the order the chunks came, while gRPC goes on to read the next ones (at most
 * {@link #CHECKS_IN_FLIGHT} waiting: a call that is that far ahead waits, and so does its sender).
 * The end of the call, or its breaking off, is dealt with on that thread too, after its chunks.
 */
final class UpdateUpload implements StreamObserver<UpdateMessage> {
  private static final Logger log = LoggerFactory.getLogger(UpdateUpload.class);
  /** Chunks of one call read but not yet checked: what a call holds beyond the chunk being checked. */
  static final int CHECKS_IN_FLIGHT = 4;

  private final SiteId site;
  private final java.security.cert.X509Certificate certificate;
  private final Consortium consortium;
  private final Jobs jobs;
  private final UpdateSpool spool;
  private final UploadAssembly.Registry assemblies;
  private final StreamObserver<UploadReceipt> response;

  // Set on gRPC's callbacks, which come one at a time; the checking thread reads them only in the
  // tasks handed to it after they were set, and the hand-off orders the two.
  private UpdateHeader header;
  /** The update this call is part of, once its header is admitted. */
  private UploadAssembly assembly;
  private ChunkCheck check;
  /** This call's run of chunks, and the next one due. */
  private int runEnd;
  private int nextChunk;
  /** Set, on either thread, once the call takes no more messages: answered, ending, or broken off. */
  private volatile boolean finished;
  /** Set once this call has refused or aborted the upload, so that it does so once; guarded by this. */
  private boolean answered;
  private final SerialWorker checking = new SerialWorker("upload-check", CHECKS_IN_FLIGHT);

  UpdateUpload(SiteId site, java.security.cert.X509Certificate certificate, Consortium consortium, Jobs jobs,
      UpdateSpool spool, UploadAssembly.Registry assemblies, StreamObserver<UploadReceipt> response) {
    this.site = site;
    this.certificate = certificate;
    this.consortium = consortium;
    this.jobs = jobs;
    this.spool = spool;
    this.assemblies = assemblies;
    this.response = response;
  }

  @Override
  public void onNext(UpdateMessage message) {
    answeringFailures(() -> {
      switch (message.getKindCase()) {
        case HEADER -> onHeader(message.getHeader());
        case CHUNK -> onChunk(message.getChunk());
        default -> throw new RefusedException(Refusal.MALFORMED, "message carries neither a header nor a chunk");
      }
    });
  }

  /** Runs {@code step} unless the call is finished, and answers the call if it fails. */
  private void answeringFailures(Runnable step) {
    if (finished) {
      return;
    }
    try {
      step.run();
    } catch (RefusedException e) {
      refuse(e.reason(), e.getMessage());
    } catch (UploadAssembly.EndedException e) {
      abort(e.getMessage());
    } catch (RuntimeException e) {
      log.error("upload from {} failed", site, e);
      refuse(Refusal.INTERNAL, "coordinator error: " + e.getMessage());
    } catch (Error e) {
      // On the checking thread nothing else would answer the call: answer it, then let the error go on.
      log.error("upload from {} failed", site, e);
      refuse(Refusal.INTERNAL, "coordinator error: " + e);
      throw e;
    }
  }

  /**
   * Runs {@code step} on the call's checking thread, after the chunks before it; nothing if the
   * call has meanwhile been answered there.
   */
  private void afterTheChecks(Runnable step) {
    checking.submit(() -> answeringFailures(step));
  }

  private void onHeader(eu.hanse.protocol.v1.UpdateHeader proto) {
    if (header != null) {
      throw new RefusedException(Refusal.MALFORMED, "a second header arrived in one upload");
    }
    header = Wire.fromProto(proto);
    if (!header.claimedSite().isEmpty() && !header.claimedSite().equals(site.name())) {
      throw new RefusedException(Refusal.FORBIDDEN, "the update names site '" + header.claimedSite()
          + "' but the caller's certificate is site " + site + "'s");
    }
    String updateId = verifySignature();
    UpdateIntake job = jobs.require(header.jobId()).intake();
    UploadAssembly joined = assemblies.of(new UploadAssembly.Key(job.jobId().value(), header.round(), site.name(),
        Digests.hex(header.nonce())));
    OpenRound.Admission admission = joined.join(
        new UploadAssembly.Call(site, certificate, header, updateId, job, response), spool);
    assembly = joined;
    if (admission == null) {
      finished = true;
      return;
    }
    check = new ChunkCheck(admission, header.chunkSha256());
    setRun(admission);
  }

  /** This call's run of chunks: the one the header names, else every chunk from where the upload resumes. */
  private void setRun(OpenRound.Admission admission) {
    long from = header.resumeFromChunk();
    long to = header.stripeEnd() == 0 ? admission.chunks() : header.stripeEnd();
    long first = header.stripeEnd() == 0 ? from : header.stripeFirst();
    boolean empty = first == to && header.stripeEnd() == 0;
    if (first < from || (first >= to && !empty) || to > admission.chunks()) {
      throw new RefusedException(Refusal.MALFORMED, "the call's run of chunks [" + first + ", " + to + ") is not "
          + "within [" + from + ", " + admission.chunks() + "), the chunks the upload still needs");
    }
    nextChunk = (int) first;
    runEnd = (int) to;
  }

  /** Checks the site's signature over the header's claims; returns the update's id (hash of the claims). */
  private String verifySignature() {
    if (header.signature().length == 0) {
      throw new RefusedException(Refusal.BAD_SIGNATURE, "the update is not signed");
    }
    java.security.PublicKey key = SigningKeyExtension.read(certificate).orElseThrow(() -> new RefusedException(
        Refusal.BAD_SIGNATURE, "the caller's certificate carries no signing key; enrol again with 'hanse agent enroll'"));
    UpdateClaims claims;
    try {
      claims = new UpdateClaims(header.jobId(), header.round(), site, header.baseSha256(), header.codec(),
          header.elementCount(), header.sampleCount(), header.nonce(), UpdateClaims.chunkRoot(header.chunkSha256()));
    } catch (IllegalArgumentException e) {
      throw new RefusedException(Refusal.MALFORMED, "header: " + e.getMessage());
    }
    byte[] canonical = claims.canonicalBytes();
    if (!Signatures.verify(key, canonical, header.signature())) {
      throw new RefusedException(Refusal.BAD_SIGNATURE, "the signature does not verify with site " + site
          + "'s signing key (forged, or the header was changed after signing)");
    }
    return Digests.hex(Digests.sha256().digest(canonical));
  }

  private void onChunk(UpdateChunk chunk) {
    if (header == null) {
      throw new RefusedException(Refusal.MALFORMED, "a chunk arrived before the header");
    }
    if (nextChunk >= runEnd) {
      throw new RefusedException(Refusal.OVERSIZED, "chunk " + chunk.getIndex() + " is beyond this call's run, "
          + "which ends before chunk " + runEnd);
    }
    if (chunk.getIndex() != nextChunk) {
      throw new RefusedException(Refusal.MALFORMED, "chunk " + chunk.getIndex() + " arrived where chunk " + nextChunk
          + " was due");
    }
    OpenRound.Admission shape = check.admission();
    int expected = shape.bytes(nextChunk);
    int size = chunk.getData().size();
    if (size != expected) {
      throw new RefusedException(size > expected ? Refusal.OVERSIZED : Refusal.SHAPE_MISMATCH,
          "chunk " + nextChunk + " has " + size + " bytes where " + expected + " were due");
    }
    // The chunk's bytes are a view of the array its message was read into (the upload's requests
    // are parsed by an AliasingMarshaller): SHA-256 runs on an array at full speed, where a
    // read-only buffer would go through the digest's small staging copies.
    ByteBuffer data = AliasingMarshaller.arrayView(chunk.getData());
    int c = nextChunk++;
    afterTheChecks(() -> {
      double squares = check.check(c, data);
      if (!assembly.write(c, data, squares)) {
        finished = true;
        return;
      }
      eu.hanse.faults.FaultPoints.reach("upload", header.round());
    });
  }

  @Override
  public void onCompleted() {
    answeringFailures(() -> {
      if (header == null) {
        throw new RefusedException(Refusal.MALFORMED, "upload ended before its header");
      }
      if (nextChunk != runEnd) {
        throw new RefusedException(Refusal.TRUNCATED, "upload ended after chunk " + (nextChunk - 1) + ", before chunk "
            + runEnd + " where its run ends (" + check.admission().chunks() + " chunks in all)");
      }
      afterTheChecks(() -> {
        finished = true;
        checking.shutdown();
        assembly.runEnded(check.nanos());
      });
    });
  }

  @Override
  public void onError(Throwable t) {
    if (finished || assembly == null) {
      finished = true;
      checking.shutdown();
      return;
    }
    afterTheChecks(() -> {
      finished = true;
      checking.shutdown();
      assembly.brokeOff(response, t);
    });
  }

  private synchronized void abort(String message) {
    if (answered) {
      return;
    }
    answered = true;
    finished = true;
    checking.shutdown();
    response.onError(Status.ABORTED.withDescription(message).asRuntimeException());
  }

  /** Refuses the update: on every call of it once this one has joined it, else on this call alone. */
  private synchronized void refuse(Refusal reason, String message) {
    if (answered) {
      return;
    }
    answered = true;
    finished = true;
    checking.shutdown();
    if (assembly != null) {
      assembly.fail(reason, message);
      return;
    }
    // A header refused before its job was looked up (a bad signature) still counts in that job's round.
    JobRun named = header == null ? null : jobs.find(header.jobId()).orElse(null);
    if (named != null) {
      named.intake().refuse(site, header.round(), reason, message, null);
    } else {
      log.warn("refused update from {}: {} {}", site, reason, message);
      java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
      fields.put("job", header == null ? "" : header.jobId());
      fields.put("round", header == null ? "-1" : Long.toString(header.round()));
      fields.put("site", site.name());
      fields.put("reason", reason.name());
      fields.put("message", message);
      consortium.audit("update.refused", fields);
    }
    response.onError(Wire.toStatus(reason, message));
  }
}
