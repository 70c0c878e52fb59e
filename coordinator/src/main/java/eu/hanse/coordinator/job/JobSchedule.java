package eu.hanse.coordinator.job;

import eu.hanse.security.SiteId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Who takes part in a job's rounds, and when.
 *
 * @param sites the sites named in the job, in the job file's order; empty means every enrolled
 *     site that attends, each with weight 1
 * @param requiredSites sites without which no round commits; each named in {@code sites} if that is
 *     not empty
 * @param stragglers when a round stops waiting for slow sites
 * @param start when the first round may open; null for at once
 * @param localTime a time budget for each site's local training per round, instead of a number of
 *     steps; null to train the job's steps
 * @param async asynchronous rounds with their buffer and staleness bound; null for synchronous rounds
 */
public record JobSchedule(List<JobSite> sites, Set<SiteId> requiredSites, Stragglers stragglers, Instant start,
    Duration localTime, AsyncRounds async) {
  /** Any site, none required, wait for all until the deadline, start at once, train by steps, in step. */
  public static final JobSchedule OPEN = new JobSchedule(List.of(), Set.of(), Stragglers.waitForAll(), null, null,
      null);

  public JobSchedule {
    sites = List.copyOf(sites);
    requiredSites = Set.copyOf(requiredSites);
    List<SiteId> seen = new ArrayList<>();
    for (JobSite site : sites) {
      if (seen.contains(site.site())) {
        throw new IllegalArgumentException("site " + site.site() + " is named twice");
      }
      seen.add(site.site());
    }
    if (!sites.isEmpty()) {
      for (SiteId required : requiredSites) {
        if (!seen.contains(required)) {
          throw new IllegalArgumentException("required site " + required + " is not among the job's sites "
              + seen);
        }
      }
    }
    if (async != null && !requiredSites.isEmpty()) {
      throw new IllegalArgumentException("asynchronous rounds take updates as they come; they cannot require sites");
    }
    if (localTime != null && (localTime.isNegative() || localTime.isZero())) {
      throw new IllegalArgumentException("local time budget must be positive, was " + localTime);
    }
  }

  /** Whether the job takes updates from {@code site}: every site when the job names none. */
  public boolean admits(SiteId site) {
    return sites.isEmpty() || find(site).isPresent();
  }

  /** The job's entry for a site, if it names it. */
  public Optional<JobSite> find(SiteId site) {
    return sites.stream().filter(entry -> entry.site().equals(site)).findFirst();
  }

  /** The site's weight in the mean: 1 unless the job says otherwise. */
  public double weight(SiteId site) {
    return find(site).map(JobSite::weight).orElse(1.0);
  }

  /** Whether the site may take part at {@code now}: admitted and not in maintenance. */
  public boolean available(SiteId site, Instant now) {
    return admits(site) && find(site).map(entry -> !entry.inMaintenance(now)).orElse(true);
  }
}
