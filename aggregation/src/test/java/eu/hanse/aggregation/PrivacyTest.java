package eu.hanse.aggregation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class PrivacyTest {

  @Test
  void theAccountantComposesRoundsInZcdpAndConvertsToEpsilonAtDelta() {
    PrivacyAccountant accountant = new PrivacyAccountant(new PrivacySpec(1.0, 1.0, 1e-5));
    assertEquals(0, accountant.epsilon());
    double first = accountant.spend();
    // rho = 1 / (2 z^2) = 0.5 per round; epsilon = rho + 2 sqrt(rho ln(1/delta)).
    assertEquals(0.5 + 2 * Math.sqrt(0.5 * Math.log(1e5)), first, 1e-12);
    for (int r = 2; r <= 10; r++) {
      accountant.spend();
    }
    assertEquals(5 + 2 * Math.sqrt(5 * Math.log(1e5)), accountant.epsilon(), 1e-12);
    assertEquals(10, accountant.rounds());
    PrivacyAccountant quieter = new PrivacyAccountant(new PrivacySpec(1.0, 4.0, 1e-5));
    assertTrue(quieter.spend() < first, "more noise spends less privacy");
  }

  @Test
  void sigmaIsTheClipNormTimesTheLargestWeightShare() {
    PrivacySpec spec = new PrivacySpec(2.0, 1.5, 1e-5);
    assertEquals(1.5 * 2.0 * 30 / 100, spec.sigma(30, 100), 1e-12);
    assertEquals("clip 2.0, gaussian noise z=1.5", spec.describe());
    assertEquals("none", PrivacySpec.none().describe());
  }

  @Test
  void noiseWithoutAClipAndBadValuesAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PrivacySpec(0, 1, 1e-5));
    assertTrue(e.getMessage().contains("--dp-noise needs --clip"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new PrivacySpec(-1, 0, 1e-5));
    assertThrows(IllegalArgumentException.class, () -> new PrivacySpec(1, Double.NaN, 1e-5));
    assertThrows(IllegalArgumentException.class, () -> new PrivacySpec(1, 1, 0));
  }

  @Test
  void gaussianNoiseHasTheAskedSpread() {
    float[] values = new float[200_000];
    new GaussianNoise(new SecureRandom()).addTo(values, 0.5);
    double sum = 0;
    double squares = 0;
    for (float v : values) {
      sum += v;
      squares += (double) v * v;
    }
    double mean = sum / values.length;
    double sd = Math.sqrt(squares / values.length - mean * mean);
    assertEquals(0, mean, 0.01);
    assertEquals(0.5, sd, 0.01);
    assertThrows(IllegalArgumentException.class, () -> new GaussianNoise(new SecureRandom()).addTo(values, -1));
  }
}
