package eu.hanse.coordinator.console;

import eu.hanse.coordinator.events.FederationEvent;
import eu.hanse.coordinator.events.FederationEvents;
import eu.hanse.coordinator.round.AgentLink;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sites as an operator sees them: every site the coordinator has heard of (enrolled, named by
 * a job, or connected), whether it is online, offline or revoked, its device, its certificate's
 * expiry, when it was last heard from, and its last update's size and rate. Kept from the
 * federation's events, and completed from the links online when it is read. Thread-safe.
 */
public final class SiteBoard implements FederationEvents {
  /** One site's row, as the HTTP API and the dashboard show it. */
  public record Row(String site, String state, String device, String activity, String phase, double progress,
      long trainSamples, Instant lastHeard, Instant certificateExpires, Long lastUpdateBytes, Double lastUploadMBps,
      Long lastRound) {}

  private final Clock clock;
  private final Map<String, Known> known = new TreeMap<>();

  public SiteBoard(Clock clock) {
    this.clock = clock;
  }

  /** What the events told of a site that may be offline now. */
  private static final class Known {
    String device = "";
    long trainSamples;
    Instant lastHeard;
    Instant certificateExpires;
    boolean revoked;
    Long lastUpdateBytes;
    Double lastUploadMBps;
    Long lastRound;

    Known copy() {
      Known copy = new Known();
      copy.device = device;
      copy.trainSamples = trainSamples;
      copy.lastHeard = lastHeard;
      copy.certificateExpires = certificateExpires;
      copy.revoked = revoked;
      copy.lastUpdateBytes = lastUpdateBytes;
      copy.lastUploadMBps = lastUploadMBps;
      copy.lastRound = lastRound;
      return copy;
    }
  }

  @Override
  public synchronized void publish(FederationEvent event) {
    String site = event.site();
    switch (event.type()) {
      case "site.enrolled", "site.renewed" -> {
        Known row = row(site);
        row.revoked = false;
        parseInstant(event.fields().get("notAfter")).ifPresent(notAfter -> row.certificateExpires = notAfter);
      }
      case "site.online" -> {
        Known row = row(site);
        row.device = String.valueOf(event.fields().getOrDefault("device", ""));
        row.trainSamples = event.fields().get("trainSamples") instanceof Number samples ? samples.longValue() : 0;
        row.lastHeard = event.time();
      }
      case "site.offline" -> row(site).lastHeard = event.time();
      case "site.revoked" -> row(site).revoked = true;
      case "round.committed" -> rememberUploads(event);
      default -> { }
    }
  }

  private void rememberUploads(FederationEvent event) {
    if (!(event.fields().get("bytesUploaded") instanceof Map<?, ?> bytes)
        || !(event.fields().get("round") instanceof Number round)) {
      return;
    }
    Map<?, ?> phases = event.fields().get("phases") instanceof Map<?, ?> map ? map : Map.of();
    bytes.forEach((site, sent) -> {
      Known row = row(String.valueOf(site));
      row.lastRound = round.longValue();
      row.lastUpdateBytes = ((Number) sent).longValue();
      double seconds = phases.get(site) instanceof Map<?, ?> timing
          ? number(timing.get("upload")) + number(timing.get("verifyAndFold")) : 0;
      row.lastUploadMBps = seconds > 0 ? row.lastUpdateBytes / 1e6 / seconds : null;
    });
  }

  private static double number(Object value) {
    return value instanceof Number number ? number.doubleValue() : 0;
  }

  private Known row(String site) {
    return known.computeIfAbsent(site == null ? "" : site, name -> new Known());
  }

  private static java.util.Optional<Instant> parseInstant(Object value) {
    try {
      return value == null ? java.util.Optional.empty() : java.util.Optional.of(Instant.parse(value.toString()));
    } catch (java.time.format.DateTimeParseException e) {
      return java.util.Optional.empty();
    }
  }

  /** What the events told of each site, copied out of the lock. */
  private synchronized Map<String, Known> seen() {
    Map<String, Known> copy = new TreeMap<>();
    known.forEach((site, row) -> copy.put(site, row.copy()));
    return copy;
  }

  /**
   * Every site: those the events named, those in {@code jobSites}, and those online now, whose
   * links say what they are doing and when they were last heard from. Calls {@code revoked} and
   * the links outside this board's lock: events reach the board from threads that hold other locks.
   */
  public List<Row> rows(Collection<AgentLink> online, Collection<String> jobSites,
      java.util.function.Predicate<String> revoked) {
    Map<String, Known> seen = seen();
    Map<String, AgentLink> links = new LinkedHashMap<>();
    online.forEach(link -> links.put(link.site().name(), link));
    java.util.SortedSet<String> names = new java.util.TreeSet<>(seen.keySet());
    names.addAll(jobSites);
    names.addAll(links.keySet());
    names.remove("");
    List<Row> rows = new ArrayList<>();
    long nowNanos = System.nanoTime();
    Instant now = clock.instant();
    for (String site : names) {
      Known row = seen.getOrDefault(site, new Known());
      AgentLink link = links.get(site);
      boolean isRevoked = row.revoked || revoked.test(site);
      String state = isRevoked ? "revoked" : link != null ? "online" : row.lastHeard != null ? "offline" : "never seen";
      Instant lastHeard = link != null ? now.minusNanos(Math.max(0, nowNanos - link.lastHeardNanos()))
          : row.lastHeard;
      Instant expires = link != null ? link.certificate().getNotAfter().toInstant() : row.certificateExpires;
      rows.add(new Row(site, state, link != null ? link.device() : row.device, link != null ? link.activity() : "",
          link != null ? link.phase() : "", link != null ? link.progress() : 0,
          link != null ? link.trainSamples() : row.trainSamples, lastHeard, expires, row.lastUpdateBytes,
          row.lastUploadMBps, row.lastRound));
    }
    return rows;
  }
}
