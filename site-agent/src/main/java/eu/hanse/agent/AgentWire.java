package eu.hanse.agent;

import com.google.protobuf.ByteString;
import eu.hanse.agent.trainer.ExternalTrainer;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.protocol.v1.AttendRequest;
import eu.hanse.protocol.v1.CheckpointRef;
import eu.hanse.protocol.v1.EvaluateTask;
import eu.hanse.protocol.v1.EvaluationReport;
import eu.hanse.protocol.v1.HeartbeatRequest;
import eu.hanse.protocol.v1.SiteTimings;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.protocol.v1.TrainingFailure;
import eu.hanse.protocol.v1.UpdateHeader;
import java.time.Duration;

/**
 * The agent's translation between the wire's protocol buffers and the records its round loop
 * ({@link SiteRounds}) works on, both ways. Nothing else in the agent builds or reads a message
 * but the classes that hold the gRPC stubs ({@link SiteAgent}, {@link CheckpointFetcher},
 * {@link UpdateUploader}).
 */
final class AgentWire {
  private AgentWire() {}

  static TrainWork train(TrainTask task) {
    return new TrainWork(task.getJobId(), task.getRound(), checkpoint(task.getBase()), task.getLocalSteps(),
        task.getTimeBudgetMillis() > 0 ? Duration.ofMillis(task.getTimeBudgetMillis()) : null, task.getSeed(),
        task.getTrainer().getBatchSize(), task.getTrainer().getLearningRate(), task.getTrainer().getWeightDecay(),
        task.getTrainer().getProximalMu(), task.getCodec(), task.getMaxChunkBytes());
  }

  static EvaluateWork evaluate(EvaluateTask task) {
    return new EvaluateWork(task.getJobId(), checkpoint(task.getCheckpoint()));
  }

  static CheckpointAddress checkpoint(CheckpointRef ref) {
    return new CheckpointAddress(ref.getJobId(), ref.getRound(), ref.getSha256(), ref.getSizeBytes(),
        ref.getParentSha256(), ref.getUpdateIdsList(), ref.getSignature().toByteArray());
  }

  /** The first message of the control stream: who the agent is and what it holds. */
  static AttendRequest hello(String device, long trainSamples, long heldOutSamples) {
    return AttendRequest.newBuilder().setAgentVersion("hanse-0.1").setDevice(device).setTrainSamples(trainSamples)
        .setHeldOutSamples(heldOutSamples).build();
  }

  /** A heartbeat: what the agent does, how far it is, and the round it trains for (null when none). */
  static HeartbeatRequest heartbeat(String activity, String phase, double progress, SiteRounds.Work work) {
    HeartbeatRequest.Builder beat = HeartbeatRequest.newBuilder().setActivity(activity).setPhase(phase)
        .setProgress(progress);
    if (work != null) {
      beat.setJobId(work.job()).setRound(work.round());
    }
    return beat.build();
  }

  /** The header of a trained update, before its chunks are hashed and it is signed: with a fresh {@code nonce}. */
  static UpdateHeader.Builder header(TrainedUpdate update, byte[] nonce) {
    return UpdateHeader.newBuilder()
        .setJobId(update.work().job())
        .setRound(update.work().round())
        .setBaseCheckpointSha256(update.work().base().sha256())
        .setNonce(ByteString.copyFrom(nonce))
        .setSampleCount(update.samples())
        .setTrainLoss(update.trainLoss())
        .setLocalSteps(update.localSteps())
        .setDeviceSeconds(update.deviceSeconds());
  }

  /** Where the site's part of the round's time went, as the coordinator records it. */
  static SiteTimings timings(TrainedUpdate update, double encodeSeconds) {
    return SiteTimings.newBuilder().setDownloadSeconds(update.downloadSeconds())
        .setQueueSeconds(update.queueSeconds()).setTrainSeconds(update.trainSeconds())
        .setEncodeSeconds(encodeSeconds).build();
  }

  static TrainingFailure trainingFailure(TrainWork work, String runId, ExternalTrainer.Failure failure) {
    return TrainingFailure.newBuilder().setJobId(work.job()).setRound(work.round())
        .setReason(failure.reason().name()).setMessage(failure.getMessage()).setRunId(runId)
        .setDeviceSeconds(failure.deviceSeconds()).build();
  }

  static EvaluationReport evaluation(EvaluateWork work, HeldOutLoss loss) {
    return EvaluationReport.newBuilder().setJobId(work.job()).setCheckpointSha256(work.checkpoint().sha256())
        .setLoss(loss.loss()).setSamples(loss.samples()).build();
  }
}
