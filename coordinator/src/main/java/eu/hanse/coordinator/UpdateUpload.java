package eu.hanse.coordinator;

import eu.hanse.aggregation.ChunkCodecs;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.protocol.v1.UpdateChunk;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.Digests;
import eu.hanse.security.Signatures;
import eu.hanse.security.SigningKeyExtension;
import eu.hanse.security.UpdateClaims;
import eu.hanse.security.SiteId;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.security.MessageDigest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives one update: the header is checked against the open round before any chunk is taken;
 * each chunk is checked (order, size for its codec, hash, a well-formed encoding of finite values)
 * and spooled as it arrived, still encoded; the complete update is forced to disk, folded, and only
 * then acknowledged. Anything that fails a check is
 * refused with its reason and leaves the round as it was.
 *
 * <p>gRPC delivers one call's callbacks one at a time, so this needs no lock of its own.
 */
final class UpdateUpload implements StreamObserver<UpdateMessage> {
  private static final Logger log = LoggerFactory.getLogger(UpdateUpload.class);

  private final SiteId site;
  private final java.security.cert.X509Certificate certificate;
  private final Consortium consortium;
  private final Jobs jobs;
  private final UpdateSpool spool;
  private final StreamObserver<UploadReceipt> response;
  private final MessageDigest digest = Digests.sha256();

  private UpdateHeader header;
  /** The job the header names, once found. */
  private JobRun job;
  private String updateId;
  private OpenRound.Admission admission;
  private UpdateSpool.Writer writer;
  /** Decodes each chunk to check it; quantized codecs dequantize on one CPU thread of its own. */
  private ChunkCodecs decoder;
  private float[] decoded;
  /** The sum of the squared decoded values so far: the update's norm, for clipping, at no extra read. */
  private double squares;
  private int nextChunk;
  private boolean finished;
  /** When the header arrived, and the time spent checking chunks since: the upload's phases. */
  private long headerNanos;
  private long verifyNanos;

  UpdateUpload(SiteId site, java.security.cert.X509Certificate certificate, Consortium consortium, Jobs jobs,
      UpdateSpool spool, StreamObserver<UploadReceipt> response) {
    this.site = site;
    this.certificate = certificate;
    this.consortium = consortium;
    this.jobs = jobs;
    this.spool = spool;
    this.response = response;
  }

  @Override
  public void onNext(UpdateMessage message) {
    if (finished) {
      return;
    }
    try {
      switch (message.getKindCase()) {
        case HEADER -> onHeader(message.getHeader());
        case CHUNK -> onChunk(message.getChunk());
        default -> throw new RefusedException(Refusal.MALFORMED, "message carries neither a header nor a chunk");
      }
    } catch (RefusedException e) {
      refuse(e.reason(), e.getMessage());
    } catch (RuntimeException e) {
      log.error("upload from {} failed", site, e);
      refuse(Refusal.INTERNAL, "coordinator error: " + e.getMessage());
    }
  }

  private void onHeader(eu.hanse.protocol.v1.UpdateHeader proto) {
    if (header != null) {
      throw new RefusedException(Refusal.MALFORMED, "a second header arrived in one upload");
    }
    headerNanos = System.nanoTime();
    header = Wire.fromProto(proto);
    if (!header.claimedSite().isEmpty() && !header.claimedSite().equals(site.name())) {
      throw new RefusedException(Refusal.FORBIDDEN, "the update names site '" + header.claimedSite()
          + "' but the caller's certificate is site " + site + "'s");
    }
    updateId = verifySignature();
    job = jobs.require(header.jobId());
    String nonce = Digests.hex(header.nonce());
    // An upload that broke off left its part file; the same update, sent again, goes on with it.
    boolean resuming = Files.isRegularFile(spool.partial(job.id(), header.round(), site.name(), nonce));
    if (header.resumeFromChunk() > 0 && !resuming) {
      throw new RefusedException(Refusal.MALFORMED, "no interrupted upload with nonce " + nonce
          + " to resume; send it whole");
    }
    admission = job.admit(site, header, resuming);
    decoder = new ChunkCodecs(admission.codec(), TensorBackend.cpu(1));
    decoded = new float[admission.chunkElements()];
    if (resuming) {
      resume(nonce);
    } else {
      writer = spool.open(job.id(), admission.round(), site.name(), nonce);
    }
  }

  /**
   * Goes on with an interrupted upload: the chunks the spool file holds before the one the site
   * resumes from are checked against the header's hashes and decoded again, as if they had just
   * arrived.
   */
  private void resume(String nonce) {
    long from = header.resumeFromChunk();
    if (from > admission.chunks()) {
      throw new RefusedException(Refusal.MALFORMED, "resume from chunk " + from + " of " + admission.chunks());
    }
    long keep = 0;
    for (int c = 0; c < from; c++) {
      keep += admission.bytes(c);
    }
    java.nio.file.Path file = spool.partial(job.id(), admission.round(), site.name(), nonce);
    try (java.nio.channels.FileChannel held = java.nio.channels.FileChannel.open(file)) {
      if (held.size() < keep) {
        throw new RefusedException(Refusal.MALFORMED, "the coordinator holds " + held.size() + " bytes of this upload, "
            + "fewer than its first " + from + " chunks; ask again where to resume");
      }
      for (int c = 0; c < from; c++) {
        ByteBuffer data = ByteBuffer.allocate(admission.bytes(c));
        while (data.hasRemaining() && held.read(data) >= 0) {
          // Read the whole chunk.
        }
        verify(data.flip());
      }
    } catch (java.io.IOException e) {
      throw new RefusedException(Refusal.INTERNAL, "cannot read the interrupted upload: " + e.getMessage());
    }
    writer = spool.resume(job.id(), admission.round(), site.name(), nonce, keep);
    log.info("round {}: resuming the update from {} at chunk {} of {}", admission.round(), site, from,
        admission.chunks());
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
    if (chunk.getIndex() != nextChunk) {
      throw new RefusedException(Refusal.MALFORMED, "chunk " + chunk.getIndex() + " arrived where chunk " + nextChunk
          + " was due");
    }
    if (nextChunk >= admission.chunks()) {
      throw new RefusedException(Refusal.OVERSIZED, "chunk " + nextChunk + " is beyond the " + admission.chunks()
          + " chunks the header announced");
    }
    long expected = admission.bytes(nextChunk);
    int size = chunk.getData().size();
    if (size != expected) {
      throw new RefusedException(size > expected ? Refusal.OVERSIZED : Refusal.SHAPE_MISMATCH,
          "chunk " + nextChunk + " has " + size + " bytes where " + expected + " were due");
    }
    // One copy into an array: SHA-256 then runs on the array at full speed, where a read-only
    // buffer would go through the digest's small staging copies.
    ByteBuffer data = ByteBuffer.wrap(chunk.getData().toByteArray());
    verify(data.duplicate());
    writer.write(data);
    eu.hanse.protocol.FaultPoints.reach("upload", header.round());
  }

  /** Checks chunk {@code nextChunk} against its hash and decodes it, then counts it as arrived. */
  private void verify(ByteBuffer data) {
    long started = System.nanoTime();
    digest.update(data.duplicate());
    byte[] hash = digest.digest();
    if (!MessageDigest.isEqual(hash, header.chunkSha256().get(nextChunk))) {
      throw new RefusedException(Refusal.CHUNK_HASH_MISMATCH, "chunk " + nextChunk
          + " does not hash to the value in the header (tampered or corrupted in transit)");
    }
    requireWellFormed(data, nextChunk);
    nextChunk++;
    verifyNanos += System.nanoTime() - started;
  }

  /** Decodes the chunk as the fold will: a malformed encoding or a non-finite value is refused now. */
  private void requireWellFormed(ByteBuffer data, int chunk) {
    int count = admission.elements(chunk);
    try {
      decoder.decode(data, count, decoded);
    } catch (IllegalArgumentException e) {
      throw new RefusedException(Refusal.MALFORMED, "chunk " + chunk + ": " + e.getMessage());
    }
    for (int i = 0; i < count; i++) {
      if (!Float.isFinite(decoded[i])) {
        throw new RefusedException(Refusal.NON_FINITE, "element " + i + " of chunk " + chunk + " is " + decoded[i]);
      }
      squares += (double) decoded[i] * decoded[i];
    }
  }

  @Override
  public void onCompleted() {
    if (finished) {
      return;
    }
    try {
      if (header == null) {
        throw new RefusedException(Refusal.MALFORMED, "upload ended before its header");
      }
      if (nextChunk != admission.chunks()) {
        throw new RefusedException(Refusal.TRUNCATED, "upload ended after " + nextChunk + " of "
            + admission.chunks() + " chunks");
      }
      long arrived = System.nanoTime();
      long bytes = writer.bytes();
      java.nio.file.Path spooled = writer.complete();
      SitePhases phases = new SitePhases(header.downloadSeconds(), header.trainSeconds(), header.encodeSeconds(),
          (arrived - headerNanos - verifyNanos) / 1e9, (verifyNanos + System.nanoTime() - arrived) / 1e9);
      job.accept(site, certificate, updateId, admission, header, spooled, bytes, Math.sqrt(squares), phases);
      finished = true;
      response.onNext(UploadReceipt.newBuilder()
          .setUpdateId(spooled.getFileName().toString()).setBytesReceived(bytes).build());
      response.onCompleted();
    } catch (RefusedException e) {
      refuse(e.reason(), e.getMessage());
    } catch (RuntimeException e) {
      log.error("upload from {} failed", site, e);
      refuse(Refusal.INTERNAL, "coordinator error: " + e.getMessage());
    }
  }

  @Override
  public void onError(Throwable t) {
    if (finished) {
      return;
    }
    finished = true;
    if (admission != null) {
      log.info("upload from {} for round {} broke off after {} of {} chunks: {}", site, admission.round(), nextChunk,
          admission.chunks(), t.toString());
      writer.suspend();
      job.interrupted(site, admission);
    } else {
      closeWriter();
    }
  }

  private void refuse(Refusal reason, String message) {
    finished = true;
    closeWriter();
    // A header refused before its job was looked up (a bad signature) still counts in that job's round.
    JobRun named = job != null ? job : header == null ? null : jobs.find(header.jobId()).orElse(null);
    if (named != null) {
      named.refuse(site, header.round(), reason, message, admission);
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

  private void closeWriter() {
    if (writer != null) {
      writer.close();
    }
  }
}
