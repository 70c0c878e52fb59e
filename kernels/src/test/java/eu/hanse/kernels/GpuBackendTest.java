package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract on the GPU backend. Runs where a CUDA device and driver are present; elsewhere
 * every test is skipped, and the reason (the driver could not be loaded, or no device) is the skip
 * message in the report.
 */
class GpuBackendTest extends BackendContractTest {

  @BeforeEach
  void gpuPresent() {
    assumeTrue(GpuBackend.available(), () -> "skipped, no GPU here: " + GpuBackend.probe());
  }

  @Override
  TensorBackend open(int threads) {
    return GpuBackend.open();
  }

  /** CUDA's tanhf is within 2 ulps. */
  @Override
  int tanhUlps() {
    return 2;
  }

  @Test
  void namesTheDevice() {
    try (TensorBackend backend = open(1)) {
      assertTrue(backend.name().startsWith("gpu ("), backend.name());
    }
  }
}
