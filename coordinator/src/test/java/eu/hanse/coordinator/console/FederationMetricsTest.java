package eu.hanse.coordinator.console;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.events.FederationEvent;
import eu.hanse.coordinator.job.JobStatus;
import java.time.Clock;
import java.time.Duration;
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
    assertTrue(paused.contains("\nhanse_job_open_round_age_seconds{job=\"pilot\"} 90.0\n"), paused);
    metrics.publish(event("round.abandoned"));
    assertFalse(metrics.scrape(List.of(), List.of(), Map.of()).contains("hanse_job_open_round_age_seconds{"));
  }

  @Test
  void everyDeclaredFamilyIsScrapedOnceItHasASample() {
    FederationMetrics metrics = new FederationMetrics(Clock.fixed(OPENED.plusSeconds(90), ZoneOffset.UTC));
    metrics.publish(new FederationEvent("update.accepted", OPENED, Map.of("job", "pilot", "site", "alpha", "bytes", 8)));
    metrics.publish(new FederationEvent("update.refused", OPENED, Map.of("job", "pilot", "site", "mallory",
        "reason", "NON_FINITE")));
    metrics.publish(new FederationEvent("round.committed", OPENED, Map.of("job", "pilot", "seconds", 12.5,
        "commitSeconds", 0.5, "bytesUploaded", Map.of("alpha", 8), "phases", Map.of("alpha", Map.of("upload", 1.5)))));
    metrics.publish(event("round.opened"));
    JobStatus status = new JobStatus("pilot", JobStatus.RUNNING, 3, 1, "sgd", "mean", "none", "fp32", List.of("alpha"),
        null, null, List.of(2.5), 8, Map.of(), null, true, List.of());
    SiteBoard.Row alpha = new SiteBoard.Row("alpha", "online", "cpu", "idle", "", 0, 10, OPENED, OPENED.plusSeconds(3600),
        8L, 1.0, 1L);
    String scraped = metrics.scrape(List.of(new FederationMetrics.JobView(status, Duration.ofMinutes(5))),
        List.of(alpha), Map.of("alpha", 64L));
    for (String family : metrics.families()) {
      assertTrue(scraped.contains("\n" + family + "{") || scraped.contains("\n" + family + " ")
          || scraped.contains("\n" + family + "_count{"), family + " missing from:\n" + scraped);
    }
    assertTrue(scraped.contains("hanse_updates_refused_total{job=\"pilot\",reason=\"NON_FINITE\",site=\"mallory\"} 1.0"),
        scraped);
    assertTrue(scraped.contains("hanse_round_duration_seconds_bucket{job=\"pilot\",le=\"15.0\"} 1"), scraped);
  }
}
