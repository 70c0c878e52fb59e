package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Vector API loops give bit for bit what the plain loops give, so the CPU backend's results do
 * not depend on whether the JVM was started with the module.
 */
class VectorQuantizerTest {

  @BeforeEach
  void vectorModulePresent() {
    assumeTrue(
        Axpy.VECTOR_API,
        "skipped: this JVM was started without --add-modules jdk.incubator.vector");
  }

  /**
   * Blocks of every length around the vector width, at magnitudes from tiny (a subnormal scale,
   * which takes the clamped path) to large, each with the scale the quantizer gives it: max / 127.
   */
  @Test
  void codesAndMaximaMatchThePlainLoops() {
    Random random = new Random(7);
    for (int length : new int[] {0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1023}) {
      for (double magnitude : new double[] {1e-40, 1e-37, 1e-3, 1, 1e30}) {
        float[] x = new float[length + 5];
        for (int i = 0; i < x.length; i++) {
          x[i] = (float) (random.nextGaussian() * magnitude);
        }
        int from = Math.min(length, 2);
        float max = CpuBackend.plainMaxAbs(x, from, length);
        assertEquals(max, VectorQuantizer.maxAbs(x, from, length), "max over " + length);
        float scale = max / 127f;
        if (scale == 0f) {
          continue;
        }
        byte[] plain = new byte[x.length];
        byte[] vector = new byte[x.length];
        CpuBackend.plainInt8Codes(x, from, length, scale, plain);
        VectorQuantizer.int8Codes(x, from, length, scale, CpuBackend.ROUNDING, vector);
        assertArrayEquals(plain, vector, "codes of " + length + " elements, scale " + scale);
      }
    }
  }

  /** Exact halves round to even on the vector path too, wherever they fall among the lanes. */
  @Test
  void halvesRoundToEvenInEveryLane() {
    for (int at = 0; at < 16; at++) {
      float[] x = new float[17];
      x[16] = 127f;
      x[at] = at % 2 == 0 ? 2.5f : -0.5f;
      byte[] q = new byte[17];
      VectorQuantizer.int8Codes(x, 0, 17, 1f, CpuBackend.ROUNDING, q);
      assertEquals(at % 2 == 0 ? 2 : 0, q[at], "element " + at);
      assertEquals(127, q[16]);
    }
  }
}
