package eu.hanse.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import eu.hanse.protocol.v1.ErrorCode;
import eu.hanse.protocol.v1.ErrorDetail;
import eu.hanse.protocol.v1.FederationGrpc;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FederationContractTest {
  @Test
  void tensorsTravelOnlyThroughStreamingCalls() {
    assertEquals(MethodType.SERVER_STREAMING, FederationGrpc.getAttendMethod().getType());
    assertEquals(MethodType.SERVER_STREAMING, FederationGrpc.getFetchCheckpointMethod().getType());
    assertEquals(MethodType.CLIENT_STREAMING, FederationGrpc.getUploadUpdateMethod().getType());
    assertEquals(MethodType.UNARY, FederationGrpc.getReportEvaluationMethod().getType());
    assertEquals("hanse.v1.Federation", FederationGrpc.SERVICE_NAME);
  }

  @Test
  void errorCodesKeepTheirWireNumbers() {
    // Published numbers: agents of older versions decode refusals by them. Never renumber.
    Map<String, Integer> published = new LinkedHashMap<>();
    String[] names = {"ERROR_CODE_UNSPECIFIED", "UNKNOWN_SITE", "NOT_OPEN_ROUND", "STALE_BASE", "SHAPE_MISMATCH",
        "NON_FINITE", "CHUNK_HASH_MISMATCH", "TRUNCATED", "DUPLICATE_UPDATE", "OVERSIZED", "MALFORMED",
        "UNKNOWN_CHECKPOINT", "UNSUPPORTED_CODEC", "BAD_SAMPLE_COUNT", "INTERNAL", "BAD_SIGNATURE", "REPLAYED",
        "REVOKED", "BAD_TOKEN", "FORBIDDEN", "UNKNOWN_JOB", "TRAINING_FAILED"};
    for (int i = 0; i < names.length; i++) {
      published.put(names[i], i);
    }
    Map<String, Integer> actual = new LinkedHashMap<>();
    for (ErrorCode code : ErrorCode.values()) {
      if (code != ErrorCode.UNRECOGNIZED) {
        actual.put(code.name(), code.getNumber());
      }
    }
    assertEquals(published, actual);
  }

  @Test
  void refusalCarriesItsCodeAndMessageInTheTrailers() {
    StatusRuntimeException refused =
        HanseErrors.toStatus(Status.FAILED_PRECONDITION, ErrorCode.STALE_BASE, "trained from an old checkpoint");
    ErrorDetail detail = HanseErrors.detailOf(refused);
    assertEquals(ErrorCode.STALE_BASE, detail.getCode());
    assertEquals("trained from an old checkpoint", detail.getMessage());
    assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
    assertEquals("STALE_BASE: trained from an old checkpoint", refused.getStatus().getDescription());
  }

  @Test
  void aFailureWithoutDetailIsReportedAsUnspecifiedWithItsStatus() {
    ErrorDetail detail = HanseErrors.detailOf(Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException());
    assertEquals(ErrorCode.ERROR_CODE_UNSPECIFIED, detail.getCode());
    assertEquals("UNAVAILABLE: connection refused", detail.getMessage());
  }
}
