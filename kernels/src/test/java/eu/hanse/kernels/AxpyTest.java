package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AxpyTest {

  /** Every length around the vector width, at offsets that are not multiples of it. */
  @Test
  void addsTheScaledRangeBitForBitAsThePlainLoop() {
    Random random = new Random(11);
    for (int n : new int[] {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1025}) {
      float[] x = gaussian(random, n + 5);
      float[] y = gaussian(random, n + 9);
      float[] expected = y.clone();
      float w = (float) random.nextGaussian() * 1000;
      for (int i = 0; i < n; i++) {
        expected[7 + i] = (float) ((double) expected[7 + i] + (double) (w * x[3 + i]));
      }
      Axpy.apply(w, x, 3, y, 7, n);
      assertArrayEquals(expected, y, "n = " + n);
    }
  }

  @Test
  void refusesARangeOutsideEitherArray() {
    assertThrows(IndexOutOfBoundsException.class, () -> Axpy.apply(1f, new float[4], 1, new float[8], 0, 4));
    assertThrows(IndexOutOfBoundsException.class, () -> Axpy.apply(1f, new float[8], 0, new float[4], 2, 3));
    assertThrows(IndexOutOfBoundsException.class, () -> Axpy.apply(1f, new float[8], -1, new float[8], 0, 1));
  }

  private static float[] gaussian(Random random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}
