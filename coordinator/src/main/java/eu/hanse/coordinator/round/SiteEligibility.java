package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSite;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.security.SiteId;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which online sites a job takes now: named by it (or any, if it names none), not in a
 * maintenance window, and with GPU-hours left in their budget. Keeps the device-seconds each
 * site spent on the job. Thread-safe: guarded by the job's lock.
 */
final class SiteEligibility {
  private final JobSpec spec;
  private final JobLock lock;
  private final SiteSessions sessions;
  private final Clock clock;
  /** Device-seconds each site spent, as reported: what its GPU-hour budget is counted against. Guarded by the job's lock. */
  private final Map<String, Double> usedDeviceSeconds = new TreeMap<>();

  SiteEligibility(JobSpec spec, JobLock lock, SiteSessions sessions, Clock clock, Map<String, Double> used) {
    this.spec = spec;
    this.lock = lock;
    this.sessions = sessions;
    this.clock = clock;
    usedDeviceSeconds.putAll(used);
  }

  /** Device-seconds as a site reported them, or 0 for a report that is not a positive number. */
  static double deviceSeconds(double reported) {
    return Double.isFinite(reported) && reported > 0 ? reported : 0;
  }

  List<AgentLink> eligibleOnline() {
    Instant now = clock.instant();
    return sessions.online().stream()
        .filter(link -> spec.schedule().available(link.site(), now) && withinBudget(link.site()))
        .toList();
  }

  private boolean withinBudget(SiteId site) {
    Double budget = spec.schedule().find(site).map(JobSite::gpuHours).orElse(null);
    synchronized (lock) {
      return budget == null || usedDeviceSeconds.getOrDefault(site.name(), 0.0) / 3600 < budget;
    }
  }

  /** The site spent {@code reported} device-seconds on the job (sanitised as {@link #deviceSeconds}). */
  void spend(SiteId site, double reported) {
    synchronized (lock) {
      usedDeviceSeconds.merge(site.name(), deviceSeconds(reported), Double::sum);
    }
  }

  /** Device-hours each site spent on the job. */
  Map<String, Double> deviceHours() {
    Map<String, Double> hours = new TreeMap<>();
    synchronized (lock) {
      usedDeviceSeconds.forEach((site, seconds) -> hours.put(site, seconds / 3600));
    }
    return hours;
  }

  /** Whether {@code needed} eligible sites are online, the required ones among them. */
  boolean enough(int needed) {
    List<SiteId> online = eligibleOnline().stream().map(AgentLink::site).toList();
    return online.size() >= needed && online.containsAll(spec.schedule().requiredSites());
  }

  /** Why there are not {@code needed} eligible sites online, for the job's status and the operator. */
  String missing(int needed) {
    List<SiteId> online = eligibleOnline().stream().map(AgentLink::site).toList();
    List<SiteId> missing = spec.schedule().requiredSites().stream().filter(site -> !online.contains(site))
        .sorted(Comparator.comparing(SiteId::name)).toList();
    List<String> spent = sessions.online().stream().map(AgentLink::site).filter(site -> !withinBudget(site))
        .map(SiteId::name).sorted().toList();
    return online.size() + " of " + needed + " sites online" + (missing.isEmpty() ? ""
        : "; required but not here: " + missing) + (spent.isEmpty() ? "" : "; GPU-hour budget spent: " + spent);
  }
}
