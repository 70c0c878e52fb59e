package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SumOfSquaresTest {
  @Test
  void theSumMatchesAnExactOneAcrossLengthsAndOffsets() {
    Random random = new Random(7);
    for (int n = 0; n <= 70; n++) {
      for (int offset : new int[] {0, 4, 13}) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
          values[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(8) - 4));
        }
        byte[] bytes = littleEndian(offset, values);
        double expected = exact(values);
        assertEquals(expected, SumOfSquares.ofLittleEndianFloats(bytes, offset, n), Math.ulp(expected) * 64,
            "n = " + n + ", offset " + offset);
        assertEquals(expected, SumOfSquares.plain(bytes, offset, n), Math.ulp(expected) * 64);
        assertEquals(-1, SumOfSquares.firstNonFinite(bytes, offset, n));
      }
    }
  }

  @Test
  void theLargestFloatsStillSumToAFiniteValue() {
    float[] values = new float[1000];
    java.util.Arrays.fill(values, -Float.MAX_VALUE);
    double sum = SumOfSquares.ofLittleEndianFloats(littleEndian(0, values), 0, values.length);
    assertTrue(Double.isFinite(sum));
    assertEquals(exact(values), sum, exact(values) * 1e-12);
  }

  @Test
  void anyNonFiniteValueMakesTheSumNonFiniteAndIsFoundWhereItIs() {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
      for (int at : new int[] {0, 5, 31, 32, 63}) {
        float[] values = new float[64];
        java.util.Arrays.fill(values, 0.5f);
        values[at] = bad;
        byte[] bytes = littleEndian(3, values);
        assertFalse(Double.isFinite(SumOfSquares.ofLittleEndianFloats(bytes, 3, 64)), bad + " at " + at);
        assertEquals(at, SumOfSquares.firstNonFinite(bytes, 3, 64));
        assertEquals(bad, SumOfSquares.valueAt(bytes, 3, at));
      }
    }
  }

  @Test
  void aRangeBeyondTheArrayIsRefused() {
    assertThrows(IndexOutOfBoundsException.class, () -> SumOfSquares.ofLittleEndianFloats(new byte[16], 4, 4));
    assertThrows(IndexOutOfBoundsException.class, () -> SumOfSquares.ofLittleEndianFloats(new byte[16], 0, -1));
    assertThrows(IndexOutOfBoundsException.class, () -> SumOfSquares.firstNonFinite(new byte[16], 8, 3));
  }

  private static byte[] littleEndian(int offset, float[] values) {
    ByteBuffer buffer = ByteBuffer.allocate(offset + 4 * values.length + 5).order(ByteOrder.LITTLE_ENDIAN);
    buffer.position(offset);
    buffer.asFloatBuffer().put(values);
    return buffer.array();
  }

  private static double exact(float[] values) {
    BigDecimal sum = BigDecimal.ZERO;
    for (float value : values) {
      BigDecimal x = new BigDecimal(value);
      sum = sum.add(x.multiply(x));
    }
    return sum.doubleValue();
  }
}
