package eu.hanse.coordinator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.model.UpdateCodec;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class JobSpecTest {
  private static JobSpec spec(int rounds, int minSites, int startSites, Duration deadline, int chunk) {
    return new JobSpec(new JobId("job-1"), rounds, 10, minSites, startSites, deadline,
        new TrainerSettings(8, 0.01, 0), OuterOptimizerSpec.diloco(), 1, chunk);
  }

  @Test
  void invalidJobsAreRefusedWithTheReason() {
    assertEquals("rounds must be at least 1, was 0",
        assertThrows(IllegalArgumentException.class, () -> spec(0, 1, 1, Duration.ofMinutes(1), 1024)).getMessage());
    assertEquals("start sites (1) must be at least min sites (2)",
        assertThrows(IllegalArgumentException.class, () -> spec(1, 2, 1, Duration.ofMinutes(1), 1024)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> spec(1, 1, 1, Duration.ZERO, 1024));
    assertThrows(IllegalArgumentException.class, () -> spec(1, 1, 1, Duration.ofMinutes(1), 1022));
    assertThrows(IllegalArgumentException.class, () -> spec(1, 1, 1, Duration.ofMinutes(1), 8 << 20));
    assertThrows(IllegalArgumentException.class, () -> new TrainerSettings(0, 0.1, 0));
    assertThrows(IllegalArgumentException.class, () -> new TrainerSettings(1, Double.NaN, 0));
  }

  @Test
  void noiseIsOnlyForTheWeightedMean() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new JobSpec(new JobId("job-1"), 1, 10, 1, 1, Duration.ofMinutes(1), new TrainerSettings(8, 0.01, 0),
            OuterOptimizerSpec.diloco(), 1, 1024, AggregatorSpec.parse("median"), new PrivacySpec(1, 1, 1e-5),
            UpdateCodec.fp32()));
    assertEquals("--dp-noise is calibrated for --aggregator mean, not median: the noise bounds what one clipped "
        + "site can change in a weighted mean", e.getMessage());
    new JobSpec(new JobId("job-1"), 1, 10, 1, 1, Duration.ofMinutes(1), new TrainerSettings(8, 0.01, 0),
        OuterOptimizerSpec.diloco(), 1, 1024, AggregatorSpec.parse("median"), new PrivacySpec(1, 0, 1e-5),
        UpdateCodec.parse("int4"));
  }

  @Test
  void jobIdsAreLowerCaseNames() {
    assertEquals("a-1", new JobId("a-1").toString());
    assertThrows(IllegalArgumentException.class, () -> new JobId("A"));
    assertThrows(IllegalArgumentException.class, () -> new JobId("-a"));
    assertThrows(IllegalArgumentException.class, () -> new JobId("a/../b"));
  }
}
