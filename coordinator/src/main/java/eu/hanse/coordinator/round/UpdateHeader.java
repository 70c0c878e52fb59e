package eu.hanse.coordinator.round;

import java.util.List;

/**
 * What a site declares about an update before its chunks, as the domain sees it.
 *
 * @param chunkSha256 the SHA-256 of each chunk, in order
 * @param downloadSeconds as the site reports it, with {@code queueSeconds}, {@code trainSeconds} and
 *     {@code encodeSeconds}:
 *     where its part of the round's time went (not signed)
 * @param stripeFirst with {@code stripeEnd}, the run of chunks this call carries of an update sent
 *     over several calls at once; both 0 when one call carries them all (not signed)
 */
public record UpdateHeader(
    String jobId,
    long round,
    String baseSha256,
    String codec,
    long elementCount,
    long sampleCount,
    byte[] nonce,
    List<byte[]> chunkSha256,
    double trainLoss,
    int localSteps,
    byte[] signature,
    String claimedSite,
    long resumeFromChunk,
    double deviceSeconds,
    double downloadSeconds,
    double queueSeconds,
    double trainSeconds,
    double encodeSeconds,
    long stripeFirst,
    long stripeEnd) {}
