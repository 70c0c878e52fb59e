package eu.hanse.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class WeightedMeanFoldTest {
  @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir;

  /** A fold into a file gives the fold in memory, bit for bit, block by block, and deletes its file. */
  @Test
  void aFoldInAFileIsTheFoldInMemory() {
    int n = 1000;
    Random random = new Random(3);
    WeightedMeanFold memory = new WeightedMeanFold(n);
    java.nio.file.Path file = dir.resolve("round.fold");
    WeightedMeanFold onDisk = new WeightedMeanFold(n, file);
    for (double weight : new double[] {3, 0.5, 7}) {
      float[] update = new float[n];
      for (int i = 0; i < n; i++) {
        update[i] = (float) random.nextGaussian();
      }
      for (int start = 0; start < n; start += 128) {
        int count = Math.min(128, n - start);
        float[] chunk = java.util.Arrays.copyOfRange(update, start, start + count);
        memory.foldValues(chunk, count, start, weight);
        onDisk.foldValues(chunk, count, start, weight);
      }
      memory.completeUpdate(weight);
      onDisk.completeUpdate(weight);
    }
    float[] fromFile = new float[n];
    int[] blocks = {0};
    onDisk.mean((offset, values, length) -> {
      System.arraycopy(values, 0, fromFile, (int) offset, length);
      blocks[0]++;
    }, 300);
    assertEquals(4, blocks[0], "blocks of at most 300 elements");
    org.junit.jupiter.api.Assertions.assertArrayEquals(memory.mean(), fromFile);
    onDisk.close();
    org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(file), "the accumulator file is deleted");
    assertThrows(IllegalArgumentException.class, () -> new WeightedMeanFold(10, dir.resolve("x")).foldValues(
        new float[4], 4, 8, 1.0));
  }

  @Test
  void foldingChunksInAnyOrderGivesTheWeightedMean() {
    int n = 1001;
    int chunk = 97;
    Random random = new Random(7);
    double[][] updates = new double[3][n];
    double[] weights = {100, 250, 31};
    WeightedMeanFold fold = new WeightedMeanFold(n);
    for (int u = 0; u < updates.length; u++) {
      for (int i = 0; i < n; i++) {
        updates[u][i] = (float) random.nextGaussian();
      }
      // Last chunk first: the fold must not depend on arrival order within an update.
      for (int start = (n - 1) / chunk * chunk; start >= 0; start -= chunk) {
        int count = Math.min(chunk, n - start);
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
          values[i] = (float) updates[u][start + i];
        }
        fold.foldValues(values, count, start, weights[u]);
      }
      fold.completeUpdate(weights[u]);
    }
    float[] mean = fold.mean();
    double total = weights[0] + weights[1] + weights[2];
    for (int i = 0; i < n; i++) {
      double expected = (weights[0] * updates[0][i] + weights[1] * updates[1][i] + weights[2] * updates[2][i]) / total;
      assertEquals(expected, mean[i], 1e-5 * (1 + Math.abs(expected)), "element " + i);
    }
    assertEquals(3, fold.updates());
  }

  @Test
  void chunkOutsideTheUpdateIsRefused() {
    WeightedMeanFold fold = new WeightedMeanFold(4);
    float[] values = new float[2];
    assertThrows(IllegalArgumentException.class, () -> fold.foldValues(values, 2, 3, 1.0));
    assertThrows(IllegalArgumentException.class, () -> fold.foldValues(values, 2, -1, 1.0));
  }

  @Test
  void meanOfNothingIsAnError() {
    assertThrows(IllegalStateException.class, () -> new WeightedMeanFold(3).mean());
  }
}
