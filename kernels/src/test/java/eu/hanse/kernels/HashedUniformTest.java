package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HashedUniformTest {
  @Test
  void theVectorLoopGivesThePlainLoopsValuesBitForBit() {
    for (int count : new int[] {0, 1, 7, 8, 15, 16, 17, 100, 1031}) {
      for (int low : new int[] {0, 3, -5, Integer.MAX_VALUE - 40}) {
        float[] vector = new float[count + 2];
        float[] plain = new float[count + 2];
        float unit = 2 * 0.25f / (1 << 24);
        VectorHashedUniform.fill(12345, low, vector, 1, count, unit, 0.25f);
        HashedUniform.plain(12345, low, plain, 1, count, unit, 0.25f);
        assertArrayEquals(plain, vector, "count " + count + " from " + low);
      }
    }
  }

  @Test
  void aBlockAtAnyOffsetIsTheSameSliceOfTheSequenceAcrossA32BitBoundary() {
    long start = (1L << 32) - 37;
    float[] all = new float[100];
    HashedUniform.fill(9, start, all, 100, 1f);
    float[] part = new float[20];
    HashedUniform.fill(9, start + 30, part, 20, 1f);
    assertArrayEquals(Arrays.copyOfRange(all, 30, 50), part);
    float[] wrapped = new float[20];
    HashedUniform.fill(9, start + 37 - (1L << 32), wrapped, 20, 1f);
    assertFalse(Arrays.equals(Arrays.copyOfRange(all, 37, 57), wrapped), "positions 2^32 apart differ");
  }

  @Test
  void theValuesAreUniformWithinTheScaleAndDependOnTheSeed() {
    float[] values = new float[1 << 16];
    HashedUniform.fill(1, 0, values, values.length, 0.5f);
    double mean = 0;
    int upperHalf = 0;
    for (float value : values) {
      assertTrue(value >= -0.5f && value < 0.5f, "value " + value);
      mean += value / values.length;
      upperHalf += value >= 0 ? 1 : 0;
    }
    assertEquals(0, mean, 0.01);
    assertEquals(0.5, upperHalf / (double) values.length, 0.01);
    float[] other = new float[values.length];
    HashedUniform.fill(2, 0, other, other.length, 0.5f);
    assertFalse(Arrays.equals(values, other));
    assertThrows(IllegalArgumentException.class, () -> HashedUniform.fill(1, -1, values, 1, 1f));
  }
}
