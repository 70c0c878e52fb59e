package eu.hanse.coordinator.job;

import eu.hanse.security.SiteId;
import java.time.Instant;
import java.util.List;

/**
 * A site named in a job.
 *
 * @param site the site, as named in its certificate
 * @param weight multiplies the site's sample count in the weighted mean; positive, 1 by default
 * @param gpuHours the GPU-hours the site may spend on the job; null for no limit
 * @param maintenance times (UTC) when the site takes no part
 */
public record JobSite(SiteId site, double weight, Double gpuHours, List<MaintenanceWindow> maintenance) {
  public JobSite {
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("site " + site + ": weight must be positive, was " + weight);
    }
    if (gpuHours != null && (!(gpuHours > 0) || gpuHours.isInfinite())) {
      throw new IllegalArgumentException("site " + site + ": gpu-hours must be positive, was " + gpuHours);
    }
    maintenance = List.copyOf(maintenance);
  }

  /** A site with weight 1, no budget and no maintenance. */
  public static JobSite plain(SiteId site) {
    return new JobSite(site, 1.0, null, List.of());
  }

  /** Whether one of the site's maintenance windows covers {@code instant}. */
  public boolean inMaintenance(Instant instant) {
    return maintenance.stream().anyMatch(window -> window.contains(instant));
  }
}
