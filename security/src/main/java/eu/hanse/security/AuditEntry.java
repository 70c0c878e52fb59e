package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One entry of an {@link AuditLog}.
 *
 * <h2>On disk</h2>
 *
 * <p>One JSON object per line, members in this order, no whitespace, {@code fields} in sorted key
 * order, terminated by {@code \n}:
 *
 * <pre>{@code
 * {"seq":2,"time":"2026-03-01T12:00:00Z","type":"site.enrolled","fields":{"site":"juelich"},
 *  "prev":"<64 hex>","hash":"<64 hex>"}      (on one line)
 * }</pre>
 *
 * <h2>Hash</h2>
 *
 * <p>{@code hash} is the lower-case hex SHA-256 of the UTF-8 bytes of this canonical form, which
 * does not depend on how the JSON line is formatted (a verifier parses the line and rebuilds it):
 *
 * <pre>
 * hanse-audit-entry/1\n
 * seq &lt;decimal seq&gt;\n
 * time &lt;time as Instant.toString(): ISO-8601 UTC, e.g. 2026-03-01T12:00:00.250Z&gt;\n
 * type &lt;L&gt;:&lt;type&gt;\n
 * fields &lt;number of fields&gt;\n
 * &lt;L&gt;:&lt;key&gt; &lt;L&gt;:&lt;value&gt;\n   (one per field, keys ascending)
 * prev &lt;prev&gt;\n
 * </pre>
 *
 * <p>where each {@code <L>} is the decimal length in UTF-8 bytes of the string after it, so a value
 * holding a newline, a colon or a space cannot be mistaken for the structure around it. Field
 * names are ASCII (see {@link #FIELD_NAME_RULE}), so "ascending" is both String and byte order.
 *
 * <p>{@code prev} is the previous entry's {@code hash}, or {@link #GENESIS_PREV} for seq 1: each
 * entry commits to everything before it.
 *
 * @param seq the entry's position in the trail, 1 for the first
 * @param time when the entry was appended, from the log's Clock
 * @param type what happened, e.g. {@code "update.accepted"}; see {@link #TYPE_RULE}
 * @param fields the details, an unmodifiable copy in ascending key order
 * @param prev the previous entry's hash, lower-case hex
 * @param hash this entry's hash, lower-case hex
 */
public record AuditEntry(
    long seq,
    Instant time,
    String type,
    SortedMap<String, String> fields,
    String prev,
    String hash) {

  /** The {@code prev} of the first entry: 64 zeros. */
  public static final String GENESIS_PREV = "0".repeat(64);

  /**
   * Entry types: dot-separated lowercase words, at most 64 characters, e.g. {@code site.enrolled},
   * {@code checkpoint.committed}.
   */
  public static final String TYPE_RULE = "[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*";

  /** Field names: an ASCII letter, then at most 63 ASCII letters, digits, '_', '.' or '-'. */
  public static final String FIELD_NAME_RULE = "[A-Za-z][A-Za-z0-9_.-]{0,63}";

  private static final int MAX_TYPE_LENGTH = 64;
  private static final Pattern TYPE = Pattern.compile(TYPE_RULE);
  private static final Pattern FIELD_NAME = Pattern.compile(FIELD_NAME_RULE);
  private static final Pattern HEX_HASH = Pattern.compile("[0-9a-f]{64}");

  /**
   * Validates every component and copies {@code fields}.
   *
   * @throws IllegalArgumentException naming the bad component
   */
  public AuditEntry {
    if (seq < 1) {
      throw new IllegalArgumentException("seq must be at least 1, not " + seq);
    }
    Objects.requireNonNull(time, "time");
    requireValidType(type);
    fields = Collections.unmodifiableSortedMap(new TreeMap<>(requireValidFields(fields)));
    requireHexHash("prev", prev);
    requireHexHash("hash", hash);
  }

  /** Whether {@link #hash} is the hash of this entry's content (see the class comment). */
  public boolean hashMatchesContent() {
    return hash.equals(hashOf(seq, time, type, fields, prev));
  }

  /** The entry that follows one whose hash is {@code prev}, its hash computed. */
  static AuditEntry create(
      long seq, Instant time, String type, Map<String, String> fields, String prev) {
    SortedMap<String, String> sorted = new TreeMap<>(requireValidFields(fields));
    return new AuditEntry(seq, time, type, sorted, prev, hashOf(seq, time, type, sorted, prev));
  }

  /** The lower-case hex SHA-256 of the canonical form (see the class comment). */
  static String hashOf(
      long seq, Instant time, String type, SortedMap<String, String> fields, String prev) {
    return Digests.hex(Digests.sha256().digest(canonicalForm(seq, time, type, fields, prev)));
  }

  /** The canonical form that {@link #hash} covers, as UTF-8 bytes. */
  static byte[] canonicalForm(
      long seq, Instant time, String type, SortedMap<String, String> fields, String prev) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    ascii(out, "hanse-audit-entry/1\n");
    ascii(out, "seq " + seq + "\n");
    ascii(out, "time " + time + "\n");
    ascii(out, "type ");
    prefixed(out, type);
    ascii(out, "\nfields " + fields.size() + "\n");
    for (Map.Entry<String, String> field : fields.entrySet()) {
      prefixed(out, field.getKey());
      ascii(out, " ");
      prefixed(out, field.getValue());
      ascii(out, "\n");
    }
    ascii(out, "prev " + prev + "\n");
    return out.toByteArray();
  }

  /**
   * Checks an entry type against {@link #TYPE_RULE}.
   *
   * @throws IllegalArgumentException saying what a type looks like
   */
  static String requireValidType(String type) {
    if (type == null || type.length() > MAX_TYPE_LENGTH || !TYPE.matcher(type).matches()) {
      throw new IllegalArgumentException(
          "Invalid audit entry type " + (type == null ? "null" : "'" + type + "'")
              + ": it must match " + TYPE_RULE + " and be at most " + MAX_TYPE_LENGTH
              + " characters, e.g. site.enrolled");
    }
    return type;
  }

  /**
   * Checks field names against {@link #FIELD_NAME_RULE} and that values are present and valid
   * Unicode (a lone surrogate has no UTF-8 form, so two different values could hash alike).
   *
   * @throws IllegalArgumentException naming the bad field
   */
  static Map<String, String> requireValidFields(Map<String, String> fields) {
    Objects.requireNonNull(fields, "fields (use Map.of() for none)");
    for (Map.Entry<String, String> field : fields.entrySet()) {
      String key = field.getKey();
      if (key == null || !FIELD_NAME.matcher(key).matches()) {
        throw new IllegalArgumentException(
            "Invalid audit field name " + (key == null ? "null" : "'" + key + "'")
                + ": it must match " + FIELD_NAME_RULE);
      }
      String value = field.getValue();
      if (value == null) {
        throw new IllegalArgumentException("Audit field '" + key + "' has no value (null)");
      }
      if (!StandardCharsets.UTF_8.newEncoder().canEncode(value)) {
        throw new IllegalArgumentException(
            "Audit field '" + key + "' is not valid Unicode (it holds a lone surrogate)");
      }
    }
    return fields;
  }

  private static void requireHexHash(String name, String value) {
    if (value == null || !HEX_HASH.matcher(value).matches()) {
      throw new IllegalArgumentException(
          name + " must be 64 lower-case hex digits, not "
              + (value == null ? "null" : "'" + value + "'"));
    }
  }

  private static void ascii(ByteArrayOutputStream out, String text) {
    out.writeBytes(text.getBytes(StandardCharsets.US_ASCII));
  }

  private static void prefixed(ByteArrayOutputStream out, String text) {
    byte[] bytes = text.getBytes(UTF_8);
    ascii(out, bytes.length + ":");
    out.writeBytes(bytes);
  }
}
