package eu.hanse.protocol;

import eu.hanse.protocol.v1.ErrorCode;
import eu.hanse.protocol.v1.ErrorDetail;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;

/** How a refusal travels: a gRPC status whose trailers carry an {@link ErrorDetail}. */
public final class HanseErrors {
  /** Trailer key of the {@link ErrorDetail} on every call Hanse refuses. */
  public static final Metadata.Key<ErrorDetail> DETAIL_KEY =
      ProtoUtils.keyForProto(ErrorDetail.getDefaultInstance());

  private HanseErrors() {}

  /** A status exception whose trailers carry the code and message. */
  public static StatusRuntimeException toStatus(Status status, ErrorCode code, String message) {
    Metadata trailers = new Metadata();
    trailers.put(DETAIL_KEY, ErrorDetail.newBuilder().setCode(code).setMessage(message).build());
    return status.withDescription(code + ": " + message).asRuntimeException(trailers);
  }

  /** The detail a refused call carried, or one with {@code ERROR_CODE_UNSPECIFIED} if it had none. */
  public static ErrorDetail detailOf(Throwable t) {
    Metadata trailers = Status.trailersFromThrowable(t);
    if (trailers != null && trailers.containsKey(DETAIL_KEY)) {
      return trailers.get(DETAIL_KEY);
    }
    Status status = Status.fromThrowable(t);
    return ErrorDetail.newBuilder()
        .setCode(ErrorCode.ERROR_CODE_UNSPECIFIED)
        .setMessage(status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()))
        .build();
  }
}
