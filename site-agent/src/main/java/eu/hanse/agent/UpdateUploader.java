package eu.hanse.agent;

import com.google.protobuf.ByteString;
import eu.hanse.model.ChunkCodecs;
import eu.hanse.model.FlatReader;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.TransportSettings;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.ResumeUploadRequest;
import eu.hanse.protocol.v1.UpdateChunk;
import eu.hanse.protocol.v1.UpdateHeader;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.Digests;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Streams an update as encoded chunks: first a header listing every chunk's SHA-256, then the
 * chunks, each sent only when the transport is ready for it, so memory stays at one chunk beyond the
 * update itself however slow the link. The chunks are encoded twice (once to hash, once to send;
 * encoding is deterministic) rather than held encoded. A large update goes over several
 * connections at once, each call with the same header and its own run of the chunks, so that one
 * core per connection does not bound it.
 */
final class UpdateUploader {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UpdateUploader.class);
  /** An upload is striped over several connections only when each would carry at least this much. */
  static final long MIN_STRIPE_BYTES = 64L << 20;

  private final List<FederationGrpc.FederationStub> stubs;
  private final FederationGrpc.FederationBlockingStub blocking;
  private final Progress progress;

  /** An uploader over {@code stubs}, one per connection: the first carries every upload, the rest large ones' runs. */
  UpdateUploader(List<FederationGrpc.FederationStub> stubs, FederationGrpc.FederationBlockingStub blocking) {
    this(stubs, blocking, new Progress());
  }

  /** As above, telling {@code progress} of each chunk handed to the transport. */
  UpdateUploader(List<FederationGrpc.FederationStub> stubs, FederationGrpc.FederationBlockingStub blocking,
      Progress progress) {
    this.stubs = List.copyOf(stubs);
    this.blocking = blocking;
    this.progress = progress;
  }

  /** Signs a header whose every other field is set. */
  interface HeaderSigner {
    byte[] sign(UpdateHeader header);
  }

  /** An update ready to send: its signed header, and the values its chunks are encoded from. */
  record Prepared(UpdateHeader header, FlatReader delta, int perChunk, ChunkCodecs codecs) {
    int chunks() {
      return header.getChunkSha256Count();
    }

    /** The same update, its header carrying the site's timings (not signed). */
    Prepared withTimings(eu.hanse.protocol.v1.SiteTimings timings) {
      return new Prepared(header.toBuilder().setTimings(timings).build(), delta, perChunk, codecs);
    }
  }

  /**
   * Hashes every chunk of {@code delta} (read a chunk at a time, so an update of any size passes
   * through one chunk of memory), encoded in chunks of {@code chunkBytes / 4} elements by
   * {@code codecs}, and signs the header (codec, element count and chunk hashes filled in here): the
   * update as it will be sent, and resent if it breaks off.
   *
   * @param residual when non-null, receives what the codec dropped of each element (the value minus
   *     what the coordinator will decode): the site's error feedback for its next update
   */
  Prepared prepare(UpdateHeader.Builder header, FlatReader delta, int chunkBytes, ChunkCodecs codecs,
      float[] residual, HeaderSigner signer) {
    int perChunk = chunkBytes / Float.BYTES;
    int chunks = Math.toIntExact((delta.length() + perChunk - 1) / perChunk);
    ChunkEncoder encoder = new ChunkEncoder(delta, perChunk, codecs);
    header.setCodec(codecs.codec().describe()).setElementCount(delta.length()).clearChunkSha256();
    MessageDigest digest = Digests.sha256();
    for (int c = 0; c < chunks; c++) {
      ByteBuffer encoded = encoder.encode(c);
      if (residual != null) {
        encoder.residual(c, encoded.duplicate(), residual);
      }
      digest.update(encoded);
      header.addChunkSha256(ByteString.copyFrom(digest.digest()));
    }
    header.setSignature(ByteString.copyFrom(signer.sign(header.clearSignature().build())));
    return new Prepared(header.build(), delta, perChunk, codecs);
  }

  /** How many chunks of an interrupted upload of {@code update} the coordinator holds: where to resume. */
  long chunksHeld(Prepared update) {
    return blocking.withDeadlineAfter(1, TimeUnit.MINUTES).resumeUpload(ResumeUploadRequest.newBuilder()
        .setJobId(update.header().getJobId()).setRound(update.header().getRound())
        .setNonce(update.header().getNonce()).build()).getChunksHeld();
  }

  /**
   * Sends the update's chunks from {@code firstChunk} on: over one call, or, when at least
   * {@link #MIN_STRIPE_BYTES} remain for each, as runs over several connections at once (a striped
   * upload), each call with the header and its own run. Returns the coordinator's receipt.
   */
  UploadReceipt send(Prepared update, long firstChunk) throws InterruptedException {
    int chunks = update.chunks();
    long remaining = (chunks - firstChunk) * (long) update.codecs().codec().encodedBytes(update.perChunk());
    int stripes = (int) Math.max(1, Math.min(stubs.size(), remaining / MIN_STRIPE_BYTES));
    progress.start("upload", chunks);
    progress.reached(firstChunk);
    if (stripes == 1) {
      return new Run(stubs.get(0), update, firstChunk, firstChunk, chunks, false, progress).call();
    }
    List<Run> runs = new ArrayList<>();
    for (int s = 0; s < stripes; s++) {
      long from = firstChunk + (chunks - firstChunk) * s / stripes;
      long to = firstChunk + (chunks - firstChunk) * (s + 1) / stripes;
      runs.add(new Run(stubs.get(s), update, firstChunk, from, to, true, progress));
    }
    log.info("round {}: sending chunks {} to {} as {} runs over {} connections", update.header().getRound(),
        firstChunk, chunks, stripes, stripes);
    return sendAll(runs);
  }

  /** Sends the runs at once; if one fails, the others are cancelled, and a refusal is reported before a break. */
  private static UploadReceipt sendAll(List<Run> runs) throws InterruptedException {
    ExecutorService threads = Executors.newFixedThreadPool(runs.size(),
        Thread.ofPlatform().daemon().name("upload-run-", 0).factory());
    try {
      ExecutorCompletionService<UploadReceipt> done = new ExecutorCompletionService<>(threads);
      runs.forEach(run -> done.submit(run::call));
      RuntimeException failure = null;
      UploadReceipt receipt = null;
      for (int i = 0; i < runs.size(); i++) {
        try {
          receipt = done.take().get();
        } catch (ExecutionException e) {
          RuntimeException cause = e.getCause() instanceof RuntimeException runtime ? runtime
              : new IllegalStateException(e.getCause());
          if (failure == null || isRefusal(cause) && !isRefusal(failure)) {
            failure = cause;
          }
          runs.forEach(run -> run.cancel("another run of this upload failed"));
        }
      }
      if (failure != null) {
        throw failure;
      }
      return receipt;
    } finally {
      threads.shutdownNow();
    }
  }

  private static boolean isRefusal(RuntimeException e) {
    return e instanceof io.grpc.StatusRuntimeException status
        && HanseErrors.detailOf(status).getCode() != eu.hanse.protocol.v1.ErrorCode.ERROR_CODE_UNSPECIFIED;
  }

  /** One call of an upload: the header, then chunks {@code [from, to)} as the transport takes them. */
  private static final class Run {
    private final FederationGrpc.FederationStub stub;
    private final UpdateHeader header;
    private final ChunkEncoder encoder;
    private final long from;
    private final long to;
    private final Progress progress;
    private final CompletableFuture<UploadReceipt> receipt = new CompletableFuture<>();
    private volatile ClientCallStreamObserver<UpdateMessage> requests;

    Run(FederationGrpc.FederationStub stub, Prepared update, long resumeFrom, long from, long to, boolean striped,
        Progress progress) {
      this.stub = stub;
      this.progress = progress;
      UpdateHeader.Builder builder = update.header().toBuilder().setResumeFromChunk(resumeFrom);
      if (striped) {
        builder.setStripeFirst(from).setStripeEnd(to);
      }
      this.header = builder.build();
      this.encoder = new ChunkEncoder(update.delta(), update.perChunk(), update.codecs().another());
      this.from = from;
      this.to = to;
    }

    UploadReceipt call() throws InterruptedException {
      Object ready = new Object();
      ClientResponseObserver<UpdateMessage, UploadReceipt> responses = new ClientResponseObserver<>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<UpdateMessage> stream) {
          stream.setOnReadyHandler(() -> {
            synchronized (ready) {
              ready.notifyAll();
            }
          });
        }

        @Override
        public void onNext(UploadReceipt value) {
          receipt.complete(value);
        }

        @Override
        public void onError(Throwable t) {
          receipt.completeExceptionally(t);
          synchronized (ready) {
            ready.notifyAll();
          }
        }

        @Override
        public void onCompleted() {
          receipt.completeExceptionally(new IllegalStateException("coordinator closed the upload without a receipt"));
        }
      };
      requests = (ClientCallStreamObserver<UpdateMessage>) stub.withDeadlineAfter(30, TimeUnit.MINUTES)
          .withOnReadyThreshold(TransportSettings.IN_FLIGHT_BYTES).uploadUpdate(responses);
      requests.onNext(UpdateMessage.newBuilder().setHeader(header).build());
      // Each chunk is encoded while the one before drains, so the link never waits on the encoder.
      UpdateMessage next = from < to ? chunkMessage(encoder, (int) from) : null;
      for (long c = from; c < to && !receipt.isDone(); c++) {
        synchronized (ready) {
          while (!requests.isReady() && !receipt.isDone()) {
            ready.wait(100);
          }
        }
        if (receipt.isDone()) {
          break;
        }
        requests.onNext(next);
        progress.advance(1);
        if (c == from) {
          eu.hanse.faults.FaultPoints.reach("send", header.getRound());
        }
        next = c + 1 < to ? chunkMessage(encoder, (int) c + 1) : null;
      }
      if (!receipt.isDone()) {
        requests.onCompleted();
      }
      try {
        return receipt.get(10, TimeUnit.MINUTES);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RuntimeException runtime) {
          throw runtime;
        }
        throw new IllegalStateException(e.getCause());
      } catch (TimeoutException e) {
        requests.cancel("no receipt within 10 minutes", e);
        throw new IllegalStateException("coordinator sent no receipt within 10 minutes of the last chunk");
      }
    }

    /** Stops the call, if it is still going. */
    void cancel(String why) {
      ClientCallStreamObserver<UpdateMessage> call = requests;
      if (call != null && !receipt.isDone()) {
        call.cancel(why, null);
      }
    }
  }

  /** Chunk c as a message that wraps its freshly encoded bytes rather than copying them. */
  private static UpdateMessage chunkMessage(ChunkEncoder encoder, int c) {
    return UpdateMessage.newBuilder().setChunk(UpdateChunk.newBuilder().setIndex(c)
        .setData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(encoder.encode(c)))).build();
  }

  /** Encodes chunk c of an update, and works out what the encoding lost. */
  private static final class ChunkEncoder {
    private final FlatReader values;
    private final int perChunk;
    private final ChunkCodecs codecs;
    private final float[] chunk;
    private final float[] decoded;

    ChunkEncoder(FlatReader values, int perChunk, ChunkCodecs codecs) {
      this.values = values;
      this.perChunk = perChunk;
      this.codecs = codecs;
      this.chunk = new float[(int) Math.min(perChunk, Math.max(1, values.length()))];
      this.decoded = new float[chunk.length];
    }

    ByteBuffer encode(int c) {
      long from = (long) c * perChunk;
      int count = (int) Math.min(perChunk, values.length() - from);
      values.read(from, chunk, count);
      return codecs.encode(chunk, count);
    }

    /** {@code residual[i] = value - decoded} over chunk c, whose values {@link #encode} has just read. */
    void residual(int c, ByteBuffer encoded, float[] residual) {
      int from = Math.toIntExact((long) c * perChunk);
      int count = (int) Math.min(perChunk, values.length() - from);
      codecs.decode(encoded, count, decoded);
      for (int i = 0; i < count; i++) {
        residual[from + i] = chunk[i] - decoded[i];
      }
    }
  }
}
