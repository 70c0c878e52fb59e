package eu.hanse.coordinator.console;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.events.FederationEvent;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FederationMetricsTest {
  private static final Instant OPENED = Instant.parse("2026-11-25T10:00:00Z");

  private static FederationEvent event(String type) {
    return new FederationEvent(type, OPENED, Map.of("job", "pilot", "round", 3));
  }

  @Test
  void anOpenRoundKeepsAgeingWhileItsJobIsPausedAndStopsWhenItIsAbandoned() {
    FederationMetrics metrics = new FederationMetrics(Clock.fixed(OPENED.plusSeconds(90), ZoneOffset.UTC));
    metrics.publish(event("round.opened"));
    metrics.publish(event("job.paused"));
    String paused = metrics.scrape(List.of(), List.of(), Map.of());
    assertTrue(paused.contains("hanse_job_open_round_age_seconds{job=\"pilot\"} 90"), paused);
    metrics.publish(event("round.abandoned"));
    assertFalse(metrics.scrape(List.of(), List.of(), Map.of()).contains("hanse_job_open_round_age_seconds{"));
  }
}
