package eu.hanse.security;

import eu.hanse.security.AuditVerification.Problem;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Walks the lines of an audit log and checks that each entry is well-formed, follows the one
 * before it (seq and prev) and carries the hash of its own content. Stateless and thread-safe.
 */
final class AuditLogChain {
  private AuditLogChain() {}

  /**
   * Where a walk stands after some complete lines.
   *
   * @param lines how many lines (entries) have been read
   * @param bytes how many bytes they take, newlines included: the offset of the next line
   * @param seq the last entry's seq, 0 if none
   * @param hash the last entry's hash, {@link AuditEntry#GENESIS_PREV} if none
   * @param prev the last entry's prev, null if none: the hash of the entry before it
   */
  record Tail(long lines, long bytes, long seq, String hash, String prev) {
    /** The start of an empty log. */
    static final Tail START = new Tail(0, 0, 0, AuditEntry.GENESIS_PREV, null);

    Tail after(AuditEntry entry, int lineBytes) {
      return new Tail(lines + 1, bytes + lineBytes, entry.seq(), entry.hash(), entry.prev());
    }
  }

  /**
   * The outcome of a walk: how far it got, and the first failure or null.
   *
   * @param tail the position after the last good line
   * @param failure what is wrong with the line after it, or null if every line was good
   */
  record Walk(Tail tail, AuditVerification failure) {}

  /**
   * Reads lines from {@code in} up to its end, continuing from {@code start}. Stops at the first
   * bad line. A last line without a newline is bad: a write was cut short or the file truncated.
   */
  static Walk walk(InputStream in, Tail start) throws IOException {
    InputStream bytes =
        in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 1 << 16);
    Tail tail = start;
    ByteArrayOutputStream line = new ByteArrayOutputStream(512);
    for (int b; (b = bytes.read()) != -1; ) {
      if (b != '\n') {
        line.write(b);
        continue;
      }
      AuditEntry entry;
      try {
        entry = parse(line.toByteArray());
      } catch (IllegalArgumentException e) {
        return new Walk(tail, broken(tail, tail.seq() + 1, Problem.MALFORMED_LINE, e.getMessage()));
      }
      AuditVerification failure = chainFailure(tail, entry);
      if (failure != null) {
        return new Walk(tail, failure);
      }
      tail = tail.after(entry, line.size() + 1);
      line.reset();
    }
    if (line.size() > 0) {
      return new Walk(tail, broken(tail, tail.seq() + 1, Problem.MALFORMED_LINE,
          "the last line has no newline: the file was truncated or a write was cut short"));
    }
    return new Walk(tail, null);
  }

  /** Why {@code entry} cannot follow {@code tail}, or null if it can. */
  private static AuditVerification chainFailure(Tail tail, AuditEntry entry) {
    long expected = tail.seq() + 1;
    if (entry.seq() != expected) {
      return broken(tail, entry.seq(), Problem.SEQ_OUT_OF_ORDER,
          "expected seq " + expected + " after seq " + tail.seq() + ", found " + entry.seq()
              + ": entries were removed, inserted or reordered");
    }
    if (!entry.prev().equals(tail.hash())) {
      return broken(tail, entry.seq(), Problem.PREV_MISMATCH,
          "prev is " + entry.prev() + " but the previous entry's hash is " + tail.hash());
    }
    if (!entry.hashMatchesContent()) {
      return broken(tail, entry.seq(), Problem.HASH_MISMATCH,
          "hash " + entry.hash() + " is not the hash of the entry's content: it was edited");
    }
    return null;
  }

  /** Parses one line's bytes (newline excluded); IllegalArgumentException says what is wrong. */
  private static AuditEntry parse(byte[] line) {
    if (line.length == 0) {
      throw new IllegalArgumentException("empty line");
    }
    return AuditEntryCodec.parse(decode(line));
  }

  private static AuditVerification broken(Tail tail, long seq, Problem problem, String reason) {
    return AuditVerification.broken(tail.lines(), tail.lines() + 1, seq, problem, reason);
  }

  /** Strict UTF-8: a replacement character would hide a changed byte from the hash. */
  private static String decode(byte[] line) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(line))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("not valid UTF-8", e);
    }
  }
}
