package eu.hanse.coordinator.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import eu.hanse.coordinator.job.Refusal;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.ErrorCode;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class WireTest {
  @Test
  void everyRefusalHasTheWireCodeOfItsName() {
    for (Refusal refusal : Refusal.values()) {
      var status = Wire.toStatus(refusal, "because");
      assertEquals(ErrorCode.valueOf(refusal.name()), HanseErrors.detailOf(status).getCode());
      assertNotEquals(Status.Code.OK, status.getStatus().getCode());
    }
  }

  @Test
  void clientMistakesAreInvalidArgumentsAndRoundMismatchesArePreconditions() {
    assertEquals(Status.Code.INVALID_ARGUMENT, Wire.statusOf(Refusal.NON_FINITE).getCode());
    assertEquals(Status.Code.FAILED_PRECONDITION, Wire.statusOf(Refusal.STALE_BASE).getCode());
    assertEquals(Status.Code.PERMISSION_DENIED, Wire.statusOf(Refusal.UNKNOWN_SITE).getCode());
    assertEquals(Status.Code.ALREADY_EXISTS, Wire.statusOf(Refusal.DUPLICATE_UPDATE).getCode());
  }
}
