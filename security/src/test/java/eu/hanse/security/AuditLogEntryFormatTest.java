package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The JSON line, the canonical form and the strict parser of {@link AuditEntry}. */
class AuditLogEntryFormatTest {
  private static final Instant TIME = Instant.parse("2026-03-01T12:00:00.250Z");
  private static final String ZEROS = "0".repeat(64);

  private static AuditEntry sample() {
    return AuditEntry.create(
        2, TIME, "site.enrolled", Map.of("site", "jülich", "note", "a b\nc:d"), ZEROS);
  }

  @Test
  void hashIsSha256OfTheDocumentedCanonicalForm() {
    String canonical = "hanse-audit-entry/1\n"
        + "seq 2\n"
        + "time 2026-03-01T12:00:00.250Z\n"
        + "type 13:site.enrolled\n"
        + "fields 2\n"
        + "4:note 7:a b\nc:d\n"
        + "4:site 7:jülich\n"
        + "prev " + ZEROS + "\n";
    AuditEntry entry = sample();
    assertEquals(canonical, new String(AuditEntry.canonicalForm(
        entry.seq(), entry.time(), entry.type(), entry.fields(), entry.prev()), UTF_8));
    assertEquals(Digests.hex(Digests.sha256().digest(canonical.getBytes(UTF_8))), entry.hash());
    assertTrue(entry.hashMatchesContent());
  }

  @Test
  void jsonLineHasFixedMemberOrderSortedFieldsAndNoRawNewline() {
    AuditEntry entry = sample();
    String line = AuditEntryCodec.toLine(entry);
    assertEquals("{\"seq\":2,\"time\":\"2026-03-01T12:00:00.250Z\",\"type\":\"site.enrolled\","
        + "\"fields\":{\"note\":\"a b\\nc:d\",\"site\":\"jülich\"},\"prev\":\"" + ZEROS
        + "\",\"hash\":\"" + entry.hash() + "\"}", line);
    assertEquals(entry, AuditEntryCodec.parse(line));
  }

  @Test
  void lengthPrefixesKeepFieldBoundariesApart() {
    // As plain "key value" lines both would read "a x\nb y\nc z\n", two fields each.
    AuditEntry one = AuditEntry.create(1, TIME, "t", Map.of("a", "x\nb y", "c", "z"), ZEROS);
    AuditEntry two = AuditEntry.create(1, TIME, "t", Map.of("a", "x", "b", "y\nc z"), ZEROS);
    assertFalse(one.hash().equals(two.hash()));
  }

  @Test
  void changingAnyComponentChangesTheHash() {
    AuditEntry base = sample();
    TreeMap<String, String> otherFields = new TreeMap<>(base.fields());
    otherFields.put("site", "juelich");
    String[] hashes = {
      base.hash(),
      AuditEntry.create(3, TIME, base.type(), base.fields(), ZEROS).hash(),
      AuditEntry.create(2, TIME.plusNanos(1), base.type(), base.fields(), ZEROS).hash(),
      AuditEntry.create(2, TIME, "site.revoked", base.fields(), ZEROS).hash(),
      AuditEntry.create(2, TIME, base.type(), otherFields, ZEROS).hash(),
      AuditEntry.create(2, TIME, base.type(), base.fields(), "1" + ZEROS.substring(1)).hash()
    };
    assertEquals(hashes.length, Arrays.stream(hashes).distinct().count());
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "",
    "[]",
    "{\"seq\":1}",
    "not json",
    "{\"seq\":\"1\",\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1.0,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\",\"extra\":\"x\"}",
    "{\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}{}",
    "{\"seq\":1,\"time\":\"yesterday\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"time\":\"2026-03-01t12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"time\":\"2026-03-01T12:00:00.000Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{\"n\":1},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"Bad Type\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"HASH\"}",
    "{\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"PREV\",\"hash\":\"ABCD\"}"
  })
  void strictParserRejects(String template) {
    String line = template.replace("PREV", ZEROS).replace("HASH", "ab".repeat(32));
    assertThrows(IllegalArgumentException.class, () -> AuditEntryCodec.parse(line));
  }

  @Test
  void strictParserAcceptsTheWellFormedTemplate() {
    String line = "{\"seq\":1,\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"t\",\"fields\":{},"
        + "\"prev\":\"" + ZEROS + "\",\"hash\":\"" + "ab".repeat(32) + "\"}";
    assertEquals(1, AuditEntryCodec.parse(line).seq());
  }

  @Test
  void invalidTypesFieldNamesAndValuesAreRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> AuditEntry.create(1, TIME, "Site.Enrolled", Map.of(), ZEROS));
    assertThrows(IllegalArgumentException.class,
        () -> AuditEntry.create(1, TIME, "site..enrolled", Map.of(), ZEROS));
    assertThrows(IllegalArgumentException.class,
        () -> AuditEntry.create(1, TIME, "t", Map.of("has space", "x"), ZEROS));
    assertThrows(IllegalArgumentException.class,
        () -> AuditEntry.create(1, TIME, "t", Map.of("k", "lone \ud800 surrogate"), ZEROS));
    Map<String, String> nullValue = new TreeMap<>();
    nullValue.put("k", null);
    assertThrows(IllegalArgumentException.class,
        () -> AuditEntry.create(1, TIME, "t", nullValue, ZEROS));
  }
}
