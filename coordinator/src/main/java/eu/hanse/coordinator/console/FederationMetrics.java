package eu.hanse.coordinator.console;

import eu.hanse.coordinator.events.FederationEvent;
import eu.hanse.coordinator.events.FederationEvents;
import eu.hanse.coordinator.job.JobStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The coordinator's metrics in Prometheus' text exposition format (version 0.0.4), for {@code
 * /metrics}: counters kept from the federation's events since the coordinator started (updates
 * accepted and refused by reason, bytes received, rounds' durations), and gauges read from the jobs
 * and the sites when scraped. {@code docs/console.md} lists every metric. Thread-safe.
 */
public final class FederationMetrics implements FederationEvents {
  /** Upper bounds of the round-duration histogram's buckets, in seconds. */
  static final double[] ROUND_SECONDS_BUCKETS = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200};
  private static final List<String> PHASES = List.of("download", "queue", "training", "encodeAndSign", "upload",
      "verifyAndFold");

  private final Clock clock;
  private final Map<List<String>, Long> accepted = new TreeMap<>(FederationMetrics::compare);
  private final Map<List<String>, Long> refused = new TreeMap<>(FederationMetrics::compare);
  private final Map<List<String>, Long> bytesReceived = new TreeMap<>(FederationMetrics::compare);
  private final Map<String, RoundDurations> roundDurations = new TreeMap<>();
  private final Map<String, Instant> openRoundSince = new TreeMap<>();
  private final Map<String, Map<String, Object>> lastRound = new TreeMap<>();

  public FederationMetrics(Clock clock) {
    this.clock = clock;
  }

  @Override
  public synchronized void publish(FederationEvent event) {
    String job = String.valueOf(event.job());
    String site = String.valueOf(event.site());
    switch (event.type()) {
      case "update.accepted" -> {
        accepted.merge(List.of(job, site), 1L, Long::sum);
        if (event.fields().get("bytes") instanceof Number bytes) {
          bytesReceived.merge(List.of(job, site), bytes.longValue(), Long::sum);
        }
      }
      case "update.refused" -> refused.merge(List.of(job, site, String.valueOf(event.fields().get("reason"))), 1L,
          Long::sum);
      case "round.opened" -> openRoundSince.put(job, event.time());
      case "round.committed" -> {
        openRoundSince.remove(job);
        lastRound.put(job, event.fields());
        observeRound(job, event.fields().get("seconds") instanceof Number seconds ? seconds.doubleValue() : 0);
      }
      // A paused job's open round stays open until it commits: its age goes on.
      case "round.abandoned", "job.finished", "job.failed", "job.cancelled" -> openRoundSince.remove(job);
      default -> { }
    }
  }

  /** A job's round-duration histogram: cumulative bucket counts, the sum and the count. */
  private static final class RoundDurations {
    final long[] buckets = new long[ROUND_SECONDS_BUCKETS.length];
    double sum;
    long count;

    void observe(double seconds) {
      for (int b = 0; b < ROUND_SECONDS_BUCKETS.length; b++) {
        if (seconds <= ROUND_SECONDS_BUCKETS[b]) {
          buckets[b]++;
        }
      }
      sum += seconds;
      count++;
    }
  }

  private void observeRound(String job, double seconds) {
    roundDurations.computeIfAbsent(job, name -> new RoundDurations()).observe(seconds);
  }

  /** A job as the metrics need it, read before the metrics' lock is taken. */
  public record JobView(JobStatus status, java.time.Duration roundDeadline) {}

  /**
   * The metrics now, given the jobs' state and the sites' rows. Takes plain values, read by the
   * caller: the jobs publish events to this object while holding their own locks, so it must never
   * call into them while holding its own.
   */
  public synchronized String scrape(List<JobView> jobs, List<SiteBoard.Row> sites, Map<String, Long> checkpointBytesSent) {
    Exposition out = new Exposition();
    out.family("hanse_sites_online", "gauge", "Sites connected to the coordinator now.");
    out.sample("hanse_sites_online", List.of(), sites.stream().filter(row -> row.state().equals("online")).count());
    out.family("hanse_site_up", "gauge", "1 when the site is connected, 0 when it is offline, revoked or never seen.");
    sites.forEach(row -> out.sample("hanse_site_up", List.of("site", row.site()), row.state().equals("online") ? 1 : 0));
    out.family("hanse_site_revoked", "gauge", "1 when the site's certificates are revoked.");
    sites.forEach(row -> out.sample("hanse_site_revoked", List.of("site", row.site()),
        row.state().equals("revoked") ? 1 : 0));
    out.family("hanse_site_certificate_expiry_timestamp_seconds", "gauge",
        "When the site's certificate expires, in seconds since the epoch.");
    sites.stream().filter(row -> row.certificateExpires() != null).forEach(row -> out.sample(
        "hanse_site_certificate_expiry_timestamp_seconds", List.of("site", row.site()),
        row.certificateExpires().getEpochSecond()));
    out.family("hanse_site_last_heard_timestamp_seconds", "gauge",
        "When the coordinator last heard from the site (its connection or a heartbeat), in seconds since the epoch.");
    sites.stream().filter(row -> row.lastHeard() != null).forEach(row -> out.sample(
        "hanse_site_last_heard_timestamp_seconds", List.of("site", row.site()), row.lastHeard().toEpochMilli() / 1e3));
    out.family("hanse_site_checkpoint_sent_bytes_total", "counter",
        "Checkpoint bytes sent to the site (its downloads) since the coordinator started.");
    checkpointBytesSent.forEach((site, bytes) -> out.sample("hanse_site_checkpoint_sent_bytes_total",
        List.of("site", site), bytes));
    out.family("hanse_site_update_received_bytes_total", "counter",
        "Bytes of the site's accepted updates (its uploads) since the coordinator started.");
    bytesReceived.forEach((key, bytes) -> out.sample("hanse_site_update_received_bytes_total",
        List.of("job", key.get(0), "site", key.get(1)), bytes));
    out.family("hanse_updates_accepted_total", "counter", "Updates accepted since the coordinator started.");
    accepted.forEach((key, count) -> out.sample("hanse_updates_accepted_total",
        List.of("job", key.get(0), "site", key.get(1)), count));
    out.family("hanse_updates_refused_total", "counter",
        "Updates refused since the coordinator started, by reason (e.g. BAD_SIGNATURE, NON_FINITE).");
    refused.forEach((key, count) -> out.sample("hanse_updates_refused_total",
        List.of("job", key.get(0), "site", key.get(1), "reason", key.get(2)), count));
    writeJobs(out, jobs);
    writeRounds(out);
    return out.text();
  }

  private void writeJobs(Exposition out, List<JobView> jobs) {
    List<JobStatus> statuses = jobs.stream().map(JobView::status).toList();
    out.family("hanse_job_info", "gauge", "1 for each job, labelled with its state.");
    statuses.forEach(status -> out.sample("hanse_job_info", List.of("job", status.job(), "state", status.state()), 1));
    out.family("hanse_job_rounds_committed", "gauge", "Rounds the job has committed.");
    statuses.forEach(status -> out.sample("hanse_job_rounds_committed", List.of("job", status.job()),
        status.roundsCompleted()));
    out.family("hanse_job_rounds_planned", "gauge", "Rounds the job runs in all.");
    statuses.forEach(status -> out.sample("hanse_job_rounds_planned", List.of("job", status.job()),
        status.roundsPlanned()));
    out.family("hanse_job_held_out_loss", "gauge", "The latest checkpoint's loss on the sites' held-out data.");
    statuses.stream().filter(status -> !status.heldOutLoss().isEmpty() && status.heldOutLoss().getLast() != null)
        .forEach(status -> out.sample("hanse_job_held_out_loss", List.of("job", status.job()),
            status.heldOutLoss().getLast()));
    out.family("hanse_job_round_deadline_seconds", "gauge", "How long a round of the job waits for updates.");
    jobs.forEach(job -> out.sample("hanse_job_round_deadline_seconds", List.of("job", job.status().job()),
        job.roundDeadline().toMillis() / 1e3));
    out.family("hanse_job_open_round_age_seconds", "gauge",
        "How long the job's open round has been open; absent when no round is open.");
    Instant now = clock.instant();
    openRoundSince.forEach((job, since) -> out.sample("hanse_job_open_round_age_seconds", List.of("job", job),
        java.time.Duration.between(since, now).toMillis() / 1e3));
  }

  private void writeRounds(Exposition out) {
    out.family("hanse_round_duration_seconds", "histogram",
        "Wall time of committed rounds, from opening to evaluation, since the coordinator started.");
    roundDurations.forEach((job, durations) -> {
      for (int b = 0; b < ROUND_SECONDS_BUCKETS.length; b++) {
        out.sample("hanse_round_duration_seconds_bucket", List.of("job", job, "le", format(ROUND_SECONDS_BUCKETS[b])),
            durations.buckets[b]);
      }
      out.sample("hanse_round_duration_seconds_bucket", List.of("job", job, "le", "+Inf"), durations.count);
      out.sample("hanse_round_duration_seconds_sum", List.of("job", job), durations.sum);
      out.sample("hanse_round_duration_seconds_count", List.of("job", job), durations.count);
    });
    out.family("hanse_round_phase_seconds", "gauge",
        "Where each site's part of the job's last committed round went: download, training, encodeAndSign, upload, "
            + "verifyAndFold.");
    lastRound.forEach((job, round) -> {
      if (round.get("phases") instanceof Map<?, ?> phases) {
        phases.forEach((site, timing) -> PHASES.forEach(phase -> {
          if (timing instanceof Map<?, ?> seconds && seconds.get(phase) instanceof Number value) {
            out.sample("hanse_round_phase_seconds", List.of("job", job, "site", String.valueOf(site), "phase", phase),
                value.doubleValue());
          }
        }));
      }
    });
    out.family("hanse_round_commit_seconds", "gauge", "Aggregating and writing the job's last committed checkpoint.");
    lastRound.forEach((job, round) -> commitSeconds(round).ifPresent(commit ->
        out.sample("hanse_round_commit_seconds", List.of("job", job), commit)));
    out.family("hanse_aggregation_bytes_per_second", "gauge",
        "Update bytes the job's last commit aggregated, over the commit's time.");
    lastRound.forEach((job, round) -> commitSeconds(round).ifPresent(commit -> {
      long bytes = round.get("bytesUploaded") instanceof Map<?, ?> sent
          ? sent.values().stream().mapToLong(value -> ((Number) value).longValue()).sum() : 0;
      out.sample("hanse_aggregation_bytes_per_second", List.of("job", job), bytes / commit);
    }));
  }

  private static java.util.Optional<Double> commitSeconds(Map<String, Object> round) {
    return round.get("commitSeconds") instanceof Number commit && commit.doubleValue() > 0
        ? java.util.Optional.of(commit.doubleValue()) : java.util.Optional.empty();
  }

  private static String format(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  private static int compare(List<String> a, List<String> b) {
    return String.join("\u0000", a).compareTo(String.join("\u0000", b));
  }

  /** The text format: a HELP and TYPE line per family, then its samples. */
  private static final class Exposition {
    private final StringBuilder text = new StringBuilder();

    void family(String name, String type, String help) {
      text.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n"))
          .append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** A sample; {@code labels} alternates names and values. */
    void sample(String name, List<String> labels, double value) {
      text.append(name);
      if (!labels.isEmpty()) {
        text.append('{');
        for (int i = 0; i < labels.size(); i += 2) {
          text.append(i == 0 ? "" : ",").append(labels.get(i)).append("=\"").append(escape(labels.get(i + 1)))
              .append('"');
        }
        text.append('}');
      }
      text.append(' ').append(number(value)).append('\n');
    }

    private static String escape(String value) {
      return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static String number(double value) {
      if (Double.isNaN(value)) {
        return "NaN";
      }
      if (Double.isInfinite(value)) {
        return value > 0 ? "+Inf" : "-Inf";
      }
      return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value)
          : String.format(Locale.ROOT, "%s", value);
    }

    String text() {
      return text.toString();
    }
  }
}
