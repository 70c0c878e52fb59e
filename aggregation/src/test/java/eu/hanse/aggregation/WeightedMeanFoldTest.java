package eu.hanse.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class WeightedMeanFoldTest {
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
