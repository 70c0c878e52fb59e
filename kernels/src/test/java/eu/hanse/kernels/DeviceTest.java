package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Choosing the backend at start-up, and falling back to the CPU when the GPU is not usable. */
class DeviceTest {
  private static final Supplier<TensorBackend> BROKEN_GPU = () -> {
    throw new IllegalStateException("no usable GPU: the CUDA driver (libcuda.so.1) could not be loaded");
  };

  @Test
  void parsesTheThreeNamesInAnyCaseAndRefusesOthers() {
    assertEquals(Device.AUTO, Device.parse("auto"));
    assertEquals(Device.CPU, Device.parse("CPU"));
    assertEquals(Device.GPU, Device.parse(" gpu "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
    assertEquals("unknown device 'tpu': expected auto, cpu or gpu", e.getMessage());
    assertEquals("gpu", Device.GPU.toString());
  }

  @Test
  void autoFallsBackToTheCpuWithOneLogLineSayingWhy() {
    List<String> log = new ArrayList<>();
    try (TensorBackend backend = Device.AUTO.open(2, log::add, BROKEN_GPU)) {
      assertInstanceOf(CpuBackend.class, backend);
      assertEquals("cpu (2 threads)", backend.name());
    }
    assertEquals(1, log.size(), log.toString());
    assertTrue(log.get(0).contains("libcuda.so.1") && log.get(0).endsWith("using the CPU"), log.get(0));
  }

  @Test
  void gpuWithoutAGpuFailsNamingTheReason() {
    IllegalStateException e = assertThrows(
        IllegalStateException.class, () -> Device.GPU.open(1, line -> {}, BROKEN_GPU));
    assertEquals(
        "--device gpu: no usable GPU: the CUDA driver (libcuda.so.1) could not be loaded", e.getMessage());
  }

  @Test
  void cpuNeverTouchesTheGpu() {
    List<String> log = new ArrayList<>();
    try (TensorBackend backend = Device.CPU.open(1, log::add, () -> {
      throw new AssertionError("the GPU was probed");
    })) {
      assertEquals("cpu (1 thread)", backend.name());
    }
    assertTrue(log.isEmpty());
  }

  /** With the real driver: on a machine without a GPU (CI) the fallback is taken for real. */
  @Test
  void theRealProbeAgreesWithWhatAutoChooses() {
    List<String> log = new ArrayList<>();
    try (TensorBackend backend = Device.AUTO.open(1, log::add)) {
      if (GpuBackend.available()) {
        assertInstanceOf(GpuBackend.class, backend);
        assertTrue(log.isEmpty(), log.toString());
      } else {
        assertInstanceOf(CpuBackend.class, backend);
        assertEquals(1, log.size(), log.toString());
        assertTrue(GpuBackend.probe().startsWith("no gpu: "), GpuBackend.probe());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Device.GPU.open(1, line -> {}));
        assertTrue(e.getMessage().startsWith("--device gpu: no usable GPU: "), e.getMessage());
      }
    }
  }
}
