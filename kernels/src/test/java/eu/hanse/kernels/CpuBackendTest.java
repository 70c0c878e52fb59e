package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The contract on the CPU backend, and what only the CPU backend has: its threads. */
class CpuBackendTest extends BackendContractTest {

  @Override
  TensorBackend open(int threads) {
    return TensorBackend.cpu(threads);
  }

  /** {@code (float) Math.tanh(x)}: Math.tanh is within 2.5 ulps in double, then one rounding. */
  @Override
  int tanhUlps() {
    return 1;
  }

  @Test
  void testShapesReachEveryKernelPath() {
    assertTrue(LARGE >= CpuBackend.PARALLEL_ELEMENTS);
    assertTrue(200L * 1001 >= CpuBackend.PARALLEL_ELEMENTS);
    assertTrue(66_667L * 3 >= CpuBackend.PARALLEL_ELEMENTS);
    assertTrue(70L * 130 * 90 >= CpuBackend.MATMUL_PARALLEL_WORK);
    assertTrue(1L * 3000 * 200 >= CpuBackend.MATMUL_PARALLEL_WORK);
    assertTrue(8L * 700 * 130 >= CpuBackend.MATMUL_PARALLEL_WORK);
    assertTrue(5 < Gemm.DOT_ROWS && 8 >= Gemm.DOT_ROWS);
  }

  @Test
  void matmulResultsDoNotDependOnThreadCount() {
    Random rnd = new Random(12);
    int[][] shapes = {{70, 130, 90}, {9, 600, 300}, {7, 2000, 150}, {1, 3000, 200}, {8, 700, 130}};
    try (TensorBackend one = TensorBackend.cpu(1);
        TensorBackend two = TensorBackend.cpu(2);
        TensorBackend three = TensorBackend.cpu(3)) {
      for (int[] shape : shapes) {
        int m = shape[0];
        int n = shape[1];
        int k = shape[2];
        for (int mode = 0; mode < 4; mode++) {
          boolean transA = (mode & 1) != 0;
          boolean transB = (mode & 2) != 0;
          float[] a = inputs(rnd, m * k, -1, 1);
          float[] b = inputs(rnd, k * n, -1, 1);
          float[] c1 = outputs(rnd, m * n);
          float[] c2 = c1.clone();
          float[] c3 = c1.clone();
          one.matmul(a, transA, b, transB, c1, m, n, k, true);
          two.matmul(a, transA, b, transB, c2, m, n, k, true);
          three.matmul(a, transA, b, transB, c3, m, n, k, true);
          String what = Arrays.toString(shape) + " transA=" + transA + " transB=" + transB;
          assertArrayEquals(c1, c2, what);
          assertArrayEquals(c1, c3, what);
        }
      }
    }
  }

  @Test
  void cpuRejectsNonPositiveThreadCounts() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TensorBackend.cpu(0));
    assertTrue(e.getMessage().contains("0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> TensorBackend.cpu(-2));
  }

  @Test
  void nameReportsThreadCount() {
    try (TensorBackend one = TensorBackend.cpu(1);
        TensorBackend two = TensorBackend.cpu(2)) {
      assertEquals("cpu (1 thread)", one.name());
      assertEquals("cpu (2 threads)", two.name());
    }
  }

  @Test
  void poolThreadsAreNamedDaemons() {
    Set<Thread> before = kernelThreads();
    try (TensorBackend backend = TensorBackend.cpu(2)) {
      float[] x = new float[LARGE];
      backend.scale(x, 2f, LARGE);
      Set<Thread> started = kernelThreads();
      started.removeAll(before);
      assertFalse(started.isEmpty(), "no hanse-kernels-N thread ran the large scale");
      for (Thread t : started) {
        assertTrue(t.isDaemon(), t.getName());
        assertTrue(t.getName().matches("hanse-kernels-\\d+"), t.getName());
      }
    }
  }

  @Test
  void singleThreadBackendStartsNoThreads() {
    Set<Thread> before = kernelThreads();
    try (TensorBackend backend = TensorBackend.cpu(1)) {
      float[] x = new float[LARGE];
      backend.scale(x, 2f, LARGE);
      float[] a = new float[70 * 90];
      float[] c = new float[70 * 130];
      backend.matmul(a, false, new float[90 * 130], false, c, 70, 130, 90, false);
      Set<Thread> started = kernelThreads();
      started.removeAll(before);
      assertTrue(started.isEmpty(), started.toString());
    }
  }

  private static Set<Thread> kernelThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("hanse-kernels-"))
        .collect(Collectors.toSet());
  }
}
