package eu.hanse.aggregation;

import java.nio.file.Path;
import java.util.Objects;

/**
 * An accepted update as the aggregators read it: the flat fp32 values (little-endian, all tensors
 * concatenated in model order) in a durable spool file, and the update's weight.
 *
 * @param site who sent it, for logs and for the aggregators that report whom they chose
 * @param file the spooled values
 * @param weight the update's weight in means (its sample count), positive
 * @param scale what its values are multiplied by as they are read: 1 as sent, less when a filter
 *     clipped the update to a norm bound
 */
public record SpooledUpdate(String site, Path file, double weight, double scale) {
  public SpooledUpdate {
    Objects.requireNonNull(site, "site");
    Objects.requireNonNull(file, "file");
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("update weight must be positive and finite, was " + weight);
    }
    if (!(scale >= 0) || Double.isInfinite(scale)) {
      throw new IllegalArgumentException("update scale must be finite and not negative, was " + scale);
    }
  }

  /** The update as sent, unscaled. */
  public SpooledUpdate(String site, Path file, double weight) {
    this(site, file, weight, 1.0);
  }

  /** This update with its values multiplied by {@code factor} as well. */
  public SpooledUpdate scaled(double factor) {
    return new SpooledUpdate(site, file, weight, scale * factor);
  }
}
