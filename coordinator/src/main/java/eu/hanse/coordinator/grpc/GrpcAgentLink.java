package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.round.AgentLink;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.protocol.v1.EvaluateTask;
import eu.hanse.protocol.v1.Instruction;
import eu.hanse.protocol.v1.JobFinished;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.security.SiteId;
import io.grpc.stub.ServerCallStreamObserver;

/** An agent's open {@code Attend} stream, as an {@link AgentLink}. */
final class GrpcAgentLink implements AgentLink {
  private final SiteId site;
  private final String device;
  private final long trainSamples;
  private final ServerCallStreamObserver<Instruction> stream;
  private final java.security.cert.X509Certificate certificate;
  private volatile long lastHeardNanos = System.nanoTime();
  private volatile String activity = "";
  private volatile String phase = "";
  private volatile double progress;

  GrpcAgentLink(SiteId site, java.security.cert.X509Certificate certificate, String device, long trainSamples,
      ServerCallStreamObserver<Instruction> stream) {
    this.site = site;
    this.certificate = certificate;
    this.device = device;
    this.trainSamples = trainSamples;
    this.stream = stream;
  }

  @Override
  public SiteId site() {
    return site;
  }

  @Override
  public java.security.cert.X509Certificate certificate() {
    return certificate;
  }

  @Override
  public String device() {
    return device;
  }

  @Override
  public long trainSamples() {
    return trainSamples;
  }

  @Override
  public long lastHeardNanos() {
    return lastHeardNanos;
  }

  @Override
  public void heard(String activity, String phase, double progress) {
    this.activity = activity;
    this.phase = phase;
    this.progress = Double.isFinite(progress) ? Math.min(1, Math.max(0, progress)) : 0;
    lastHeardNanos = System.nanoTime();
  }

  @Override
  public String activity() {
    return activity;
  }

  @Override
  public String phase() {
    return phase;
  }

  @Override
  public double progress() {
    return progress;
  }

  /** The first instruction: how often to send heartbeats. */
  void sendWelcome(java.time.Duration heartbeatInterval) {
    send(Instruction.newBuilder().setWelcome(eu.hanse.protocol.v1.Welcome.newBuilder()
        .setHeartbeatIntervalMillis(heartbeatInterval.toMillis())).build());
  }

  @Override
  public void sendTrain(JobSpec job, long round, CheckpointRef base, long seed) {
    TrainTask task = TrainTask.newBuilder()
        .setJobId(job.id().value())
        .setRound(round)
        .setBase(Wire.toProto(base))
        .setLocalSteps(job.localSteps())
        .setTrainer(eu.hanse.protocol.v1.TrainerSettings.newBuilder()
            .setBatchSize(job.trainer().batchSize())
            .setLearningRate(job.trainer().learningRate())
                .setProximalMu(job.trainer().proximalMu())
            .setWeightDecay(job.trainer().weightDecay()))
        .setSeed(seed)
        .setMaxChunkBytes(job.maxChunkBytes())
        .setCodec(job.codec().describe())
        .setTimeBudgetMillis(job.schedule().localTime() == null ? 0 : job.schedule().localTime().toMillis())
        .build();
    send(Instruction.newBuilder().setTrain(task).build());
  }

  @Override
  public void sendEvaluate(JobId job, CheckpointRef checkpoint) {
    send(Instruction.newBuilder().setEvaluate(EvaluateTask.newBuilder()
        .setJobId(job.value()).setCheckpoint(Wire.toProto(checkpoint))).build());
  }

  @Override
  public void sendFinished(JobId job, CheckpointRef last, long roundsCompleted) {
    send(Instruction.newBuilder().setFinished(JobFinished.newBuilder()
        .setJobId(job.value()).setFinalCheckpoint(Wire.toProto(last)).setRoundsCompleted(roundsCompleted)).build());
  }

  @Override
  public void close() {
    synchronized (stream) {
      try {
        stream.onCompleted();
      } catch (IllegalStateException alreadyClosed) {
        // The agent went away first.
      }
    }
  }

  @Override
  public void refuse(Refusal reason, String message) {
    synchronized (stream) {
      try {
        stream.onError(Wire.toStatus(reason, message));
      } catch (IllegalStateException alreadyClosed) {
        // The agent went away first.
      }
    }
  }

  private void send(Instruction instruction) {
    // StreamObserver is not thread-safe; the job thread and the transport both send.
    synchronized (stream) {
      if (!stream.isCancelled()) {
        try {
          stream.onNext(instruction);
        } catch (IllegalStateException | io.grpc.StatusRuntimeException closed) {
          // The stream closed under us; the registry hears of it through the cancel handler.
        }
      }
    }
  }
}
