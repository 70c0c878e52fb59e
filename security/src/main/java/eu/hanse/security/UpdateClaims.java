package eu.hanse.security;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What a site vouches for when it signs a model update: which job and round it belongs to, which
 * checkpoint it was trained from, how it is encoded, how much data went into it, and (through
 * {@link #chunkRoot}) exactly which bytes were sent.
 *
 * <p>The site signs {@link #canonicalBytes()} with its {@link SigningKey}; the coordinator
 * recomputes the bytes from what it received and checks the signature against the key in the
 * site's certificate ({@link SigningKeyExtension}).
 *
 * <p>Immutable: the arrays are copied on the way in and on the way out, so an instance is safe to
 * share between threads. Because it holds arrays, {@code equals}, {@code hashCode} and
 * {@code toString} are overridden to use the arrays' contents.
 *
 * @param jobId the training job
 * @param round the round number, not negative
 * @param site the site that trained the update
 * @param baseCheckpointSha256 hex SHA-256 of the checkpoint the update was trained from
 * @param codec how the update's tensor is encoded (e.g. {@code "f32-delta"})
 * @param elementCount number of tensor elements, not negative
 * @param sampleCount number of training samples behind the update (the aggregation weight), not
 *     negative
 * @param nonce fresh random bytes from the coordinator, so an old signed update cannot be replayed
 * @param chunkRoot the 32-byte {@link #chunkRoot(List)} over the update's chunks
 */
public record UpdateClaims(
    String jobId,
    long round,
    SiteId site,
    String baseCheckpointSha256,
    String codec,
    long elementCount,
    long sampleCount,
    byte[] nonce,
    byte[] chunkRoot) {
  /** Domain tag that starts {@link #canonicalBytes()}. */
  public static final String DOMAIN = "hanse.update.v1";
  /** Domain tag that starts the input of {@link #chunkRoot(List)}. */
  public static final String CHUNKS_DOMAIN = "hanse.chunks.v1";
  private static final int SHA256_LENGTH = 32;

  /**
   * Validates and copies the fields.
   *
   * @throws NullPointerException if any reference field is null
   * @throws IllegalArgumentException if {@code round}, {@code elementCount} or {@code sampleCount}
   *     is negative, or {@code chunkRoot} is not 32 bytes
   */
  public UpdateClaims {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(site, "site");
    Objects.requireNonNull(baseCheckpointSha256, "baseCheckpointSha256");
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(nonce, "nonce");
    Objects.requireNonNull(chunkRoot, "chunkRoot");
    requireNotNegative("round", round);
    requireNotNegative("elementCount", elementCount);
    requireNotNegative("sampleCount", sampleCount);
    if (chunkRoot.length != SHA256_LENGTH) {
      throw new IllegalArgumentException(
          "chunkRoot must be a 32-byte SHA-256 (from UpdateClaims.chunkRoot), got "
              + chunkRoot.length + " bytes");
    }
    nonce = nonce.clone();
    chunkRoot = chunkRoot.clone();
  }

  /** A copy of the nonce. */
  @Override
  public byte[] nonce() {
    return nonce.clone();
  }

  /** A copy of the chunk root. */
  @Override
  public byte[] chunkRoot() {
    return chunkRoot.clone();
  }

  /**
   * The bytes a site signs: the ASCII tag {@code hanse.update.v1}, then jobId, round, site name,
   * baseCheckpointSha256, codec, elementCount, sampleCount, nonce and chunkRoot in that order;
   * strings and byte arrays as a 4-byte big-endian length and the (UTF-8) bytes, longs as 8
   * big-endian bytes. The same claims always give the same bytes.
   */
  public byte[] canonicalBytes() {
    return new CanonicalWriter(DOMAIN)
        .string(jobId)
        .int64(round)
        .string(site.name())
        .string(baseCheckpointSha256)
        .string(codec)
        .int64(elementCount)
        .int64(sampleCount)
        .bytes(nonce)
        .bytes(chunkRoot)
        .toByteArray();
  }

  /**
   * The root that binds an update's chunks, in order: SHA-256 over the ASCII tag
   * {@code hanse.chunks.v1}, the number of chunks as 4 big-endian bytes, then each chunk's 32-byte
   * SHA-256. Signing this root (via {@link #canonicalBytes()}) signs every chunk without the
   * signer having to buffer the whole update.
   *
   * @param chunkSha256s the SHA-256 of each chunk, in the order the chunks make up the update
   * @throws IllegalArgumentException if a hash is not 32 bytes
   */
  public static byte[] chunkRoot(List<byte[]> chunkSha256s) {
    Objects.requireNonNull(chunkSha256s, "chunkSha256s");
    MessageDigest digest = Digests.sha256();
    digest.update(new CanonicalWriter(CHUNKS_DOMAIN).count(chunkSha256s.size()).toByteArray());
    for (int i = 0; i < chunkSha256s.size(); i++) {
      byte[] hash = Objects.requireNonNull(chunkSha256s.get(i), "chunk hash " + i);
      if (hash.length != SHA256_LENGTH) {
        throw new IllegalArgumentException(
            "Chunk " + i + " hash is " + hash.length + " bytes; a SHA-256 is 32 bytes. Pass the"
                + " raw digest, not its hex string.");
      }
      digest.update(hash);
    }
    return digest.digest();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof UpdateClaims that
        && round == that.round
        && elementCount == that.elementCount
        && sampleCount == that.sampleCount
        && jobId.equals(that.jobId)
        && site.equals(that.site)
        && baseCheckpointSha256.equals(that.baseCheckpointSha256)
        && codec.equals(that.codec)
        && Arrays.equals(nonce, that.nonce)
        && Arrays.equals(chunkRoot, that.chunkRoot);
  }

  @Override
  public int hashCode() {
    int hash = Objects.hash(
        jobId, round, site, baseCheckpointSha256, codec, elementCount, sampleCount);
    hash = 31 * hash + Arrays.hashCode(nonce);
    return 31 * hash + Arrays.hashCode(chunkRoot);
  }

  /** All fields, arrays in hex. */
  @Override
  public String toString() {
    return "UpdateClaims[jobId=" + jobId + ", round=" + round + ", site=" + site
        + ", baseCheckpointSha256=" + baseCheckpointSha256 + ", codec=" + codec
        + ", elementCount=" + elementCount + ", sampleCount=" + sampleCount
        + ", nonce=" + Digests.hex(nonce) + ", chunkRoot=" + Digests.hex(chunkRoot) + "]";
  }

  private static void requireNotNegative(String field, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(field + " must not be negative, got " + value);
    }
  }
}
