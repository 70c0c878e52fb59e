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
        VectorQuantizer.AVAILABLE,
        "skipped: this JVM was started without --add-modules jdk.incubator.vector");
  }

  @Test
  void codesAndMaximaMatchThePlainLoops() {
    Random random = new Random(7);
    for (int length : new int[] {0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1023}) {
      float[] x = new float[length + 5];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(7) - 3));
      }
      // Exact halves and clamped quotients, wherever they fall among the lanes.
      if (length > 3) {
        x[2] = 2.5f;
        x[3] = -0.5f;
      }
      int from = Math.min(length, 2);
      float max = CpuBackend.plainMaxAbs(x, from, length);
      assertEquals(max, VectorQuantizer.maxAbs(x, from, length), "max over " + length);
      for (float scale : new float[] {max / 127f, 1f, 0.75f * max / 127f, 1e-30f}) {
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
}
