package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.round.UpdateHeader;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.ErrorCode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Maps domain values to and from the generated protocol classes, at the transport boundary only. */
final class Wire {
  private Wire() {}

  static eu.hanse.protocol.v1.CheckpointRef toProto(CheckpointRef ref) {
    return eu.hanse.protocol.v1.CheckpointRef.newBuilder()
        .setSha256(ref.sha256()).setSizeBytes(ref.sizeBytes()).setRound(ref.round())
        .setJobId(ref.jobId()).setParentSha256(ref.parentSha256()).addAllUpdateIds(ref.updateIds())
        .setSignature(com.google.protobuf.ByteString.copyFrom(ref.signature()))
        .build();
  }

  static UpdateHeader fromProto(eu.hanse.protocol.v1.UpdateHeader header) {
    return new UpdateHeader(header.getJobId(), header.getRound(), header.getBaseCheckpointSha256(),
        header.getCodec(), header.getElementCount(), header.getSampleCount(), header.getNonce().toByteArray(),
        header.getChunkSha256List().stream().map(com.google.protobuf.ByteString::toByteArray).toList(),
        header.getTrainLoss(), header.getLocalSteps(), header.getSignature().toByteArray(), header.getSite(),
        header.getResumeFromChunk(), header.getDeviceSeconds(), header.getTimings().getDownloadSeconds(),
        header.getTimings().getQueueSeconds(), header.getTimings().getTrainSeconds(), header.getTimings().getEncodeSeconds(), header.getStripeFirst(),
        header.getStripeEnd());
  }

  static StatusRuntimeException toStatus(Refusal reason, String message) {
    return HanseErrors.toStatus(statusOf(reason), ErrorCode.valueOf(reason.name()), message);
  }

  static Status statusOf(Refusal reason) {
    return switch (reason) {
      case UNKNOWN_SITE, REVOKED, FORBIDDEN -> Status.PERMISSION_DENIED;
      case BAD_TOKEN, BAD_SIGNATURE -> Status.UNAUTHENTICATED;
      case REPLAYED -> Status.ALREADY_EXISTS;
      case NOT_OPEN_ROUND, STALE_BASE, TRAINING_FAILED -> Status.FAILED_PRECONDITION;
      case DUPLICATE_UPDATE -> Status.ALREADY_EXISTS;
      case UNKNOWN_CHECKPOINT, UNKNOWN_JOB -> Status.NOT_FOUND;
      case OVERSIZED -> Status.RESOURCE_EXHAUSTED;
      case INTERNAL -> Status.INTERNAL;
      case SHAPE_MISMATCH, NON_FINITE, CHUNK_HASH_MISMATCH, TRUNCATED, MALFORMED, UNSUPPORTED_CODEC,
          BAD_SAMPLE_COUNT -> Status.INVALID_ARGUMENT;
    };
  }
}
