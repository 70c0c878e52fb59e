package eu.hanse.coordinator.console;

import eu.hanse.coordinator.events.FederationEvent;
import eu.hanse.coordinator.events.FederationEvents;
import eu.hanse.coordinator.job.JobStatus;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The coordinator's metrics in Prometheus' text exposition format (version 0.0.4, written by the
 * official Prometheus Java client), for {@code /metrics}: counters kept from the federation's events since the coordinator started (updates
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

    /** The buckets as the client's model has them: each bound's own count, +Inf last. */
    ClassicHistogramBuckets buckets() {
      double[] bounds = java.util.Arrays.copyOf(ROUND_SECONDS_BUCKETS, ROUND_SECONDS_BUCKETS.length + 1);
      bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
      long[] counts = new long[bounds.length];
      long below = 0;
      for (int b = 0; b < ROUND_SECONDS_BUCKETS.length; b++) {
        counts[b] = buckets[b] - below;
        below = buckets[b];
      }
      counts[bounds.length - 1] = count - below;
      return ClassicHistogramBuckets.of(bounds, counts);
    }

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
   * The metrics now, given the jobs' state and the sites' rows, in Prometheus' text format (the
   * official client's model and writer). Takes plain values, read by the caller: the jobs publish
   * events to this object while holding their own locks, so it must never call into them while
   * holding its own.
   */
  public String scrape(List<JobView> jobs, List<SiteBoard.Row> sites, Map<String, Long> checkpointBytesSent) {
    MetricSnapshots snapshots = snapshot(jobs, sites, checkpointBytesSent);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(text, snapshots);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return text.toString(StandardCharsets.UTF_8);
  }

  /**
   * Every metric family this coordinator exposes, by its name in the text format. A family with no
   * sample at a scrape (no open round, say) is left out of that scrape, as Prometheus' clients do.
   */
  public List<String> families() {
    Families out = new Families();
    fill(out, List.of(), List.of(), Map.of());
    return out.names();
  }

  private synchronized MetricSnapshots snapshot(List<JobView> jobs, List<SiteBoard.Row> sites,
      Map<String, Long> checkpointBytesSent) {
    Families out = new Families();
    fill(out, jobs, sites, checkpointBytesSent);
    return out.snapshots();
  }

  private synchronized void fill(Families out, List<JobView> jobs, List<SiteBoard.Row> sites,
      Map<String, Long> checkpointBytesSent) {
    out.gauge("hanse_sites_online", "Sites connected to the coordinator now.")
        .add(sites.stream().filter(row -> row.state().equals("online")).count());
    Families.Gauge up = out.gauge("hanse_site_up", "1 when the site is connected, 0 when it is offline, revoked or never seen.");
    sites.forEach(row -> up.add(row.state().equals("online") ? 1 : 0, "site", row.site()));
    Families.Gauge revoked = out.gauge("hanse_site_revoked", "1 when the site's certificates are revoked.");
    sites.forEach(row -> revoked.add(row.state().equals("revoked") ? 1 : 0, "site", row.site()));
    Families.Gauge expiry = out.gauge("hanse_site_certificate_expiry_timestamp_seconds",
        "When the site's certificate expires, in seconds since the epoch.");
    sites.stream().filter(row -> row.certificateExpires() != null)
        .forEach(row -> expiry.add(row.certificateExpires().getEpochSecond(), "site", row.site()));
    Families.Gauge heard = out.gauge("hanse_site_last_heard_timestamp_seconds",
        "When the coordinator last heard from the site (its connection or a heartbeat), in seconds since the epoch.");
    sites.stream().filter(row -> row.lastHeard() != null)
        .forEach(row -> heard.add(row.lastHeard().toEpochMilli() / 1e3, "site", row.site()));
    Families.Counter sent = out.counter("hanse_site_checkpoint_sent_bytes",
        "Checkpoint bytes sent to the site (its downloads) since the coordinator started.");
    checkpointBytesSent.forEach((site, bytes) -> sent.add(bytes, "site", site));
    Families.Counter received = out.counter("hanse_site_update_received_bytes",
        "Bytes of the site's accepted updates (its uploads) since the coordinator started.");
    bytesReceived.forEach((key, bytes) -> received.add(bytes, "job", key.get(0), "site", key.get(1)));
    Families.Counter acceptedUpdates = out.counter("hanse_updates_accepted",
        "Updates accepted since the coordinator started.");
    accepted.forEach((key, count) -> acceptedUpdates.add(count, "job", key.get(0), "site", key.get(1)));
    Families.Counter refusedUpdates = out.counter("hanse_updates_refused",
        "Updates refused since the coordinator started, by reason (e.g. BAD_SIGNATURE, NON_FINITE).");
    refused.forEach((key, count) -> refusedUpdates.add(count, "job", key.get(0), "site", key.get(1), "reason",
        key.get(2)));
    jobs(out, jobs);
    rounds(out);
  }

  private void jobs(Families out, List<JobView> jobs) {
    List<JobStatus> statuses = jobs.stream().map(JobView::status).toList();
    InfoSnapshot.Builder info = InfoSnapshot.builder().name("hanse_job").help("1 for each job, labelled with its state.");
    statuses.forEach(status -> info.dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder()
        .labels(Labels.of("job", status.job(), "state", status.state())).build()));
    out.add(info.build(), "hanse_job_info");
    Families.Gauge committed = out.gauge("hanse_job_rounds_committed", "Rounds the job has committed.");
    statuses.forEach(status -> committed.add(status.roundsCompleted(), "job", status.job()));
    Families.Gauge planned = out.gauge("hanse_job_rounds_planned", "Rounds the job runs in all.");
    statuses.forEach(status -> planned.add(status.roundsPlanned(), "job", status.job()));
    Families.Gauge loss = out.gauge("hanse_job_held_out_loss", "The latest checkpoint's loss on the sites' held-out data.");
    statuses.stream().filter(status -> !status.heldOutLoss().isEmpty() && status.heldOutLoss().getLast() != null)
        .forEach(status -> loss.add(status.heldOutLoss().getLast(), "job", status.job()));
    Families.Gauge deadline = out.gauge("hanse_job_round_deadline_seconds", "How long a round of the job waits for updates.");
    jobs.forEach(job -> deadline.add(job.roundDeadline().toMillis() / 1e3, "job", job.status().job()));
    Families.Gauge age = out.gauge("hanse_job_open_round_age_seconds",
        "How long the job's open round has been open; absent when no round is open.");
    Instant now = clock.instant();
    openRoundSince.forEach((job, since) -> age.add(java.time.Duration.between(since, now).toMillis() / 1e3, "job", job));
  }

  private void rounds(Families out) {
    HistogramSnapshot.Builder durations = HistogramSnapshot.builder().name("hanse_round_duration_seconds")
        .help("Wall time of committed rounds, from opening to evaluation, since the coordinator started.");
    roundDurations.forEach((job, round) -> durations.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
        .labels(Labels.of("job", job)).classicHistogramBuckets(round.buckets()).sum(round.sum).build()));
    out.add(durations.build(), "hanse_round_duration_seconds");
    Families.Gauge phases = out.gauge("hanse_round_phase_seconds",
        "Where each site's part of the job's last committed round went: download, training, encodeAndSign, upload, "
            + "verifyAndFold.");
    lastRound.forEach((job, round) -> {
      if (round.get("phases") instanceof Map<?, ?> sites) {
        sites.forEach((site, timing) -> PHASES.forEach(phase -> {
          if (timing instanceof Map<?, ?> seconds && seconds.get(phase) instanceof Number value) {
            phases.add(value.doubleValue(), "job", job, "site", String.valueOf(site), "phase", phase);
          }
        }));
      }
    });
    Families.Gauge commit = out.gauge("hanse_round_commit_seconds",
        "Aggregating and writing the job's last committed checkpoint.");
    lastRound.forEach((job, round) -> commitSeconds(round).ifPresent(seconds -> commit.add(seconds, "job", job)));
    Families.Gauge rate = out.gauge("hanse_aggregation_bytes_per_second",
        "Update bytes the job's last commit aggregated, over the commit's time.");
    lastRound.forEach((job, round) -> commitSeconds(round).ifPresent(seconds -> {
      long bytes = round.get("bytesUploaded") instanceof Map<?, ?> uploaded
          ? uploaded.values().stream().mapToLong(value -> ((Number) value).longValue()).sum() : 0;
      rate.add(bytes / seconds, "job", job);
    }));
  }

  private static java.util.Optional<Double> commitSeconds(Map<String, Object> round) {
    return round.get("commitSeconds") instanceof Number commit && commit.doubleValue() > 0
        ? java.util.Optional.of(commit.doubleValue()) : java.util.Optional.empty();
  }

  private static int compare(List<String> a, List<String> b) {
    return String.join("\u0000", a).compareTo(String.join("\u0000", b));
  }

  /** The families of one scrape, in the order they are added; each gauge or counter built as its samples come. */
  private static final class Families {
    private final List<Runnable> builds = new ArrayList<>();
    private final List<MetricSnapshot> snapshots = new ArrayList<>();
    private final List<String> names = new ArrayList<>();

    /** A family built whole, exposed as {@code exposedName}. */
    void add(MetricSnapshot snapshot, String exposedName) {
      names.add(exposedName);
      builds.add(() -> snapshots.add(snapshot));
    }

    Gauge gauge(String name, String help) {
      names.add(name);
      Gauge gauge = new Gauge(GaugeSnapshot.builder().name(name).help(help));
      builds.add(() -> snapshots.add(gauge.builder.build()));
      return gauge;
    }

    Counter counter(String name, String help) {
      names.add(name + "_total");
      Counter counter = new Counter(CounterSnapshot.builder().name(name).help(help));
      builds.add(() -> snapshots.add(counter.builder.build()));
      return counter;
    }

    List<String> names() {
      return List.copyOf(names);
    }

    MetricSnapshots snapshots() {
      builds.forEach(Runnable::run);
      return new MetricSnapshots(snapshots);
    }

    /** A gauge family; {@code labels} alternate names and values. */
    record Gauge(GaugeSnapshot.Builder builder) {
      void add(double value, String... labels) {
        builder.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of(labels)).value(value).build());
      }
    }

    /** A counter family, named without its {@code _total}, which the format adds. */
    record Counter(CounterSnapshot.Builder builder) {
      void add(double value, String... labels) {
        builder.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(Labels.of(labels)).value(value)
            .build());
      }
    }
  }
}
