package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.coordinator.round.OpenRound;
import eu.hanse.coordinator.round.UpdateHeader;
import eu.hanse.coordinator.round.UpdateIntake;
import eu.hanse.coordinator.storage.UpdateSpool;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.SiteId;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One update as it arrives, over one call or over several at once: a striped upload, each call
 * carrying its own run of the chunks on a connection of its own. The first call admits the header
 * into its round and opens the spool file (or, resuming, checks the chunks the file holds); each
 * call writes its checked chunks at their places; when every chunk is in and every call has ended
 * its run, the file is forced to disk, the update accepted, and every call gets the receipt.
 *
 * <p>A refusal on any call refuses the update on all of them. A call that breaks off suspends the
 * upload: the file keeps the chunks before the first one missing, for the site to resume from, and
 * the other calls are told to stop. Thread-safe: the calls arrive on threads of their own.
 */
final class UploadAssembly {
  private static final Logger log = LoggerFactory.getLogger(UploadAssembly.class);

  /** An update: its job, the round it names, its site and its nonce. */
  record Key(String job, long round, String site, String nonceHex) {}

  /** The assemblies under way. */
  static final class Registry {
    private final Map<Key, UploadAssembly> open = new HashMap<>();

    /** The assembly a call of this update joins: the one under way, or a new one. */
    synchronized UploadAssembly of(Key key) {
      return open.computeIfAbsent(key, k -> new UploadAssembly(k, this));
    }

    private synchronized void remove(UploadAssembly assembly) {
      open.remove(assembly.key, assembly);
    }
  }

  /** Thrown to a call that tries to join an assembly that has ended meanwhile. */
  static final class EndedException extends RuntimeException {
    EndedException(String message) {
      super(message);
    }
  }

  /** What a joining call brings: its header as sent, and who sent it. */
  record Call(SiteId site, X509Certificate certificate, UpdateHeader header, String updateId, UpdateIntake job,
      StreamObserver<UploadReceipt> response) {}

  private final Key key;
  private final Registry registry;
  // Every field below is guarded by this assembly's monitor: its calls arrive on threads of their own.
  private Call first;
  private OpenRound.Admission admission;
  /** Whether the first call found the part file of an interrupted upload of this update. */
  private boolean resuming;
  private UpdateSpool.Writer writer;
  private BitSet arrived;
  /** The first chunk not arrived yet: the file holds every chunk before it. */
  private int prefix;
  /** Each chunk's sum of squared values, added up in order at the end for the update's norm. */
  private double[] squares;
  /** The calls still owed an answer, and how many of them have not ended their run yet. */
  private final List<StreamObserver<UploadReceipt>> answers = new ArrayList<>();
  private int openRuns;
  private int calls;
  private boolean ended;
  private long startNanos;
  private long lastChunkNanos;
  private long checkNanos;

  private UploadAssembly(Key key, Registry registry) {
    this.key = key;
    this.registry = registry;
  }

  /**
   * Joins a call to the upload: the first one admits the update into its round and opens its
   * spool file; later ones must bring the same signed header. Returns what the update must
   * deliver, or null if it was refused on opening (the call has had its answer).
   *
   * @throws EndedException if the upload ended before this call joined (the call is not answered)
   * @throws RefusedException if the header is refused (the call is not answered)
   */
  synchronized OpenRound.Admission join(Call call, UpdateSpool spool) {
    if (ended) {
      throw new EndedException("the upload this call belongs to has ended; ask where to resume");
    }
    if (first == null) {
      admit(call, spool);
    } else if (!call.updateId().equals(first.updateId())
        || call.header().resumeFromChunk() != first.header().resumeFromChunk()) {
      throw new RefusedException(Refusal.MALFORMED, "a call of this upload carries a different header from the "
          + "first (each call of a striped upload sends the same header, with its own run of chunks)");
    }
    answers.add(call.response());
    openRuns++;
    calls++;
    if (writer == null) {
      try {
        openSpool(spool);
      } catch (RefusedException e) {
        fail(e.reason(), e.getMessage());
        return null;
      }
    }
    return admission;
  }

  /** Admits the first call's header into its round; nothing is held for the update if it is refused. */
  private void admit(Call call, UpdateSpool spool) {
    startNanos = System.nanoTime();
    // An upload that broke off left its part file, under the round it was admitted to; the same
    // update, sent again, goes on with it.
    resuming = Files.isRegularFile(spool.partial(call.job().jobId(), call.job().admittingRound(call.header().round()),
        call.site().name(), key.nonceHex()));
    if (call.header().resumeFromChunk() < 0) {
      end();
      throw new RefusedException(Refusal.MALFORMED, "resume from chunk " + call.header().resumeFromChunk()
          + ": a chunk number is not negative");
    }
    if (call.header().resumeFromChunk() > 0 && !resuming) {
      end();
      throw new RefusedException(Refusal.MALFORMED, "no interrupted upload with nonce " + key.nonceHex()
          + " to resume; send it whole");
    }
    try {
      admission = call.job().admit(call.site(), call.header());
    } catch (RuntimeException e) {
      end();
      throw e;
    }
    first = call;
    arrived = new BitSet(admission.chunks());
    squares = new double[admission.chunks()];
  }

  /** Opens a new spool file, or goes on with the one an interrupted upload of this update left. */
  private void openSpool(UpdateSpool spool) {
    if (resuming) {
      resume(spool, spool.partial(first.job().jobId(), admission.round(), first.site().name(), key.nonceHex()),
          first.header().resumeFromChunk());
    } else {
      writer = spool.open(first.job().jobId(), admission.round(), first.site().name(), key.nonceHex());
    }
  }

  /**
   * Goes on with an interrupted upload: the chunks the spool file holds before the one the site
   * resumes from are checked against the header's hashes and decoded again, as if they had just
   * arrived.
   */
  private void resume(UpdateSpool spool, Path partial, long from) {
    if (from > admission.chunks()) {
      throw new RefusedException(Refusal.MALFORMED, "resume from chunk " + from + " of " + admission.chunks());
    }
    long keep = admission.offset((int) from);
    ChunkCheck check = new ChunkCheck(admission, first.header().chunkSha256());
    try (FileChannel held = FileChannel.open(partial)) {
      if (held.size() < keep) {
        throw new RefusedException(Refusal.MALFORMED, "the coordinator holds " + held.size() + " bytes of this upload, "
            + "fewer than its first " + from + " chunks; ask again where to resume");
      }
      for (int c = 0; c < from; c++) {
        ByteBuffer data = ByteBuffer.allocate(admission.bytes(c));
        while (data.hasRemaining() && held.read(data) >= 0) {
          // Read the whole chunk.
        }
        squares[c] = check.check(c, data.flip());
        arrived.set(c);
      }
    } catch (IOException e) {
      throw new RefusedException(Refusal.INTERNAL, "cannot read the interrupted upload: " + e.getMessage());
    }
    prefix = (int) from;
    checkNanos += check.nanos();
    writer = spool.resume(first.job().jobId(), admission.round(), first.site().name(), key.nonceHex(), keep);
    log.info("round {}: resuming the update from {} at chunk {} of {}", admission.round(), first.site(), from,
        admission.chunks());
  }

  /**
   * Writes chunk c, checked by the call that carried it, at its place. Returns false, writing
   * nothing, if the upload has ended (the call has had its answer).
   */
  synchronized boolean write(int c, ByteBuffer data, double chunkSquares) {
    if (ended) {
      return false;
    }
    if (arrived.get(c)) {
      throw new RefusedException(Refusal.MALFORMED, "chunk " + c + " arrived twice (two calls of a striped upload "
          + "carried it)");
    }
    if (c > prefix) {
      writer.expectHoles();
    }
    writer.write(admission.offset(c), data);
    arrived.set(c);
    squares[c] = chunkSquares;
    prefix = arrived.nextClearBit(prefix);
    lastChunkNanos = System.nanoTime();
    return true;
  }

  /**
   * A call has sent its whole run, checked in {@code checkedNanos}. When it is the last, with every
   * chunk in, the update is completed and accepted, and every call answered. Returns false if the
   * upload had ended (the call has had its answer).
   */
  synchronized boolean runEnded(long checkedNanos) {
    if (ended) {
      return false;
    }
    openRuns--;
    checkNanos += checkedNanos;
    if (openRuns == 0 && prefix == admission.chunks()) {
      complete();
    }
    return true;
  }

  private void complete() {
    long bytes = admission.totalBytes();
    double sum = 0;
    for (double chunk : squares) {
      sum += chunk;
    }
    UpdateHeader header = first.header();
    try {
      end();
      long completing = System.nanoTime();
      Path spooled = writer.complete();
      long forced = System.nanoTime();
      long perCall = checkNanos / calls;
      SitePhases phases = new SitePhases(header.downloadSeconds(), header.queueSeconds(), header.trainSeconds(),
          header.encodeSeconds(),
          (lastChunkNanos - startNanos - perCall) / 1e9, (perCall + System.nanoTime() - lastChunkNanos) / 1e9);
      first.job().accept(first.site(), first.certificate(), first.updateId(), admission, header, spooled, bytes,
          Math.sqrt(sum), phases);
      log.info("round {}: the update from {} came over {} call(s); after its last chunk, forcing it to disk took "
          + "{} s, accepting and folding it {} s; checking its chunks {} s per call", admission.round(), first.site(),
          calls, seconds(forced - completing), seconds(System.nanoTime() - forced), seconds(perCall));
      UploadReceipt receipt = UploadReceipt.newBuilder()
          .setUpdateId(spooled.getFileName().toString()).setBytesReceived(bytes).build();
      for (StreamObserver<UploadReceipt> answer : answers) {
        answer.onNext(receipt);
        answer.onCompleted();
      }
    } catch (RefusedException e) {
      refuse(e.reason(), e.getMessage());
    } catch (RuntimeException e) {
      log.error("upload from {} failed", first.site(), e);
      refuse(Refusal.INTERNAL, "coordinator error: " + e.getMessage());
    }
  }

  private static String seconds(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.2f", nanos / 1e9);
  }

  /** Refuses the update on every call, once, and drops what arrived of it. */
  synchronized void fail(Refusal reason, String message) {
    if (ended) {
      return;
    }
    end();
    refuse(reason, message);
  }

  private void refuse(Refusal reason, String message) {
    if (writer != null) {
      writer.close();
    }
    first.job().refuse(first.site(), first.header().round(), reason, message, admission);
    answerAll(Wire.toStatus(reason, message));
  }

  /**
   * A call broke off (its connection dropped, or the site cancelled it): the upload is suspended,
   * keeping the chunks before the first one missing, and the other calls are told to stop.
   */
  synchronized void brokeOff(StreamObserver<UploadReceipt> call, Throwable why) {
    if (ended) {
      return;
    }
    end();
    answers.remove(call);
    log.info("upload from {} for round {} broke off with {} of {} chunks in, the first {} in order: {}", first.site(),
        admission.round(), arrived.cardinality(), admission.chunks(), prefix, why.toString());
    writer.suspend(admission.offset(prefix));
    first.job().interrupted(first.site(), admission);
    answerAll(Status.ABORTED.withDescription("another call of this striped upload broke off; ask where to resume")
        .asRuntimeException());
  }

  private void end() {
    ended = true;
    registry.remove(this);
  }

  private void answerAll(RuntimeException status) {
    for (StreamObserver<UploadReceipt> answer : answers) {
      answer.onError(status);
    }
    answers.clear();
  }
}
