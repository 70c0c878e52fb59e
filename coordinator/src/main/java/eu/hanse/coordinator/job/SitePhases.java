package eu.hanse.coordinator.job;

import java.util.Locale;

/**
 * Where a site's part of a round's time went, in wall seconds: the first four as the site
 * measured them, the last two as the coordinator did. They add up to the site's part of the round:
 * the coordinator checks chunks while the next ones arrive, and counts that time once, as
 * verifying.
 *
 * @param download fetching the round's checkpoint; 0 when the site had it
 * @param queue waiting in the site's batch queue (Slurm) before training started; 0 when it trains at once
 * @param training local training
 * @param encodeAndSign encoding the update, hashing its chunks and signing the header
 * @param upload from the header's arrival to the last chunk's written, less the checks below (per
 *     call, for an update that came over several)
 * @param verifyAndFold checking each chunk's hash and values, then forcing the update to disk and
 *     folding it into the round's mean
 */
public record SitePhases(double download, double queue, double training, double encodeAndSign, double upload,
    double verifyAndFold) {
  /** These phases with {@code seconds} more verifying and folding. */
  public SitePhases plusFold(double seconds) {
    return new SitePhases(download, queue, training, encodeAndSign, upload, verifyAndFold + seconds);
  }

  /** One line for the progress output; the queue only when the site waited in one. */
  public String describe() {
    return String.format(Locale.ROOT, "download %.2f, %strain %.2f, encode+sign %.2f, upload %.2f, verify+fold %.2f s",
        download, queue > 0 ? String.format(Locale.ROOT, "queue %.2f, ", queue) : "", training, encodeAndSign, upload,
        verifyAndFold);
  }
}
