package eu.hanse.security;

import java.util.List;
import java.util.Objects;

/**
 * What the coordinator vouches for when it signs a checkpoint: which job and round produced it,
 * its hash, the checkpoint it follows, and which updates went into it.
 *
 * <p>The coordinator signs {@link #canonicalBytes()} with the CA's checkpoint-signing key
 * ({@link CertificateAuthority#checkpointSigningKey()}); sites verify with
 * {@link CertificateAuthority#checkpointVerifyingKey()}'s public PEM.
 *
 * <p>Immutable (the list is copied) and safe to share between threads.
 *
 * @param jobId the training job
 * @param round the round that produced the checkpoint, not negative
 * @param checkpointSha256 hex SHA-256 of the checkpoint file
 * @param parentSha256 hex SHA-256 of the checkpoint it was aggregated onto; {@code ""} for the
 *     first checkpoint of a job
 * @param updateIds the updates aggregated into it, in the order the coordinator lists them (the
 *     order is signed; sort before constructing if order should not matter)
 */
public record CheckpointClaims(
    String jobId,
    long round,
    String checkpointSha256,
    String parentSha256,
    List<String> updateIds) {
  /** Domain tag that starts {@link #canonicalBytes()}. */
  public static final String DOMAIN = "hanse.checkpoint.v1";

  /**
   * Validates and copies the fields.
   *
   * @throws NullPointerException if a field or an update id is null
   * @throws IllegalArgumentException if {@code round} is negative
   */
  public CheckpointClaims {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(checkpointSha256, "checkpointSha256");
    Objects.requireNonNull(parentSha256, "parentSha256 (use \"\" for none)");
    updateIds = List.copyOf(Objects.requireNonNull(updateIds, "updateIds"));
    if (round < 0) {
      throw new IllegalArgumentException("round must not be negative, got " + round);
    }
  }

  /**
   * The bytes the coordinator signs: the ASCII tag {@code hanse.checkpoint.v1}, then jobId,
   * round, checkpointSha256, parentSha256, the number of update ids as 4 big-endian bytes and
   * each update id; strings as a 4-byte big-endian length and their UTF-8 bytes, the round as 8
   * big-endian bytes.
   */
  public byte[] canonicalBytes() {
    CanonicalWriter writer = new CanonicalWriter(DOMAIN)
        .string(jobId)
        .int64(round)
        .string(checkpointSha256)
        .string(parentSha256)
        .count(updateIds.size());
    for (String id : updateIds) {
      writer.string(id);
    }
    return writer.toByteArray();
  }
}
