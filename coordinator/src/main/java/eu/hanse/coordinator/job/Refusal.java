package eu.hanse.coordinator.job;

/**
 * Why the coordinator refused an update or a request. The names are the wire's {@code ErrorCode}
 * names, so the transport maps one to the other by name; never rename or remove one.
 */
public enum Refusal {
  UNKNOWN_SITE,
  NOT_OPEN_ROUND,
  STALE_BASE,
  SHAPE_MISMATCH,
  NON_FINITE,
  CHUNK_HASH_MISMATCH,
  TRUNCATED,
  DUPLICATE_UPDATE,
  OVERSIZED,
  MALFORMED,
  UNKNOWN_CHECKPOINT,
  UNSUPPORTED_CODEC,
  BAD_SAMPLE_COUNT,
  INTERNAL,
  BAD_SIGNATURE,
  REPLAYED,
  REVOKED,
  BAD_TOKEN,
  FORBIDDEN,
  UNKNOWN_JOB,
  TRAINING_FAILED
}
