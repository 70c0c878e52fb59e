package eu.hanse.coordinator;

import com.google.protobuf.ByteString;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ChunkCodecs;
import eu.hanse.model.UpdateCodec;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.AttendRequest;
import eu.hanse.protocol.v1.CheckpointChunk;
import eu.hanse.protocol.v1.ErrorCode;
import eu.hanse.protocol.v1.EvaluationReport;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.FetchCheckpointRequest;
import eu.hanse.protocol.v1.Instruction;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.protocol.v1.UpdateChunk;
import eu.hanse.protocol.v1.UpdateHeader;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import eu.hanse.security.UpdateClaims;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A test site agent over real mTLS gRPC that sends whatever messages its script builds from a
 * train task, and records how the coordinator answered each upload.
 */
final class ScriptedAgent implements AutoCloseable {
  private final io.netty.handler.ssl.SslContext tls;
  private final int port;
  private final ManagedChannel channel;
  private final FederationGrpc.FederationBlockingStub blocking;
  private final FederationGrpc.FederationStub async;
  private final Function<TrainTask, List<List<UpdateMessage>>> script;
  private final Thread thread;
  final List<ErrorCode> outcomes = new CopyOnWriteArrayList<>();
  final List<String> messages = new CopyOnWriteArrayList<>();
  final CompletableFuture<Instruction> finished = new CompletableFuture<>();

  /** @param script for each train task, the uploads to make, each a list of messages */
  ScriptedAgent(TlsFiles tls, int port, Function<TrainTask, List<List<UpdateMessage>>> script) {
    this(TlsContexts.forClient(tls), port, script);
  }

  ScriptedAgent(io.netty.handler.ssl.SslContext tls, int port, Function<TrainTask, List<List<UpdateMessage>>> script) {
    this.tls = tls;
    this.port = port;
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(tls).build();
    this.blocking = FederationGrpc.newBlockingStub(channel);
    this.async = FederationGrpc.newStub(channel);
    this.script = script;
    this.thread = Thread.ofPlatform().daemon().start(this::attend);
  }

  private void attend() {
    try {
      Iterator<Instruction> instructions = blocking.attend(AttendRequest.newBuilder().setDevice("test").setTrainSamples(100).build());
      while (instructions.hasNext()) {
        Instruction instruction = instructions.next();
        switch (instruction.getKindCase()) {
          case EVALUATE -> blocking.reportEvaluation(EvaluationReport.newBuilder()
              .setJobId(instruction.getEvaluate().getJobId())
              .setCheckpointSha256(instruction.getEvaluate().getCheckpoint().getSha256())
              .setLoss(1.0).setSamples(100).build());
          case TRAIN -> {
            for (List<UpdateMessage> upload : script.apply(instruction.getTrain())) {
              send(upload);
            }
          }
          case FINISHED -> finished.complete(instruction);
          case WELCOME -> heartbeat(instruction.getWelcome().getHeartbeatIntervalMillis());
          default -> { }
        }
      }
      finished.completeExceptionally(new IllegalStateException("the coordinator ended the stream"));
    } catch (RuntimeException e) {
      finished.completeExceptionally(e);
    }
  }

  /** Beats as a real agent does, so that a long test does not see this site go offline. */
  private void heartbeat(long intervalMillis) {
    Thread.ofVirtual().start(() -> {
      while (!channel.isShutdown()) {
        try {
          blocking.heartbeat(eu.hanse.protocol.v1.HeartbeatRequest.newBuilder().setActivity("scripted").build());
          Thread.sleep(intervalMillis);
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          return;
        }
      }
    });
  }

  private void send(List<UpdateMessage> upload) {
    record(new Call(channel, false).send(upload).complete());
  }

  /** Opens an upload call on a connection of its own, to be driven a step at a time. */
  Call call() {
    return new Call(NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(tls).build(), true);
  }

  /** How many chunks of an interrupted upload the coordinator holds, as an agent asks before resuming. */
  long chunksHeld(UpdateHeader.Builder header) {
    return blocking.resumeUpload(eu.hanse.protocol.v1.ResumeUploadRequest.newBuilder().setJobId(header.getJobId())
        .setRound(header.getRound()).setNonce(header.getNonce()).build()).getChunksHeld();
  }

  /** Records an upload's outcome as {@link #send} does, for uploads made with {@link #call}. */
  void record(Call call) {
    outcomes.add(call.outcome());
    messages.add(call.description());
  }

  /** One upload call, on a connection of its own: one run of a striped upload, say. */
  static final class Call implements AutoCloseable {
    private final ManagedChannel channel;
    private final boolean ownsChannel;
    private final CompletableFuture<UploadReceipt> receipt = new CompletableFuture<>();
    private final io.grpc.stub.ClientCallStreamObserver<UpdateMessage> requests;

    private Call(ManagedChannel channel, boolean ownsChannel) {
      this.channel = channel;
      this.ownsChannel = ownsChannel;
      this.requests = (io.grpc.stub.ClientCallStreamObserver<UpdateMessage>) FederationGrpc.newStub(channel)
          .uploadUpdate(new StreamObserver<>() {
            @Override
            public void onNext(UploadReceipt value) {
              receipt.complete(value);
            }

            @Override
            public void onError(Throwable t) {
              receipt.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {}
          });
    }

    Call send(List<UpdateMessage> messages) {
      messages.forEach(requests::onNext);
      return this;
    }

    Call complete() {
      requests.onCompleted();
      return this;
    }

    void cancel() {
      requests.cancel("the test breaks this call off", null);
    }

    /** The receipt, or the error the call ended with, waited for up to 30 seconds. */
    UploadReceipt receipt() throws Exception {
      return receipt.get(30, TimeUnit.SECONDS);
    }

    /** {@code ERROR_CODE_UNSPECIFIED} for a receipt, else the code the call was refused with. */
    ErrorCode outcome() {
      try {
        receipt();
        return ErrorCode.ERROR_CODE_UNSPECIFIED;
      } catch (java.util.concurrent.ExecutionException e) {
        return HanseErrors.detailOf(e.getCause()).getCode();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /** "accepted", or the refusal's message, or the status the call ended with. */
    String description() {
      try {
        receipt();
        return "accepted";
      } catch (java.util.concurrent.ExecutionException e) {
        var detail = HanseErrors.detailOf(e.getCause());
        return detail.getCode() == ErrorCode.ERROR_CODE_UNSPECIFIED ? e.getCause().getMessage() : detail.getMessage();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void close() {
      if (ownsChannel) {
        channel.shutdownNow();
      }
    }
  }

  /** Downloads a checkpoint from {@code offset} to its end, through the streaming call. */
  byte[] fetch(String sha256, long offset) {
    return fetch(sha256, offset, 0);
  }

  /** Downloads {@code length} bytes of a checkpoint from {@code offset} (0: to the end). */
  byte[] fetch(String sha256, long offset, long length) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    Iterator<CheckpointChunk> chunks = blocking.fetchCheckpoint(
        FetchCheckpointRequest.newBuilder().setSha256(sha256).setOffset(offset).setLength(length).build());
    chunks.forEachRemaining(c -> out.writeBytes(c.getData().toByteArray()));
    return out.toByteArray();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    thread.interrupt();
  }

  /** A well-formed update of random values for a task, signed as {@code site} with {@code key}. */
  static Update update(TrainTask task, long elements, long seed, String site, SigningKey key) {
    Random random = new Random(seed);
    float[] values = new float[(int) elements];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian() * 0.01f;
    }
    return new Update(task, values, site, key);
  }

  /** An update under construction: values, then a header and chunks that tests may spoil. */
  static final class Update {
    final TrainTask task;
    final float[] values;
    final UpdateHeader.Builder header;
    final String site;
    /** Signs the header as it is sent; null sends it unsigned. */
    SigningKey signer;
    /** Changes the header after it was signed, to test that the signature covers it. */
    java.util.function.Consumer<UpdateHeader.Builder> afterSigning = h -> { };

    Update(TrainTask task, float[] values, String site, SigningKey signer) {
      this.task = task;
      this.values = values;
      this.site = site;
      this.signer = signer;
      byte[] nonce = new byte[16];
      new Random(values.length + 31L * task.getRound() + site.hashCode()).nextBytes(nonce);
      this.header = UpdateHeader.newBuilder()
          .setJobId(task.getJobId()).setRound(task.getRound()).setBaseCheckpointSha256(task.getBase().getSha256())
          .setCodec(codec(task).describe()).setElementCount(values.length).setSampleCount(100)
          .setNonce(ByteString.copyFrom(nonce)).setTrainLoss(1.5).setLocalSteps(task.getLocalSteps());
    }

    /** Gives the update another nonce, so that it is a different update with the same content. */
    Update withNonceSeed(long seed) {
      byte[] nonce = new byte[16];
      new Random(seed).nextBytes(nonce);
      header.setNonce(ByteString.copyFrom(nonce));
      return this;
    }

    /** The values in chunks of max_chunk_bytes / 4 elements, each encoded in the task's codec. */
    List<ByteString> chunks() {
      int perChunk = task.getMaxChunkBytes() / 4;
      List<ByteString> chunks = new ArrayList<>();
      try (TensorBackend backend = TensorBackend.cpu(1)) {
        ChunkCodecs codecs = new ChunkCodecs(codec(task), backend);
        for (int from = 0; from < values.length; from += perChunk) {
          int count = Math.min(perChunk, values.length - from);
          chunks.add(ByteString.copyFrom(codecs.encode(Arrays.copyOfRange(values, from, from + count), count)));
        }
      }
      return chunks;
    }

    private static UpdateCodec codec(TrainTask task) {
      return UpdateCodec.parse(task.getCodec().isEmpty() ? "fp32" : task.getCodec());
    }

    /** The header with the hashes of {@link #chunks()}, then those chunks. */
    List<UpdateMessage> messages() {
      return messages(chunks());
    }

    /** The header with the hashes of {@code hashed}, then the chunks {@code sent}. */
    List<UpdateMessage> messages(List<ByteString> sent) {
      return messages(chunks(), sent);
    }

    /**
     * One run of a striped upload: the header, resuming from chunk {@code resumeFrom}, naming the
     * run {@code [from, to)}, then those of the chunks that exist.
     */
    List<UpdateMessage> run(long resumeFrom, int from, int to) {
      List<ByteString> chunks = chunks();
      afterSigning = h -> h.setResumeFromChunk(resumeFrom).setStripeFirst(from).setStripeEnd(to);
      List<UpdateMessage> messages = new ArrayList<>(messages(chunks, List.of()).subList(0, 1));
      for (int i = from; i < Math.min(to, chunks.size()); i++) {
        messages.add(UpdateMessage.newBuilder().setChunk(UpdateChunk.newBuilder().setIndex(i).setData(chunks.get(i)))
            .build());
      }
      return messages;
    }

    List<UpdateMessage> messages(List<ByteString> hashed, List<ByteString> sent) {
      UpdateHeader.Builder withHashes = header.clone().clearChunkSha256();
      for (ByteString chunk : hashed) {
        withHashes.addChunkSha256(ByteString.copyFrom(sha256(chunk.toByteArray())));
      }
      if (signer != null) {
        UpdateClaims claims = new UpdateClaims(withHashes.getJobId(), withHashes.getRound(), new SiteId(site),
            withHashes.getBaseCheckpointSha256(), withHashes.getCodec(), withHashes.getElementCount(),
            withHashes.getSampleCount(), withHashes.getNonce().toByteArray(), UpdateClaims.chunkRoot(
                withHashes.getChunkSha256List().stream().map(ByteString::toByteArray).toList()));
        withHashes.setSignature(ByteString.copyFrom(signer.sign(claims.canonicalBytes())));
      }
      afterSigning.accept(withHashes);
      List<UpdateMessage> messages = new ArrayList<>();
      messages.add(UpdateMessage.newBuilder().setHeader(withHashes).build());
      for (int i = 0; i < sent.size(); i++) {
        messages.add(UpdateMessage.newBuilder().setChunk(UpdateChunk.newBuilder().setIndex(i).setData(sent.get(i))).build());
      }
      return messages;
    }
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
