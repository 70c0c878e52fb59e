package eu.hanse.security;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Turns an {@link AuditEntry} into its JSON line and back (the format is in {@link AuditEntry}).
 *
 * <p>Parsing is strict, because a lenient parser would let an edit slip past the hash: every
 * member must be present exactly once with the right JSON type, no other member may appear, and
 * nothing may follow the object. Stateless and thread-safe (Jackson's mapper is, once configured).
 */
final class AuditEntryCodec {
  /** Strict JSON: a duplicate member or trailing content is an error, not "last one wins". */
  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private static final Set<String> MEMBERS =
      Set.of("seq", "time", "type", "fields", "prev", "hash");

  private AuditEntryCodec() {}

  /** The entry's JSON line, without the terminating newline. */
  static String toLine(AuditEntry entry) {
    StringWriter text = new StringWriter(256);
    try (JsonGenerator json = JSON.getFactory().createGenerator(text)) {
      json.writeStartObject();
      json.writeNumberField("seq", entry.seq());
      json.writeStringField("time", entry.time().toString());
      json.writeStringField("type", entry.type());
      json.writeObjectFieldStart("fields");
      for (Map.Entry<String, String> field : entry.fields().entrySet()) {
        json.writeStringField(field.getKey(), field.getValue());
      }
      json.writeEndObject();
      json.writeStringField("prev", entry.prev());
      json.writeStringField("hash", entry.hash());
      json.writeEndObject();
    } catch (IOException e) {
      // A StringWriter does not fail; this is unreachable.
      throw new UncheckedIOException(e);
    }
    // Jackson escapes control characters in strings, so the line cannot contain a raw newline.
    return text.toString();
  }

  /**
   * Parses one JSON line (without its newline) into an entry. Does not check the hash.
   *
   * @throws IllegalArgumentException saying what is malformed
   */
  static AuditEntry parse(String line) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    for (Map.Entry<String, JsonNode> member : node.properties()) {
      String name = member.getKey();
      if (!MEMBERS.contains(name)) {
        throw new IllegalArgumentException("unknown member \"" + name + "\"");
      }
    }
    JsonNode seq = member(node, "seq");
    if (!seq.isIntegralNumber() || !seq.canConvertToLong()) {
      throw new IllegalArgumentException("\"seq\" is not an integer");
    }
    String timeText = text(node, "time");
    Instant time;
    try {
      time = Instant.parse(timeText);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("\"time\" is not an ISO-8601 instant", e);
    }
    // Instant.parse also accepts other spellings ("t" for "T", extra zeros); the hash covers the
    // instant, so only the one spelling the writer uses is accepted, lest a changed byte pass.
    if (!timeText.equals(time.toString())) {
      throw new IllegalArgumentException(
          "\"time\" is not written as Instant.toString() writes it (" + time + ")");
    }
    JsonNode fieldsNode = member(node, "fields");
    if (!fieldsNode.isObject()) {
      throw new IllegalArgumentException("\"fields\" is not a JSON object");
    }
    SortedMap<String, String> fields = new TreeMap<>();
    for (Map.Entry<String, JsonNode> field : fieldsNode.properties()) {
      if (!field.getValue().isTextual()) {
        throw new IllegalArgumentException("field \"" + field.getKey() + "\" is not a string");
      }
      fields.put(field.getKey(), field.getValue().textValue());
    }
    // The record's constructor checks the type, field names and hash formats.
    return new AuditEntry(
        seq.longValue(), time, text(node, "type"), fields, text(node, "prev"), text(node, "hash"));
  }

  private static JsonNode member(JsonNode node, String name) {
    JsonNode value = node.get(name);
    if (value == null) {
      throw new IllegalArgumentException("member \"" + name + "\" is missing");
    }
    return value;
  }

  private static String text(JsonNode node, String name) {
    JsonNode value = member(node, name);
    if (!value.isTextual()) {
      throw new IllegalArgumentException("\"" + name + "\" is not a string");
    }
    return value.textValue();
  }
}
