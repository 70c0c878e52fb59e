package eu.hanse.aggregation;

import eu.hanse.model.UpdateCodec;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An accepted update as the aggregators read it: the flat values (all tensors concatenated in model
 * order) in a durable spool file, as the site encoded them, chunk after chunk, and the update's
 * weight.
 *
 * @param site who sent it, for logs and for the aggregators that report whom they chose
 * @param file the spooled values
 * @param weight the update's weight in means (its sample count), positive
 * @param scale what its values are multiplied by as they are read: 1 as sent, less when a filter
 *     clipped the update to a norm bound
 * @param codec how the spooled chunks are encoded
 * @param chunkElements elements per chunk (the last may have fewer)
 */
public record SpooledUpdate(String site, Path file, double weight, double scale, UpdateCodec codec, int chunkElements) {
  /** Chunk size of fp32 spool files written whole, as tests and tools do: any size reads alike. */
  public static final int FP32_CHUNK = 1 << 16;

  public SpooledUpdate {
    Objects.requireNonNull(site, "site");
    Objects.requireNonNull(file, "file");
    if (!(weight > 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("update weight must be positive and finite, was " + weight);
    }
    if (!(scale >= 0) || Double.isInfinite(scale)) {
      throw new IllegalArgumentException("update scale must be finite and not negative, was " + scale);
    }
    Objects.requireNonNull(codec, "codec");
    if (chunkElements < 1) {
      throw new IllegalArgumentException("chunks hold at least one element, not " + chunkElements);
    }
  }

  /** A plain fp32 spool file, unscaled. */
  public SpooledUpdate(String site, Path file, double weight) {
    this(site, file, weight, 1.0, UpdateCodec.fp32(), FP32_CHUNK);
  }

  /** This update with its values multiplied by {@code factor} as well. */
  public SpooledUpdate scaled(double factor) {
    return new SpooledUpdate(site, file, weight, scale * factor, codec, chunkElements);
  }

  /** The size the spool file of an update of {@code elementCount} elements must have. */
  public long expectedBytes(long elementCount) {
    long full = elementCount / chunkElements;
    int tail = (int) (elementCount % chunkElements);
    return full * codec.encodedBytes(chunkElements) + (tail == 0 ? 0 : codec.encodedBytes(tail));
  }
}
