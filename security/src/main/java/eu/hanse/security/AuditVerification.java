package eu.hanse.security;

import java.util.Objects;

/**
 * The verdict of {@link AuditLog#verify}: either the whole trail is intact, or the first thing
 * that is wrong with it.
 *
 * <p>Line numbers count from 1. In an intact trail line {@code n} holds the entry with seq
 * {@code n}, so for a failure that concerns an entry both point at it. Where the bad line cannot
 * be read, {@code seq} is the seq that belonged there; where entries are missing from the end,
 * {@code line} and {@code seq} are those of the first missing entry; where the failure is about
 * the head file as a whole (missing, unreadable, signature), both are 0.
 *
 * <p>Immutable and thread-safe.
 *
 * @param ok whether every entry chains correctly and the head file matches the last entry
 * @param entries the number of entries verified: all of them if {@code ok}, otherwise those before
 *     the first bad one
 * @param line the 1-based line of the first bad entry, or 0 (see above)
 * @param seq the seq of the first bad entry, or 0 (see above)
 * @param problem what is wrong, null if {@code ok}
 * @param reason what is wrong, in words, for an operator; empty if {@code ok}
 */
public record AuditVerification(
    boolean ok, long entries, long line, long seq, Problem problem, String reason) {

  /** What can be wrong with an audit trail, in the order {@link AuditLog#verify} checks it. */
  public enum Problem {
    /** The log file does not exist. */
    LOG_MISSING,
    /**
     * A line is not a complete, well-formed entry: not JSON, missing or unknown members, a
     * duplicate member, a value of the wrong type, an empty line, or no newline at the end of the
     * file (a truncated tail).
     */
    MALFORMED_LINE,
    /** An entry's seq is not one more than the previous entry's (lines removed or reordered). */
    SEQ_OUT_OF_ORDER,
    /** An entry's {@code prev} is not the previous entry's {@code hash}. */
    PREV_MISMATCH,
    /** An entry's {@code hash} is not the SHA-256 of its content (the entry was edited). */
    HASH_MISMATCH,
    /** The head file next to the log does not exist. */
    HEAD_MISSING,
    /** The head file is not well-formed. */
    HEAD_MALFORMED,
    /** The head is unsigned, or its Ed25519 signature does not verify with the given key. */
    HEAD_SIGNATURE_INVALID,
    /**
     * The head's seq and hash are not those of the log's last entry: entries were removed from
     * the end, or entries were added without updating the head, or the head was edited.
     */
    HEAD_MISMATCH
  }

  /** Checks the invariants between the components. */
  public AuditVerification {
    if (ok != (problem == null)) {
      throw new IllegalArgumentException("a verification has a problem exactly when it is not ok");
    }
    Objects.requireNonNull(reason, "reason");
  }

  /** An intact trail of {@code entries} entries. */
  static AuditVerification intact(long entries) {
    return new AuditVerification(true, entries, 0, 0, null, "");
  }

  /** A broken trail; see the class comment for what {@code line} and {@code seq} mean. */
  static AuditVerification broken(
      long entries, long line, long seq, Problem problem, String reason) {
    Objects.requireNonNull(problem, "problem");
    return new AuditVerification(false, entries, line, seq, problem, reason);
  }

  /** One line for an operator, e.g. {@code "line 5 (seq 5): HASH_MISMATCH: ..."}. */
  public String describe() {
    if (ok) {
      return "audit trail intact: " + entries + (entries == 1 ? " entry" : " entries");
    }
    String where = line == 0 ? "" : "line " + line + " (seq " + seq + "): ";
    return where + problem + ": " + reason;
  }
}
