package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.security.AuditVerification.Problem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of tampering is reported, at the first bad entry. The trails have 10 entries. */
class AuditLogTamperingTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-03-01T12:00:00Z"), ZoneOffset.UTC);
  private static final int ENTRIES = 10;

  @TempDir Path tmp;
  private Path log;
  private Path head;
  private KeyPair key;

  @BeforeEach
  void setUp() throws Exception {
    log = tmp.resolve("audit").resolve("audit.log");
    head = tmp.resolve("audit").resolve("audit.head");
    key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
  }

  private void write(PrivateKey headKey) {
    write(headKey, ENTRIES);
  }

  private void write(PrivateKey headKey, int entries) {
    try (AuditLog audit = AuditLog.open(log, CLOCK, headKey)) {
      for (int i = 1; i <= entries; i++) {
        audit.append("update.accepted", Map.of("site", "site-" + i, "round", "r" + i));
      }
    }
  }

  private List<String> lines() throws IOException {
    return new ArrayList<>(Files.readAllLines(log, UTF_8));
  }

  private void rewrite(List<String> lines) throws IOException {
    Files.writeString(log, lines.isEmpty() ? "" : String.join("\n", lines) + "\n", UTF_8);
  }

  private static void assertBroken(
      AuditVerification result, Problem problem, long line, long seq) {
    assertFalse(result.ok(), result.describe());
    assertEquals(problem, result.problem(), result.describe());
    assertEquals(line, result.line(), result.describe());
    assertEquals(seq, result.seq(), result.describe());
  }

  @Test
  void untouchedTrailVerifiesWithAndWithoutTheKey() {
    write(key.getPrivate());
    AuditVerification result = AuditLog.verify(log, key.getPublic());
    assertTrue(result.ok(), result.describe());
    assertEquals(ENTRIES, result.entries());
    assertTrue(AuditLog.verify(log, null).ok());
  }

  @Test
  void oneChangedByteInAMiddleLinesFieldsIsAHashMismatchAtThatLine() throws Exception {
    write(null);
    List<String> lines = lines();
    String line = lines.get(4);
    assertTrue(line.contains("\"round\":\"r5\""));
    lines.set(4, line.replace("\"round\":\"r5\"", "\"round\":\"r6\""));
    rewrite(lines);

    AuditVerification result = AuditLog.verify(log, null);
    assertBroken(result, Problem.HASH_MISMATCH, 5, 5);
    assertEquals(4, result.entries());
  }

  @Test
  void everySingleByteChangeAnywhereInTheLogIsDetected() throws Exception {
    write(null, 3);
    assertEverySingleByteChangeIsDetected(log, null);
  }

  @Test
  void everySingleByteChangeAnywhereInTheSignedHeadIsDetected() throws Exception {
    write(key.getPrivate(), 3);
    assertEverySingleByteChangeIsDetected(head, key);
  }

  /** Flips the lowest bit, flips the case bit, or writes a space, at each byte in turn. */
  private void assertEverySingleByteChangeIsDetected(Path file, KeyPair keys) throws Exception {
    assertTrue(AuditLog.verify(log, keys == null ? null : keys.getPublic()).ok());
    byte[] original = Files.readAllBytes(file);
    for (int i = 0; i < original.length; i++) {
      for (int variant = 0; variant < 3; variant++) {
        byte[] changed = original.clone();
        changed[i] = variant == 0 ? (byte) (original[i] ^ 0x01)
            : variant == 1 ? (byte) (original[i] ^ 0x20) : (byte) ' ';
        if (changed[i] == original[i]) {
          continue;
        }
        Files.write(file, changed);
        AuditVerification result = AuditLog.verify(log, keys == null ? null : keys.getPublic());
        int at = i;
        assertFalse(result.ok(), () -> "byte " + at + " changed to '" + (char) changed[at]
            + "' was not detected in: " + new String(changed, UTF_8));
      }
    }
  }

  @Test
  void aChangedHashIsReportedAtItsLine() throws Exception {
    write(null);
    List<String> lines = lines();
    lines.set(6, flipHexDigitAfter(lines.get(6), "\"hash\":\""));
    rewrite(lines);

    assertBroken(AuditLog.verify(log, null), Problem.HASH_MISMATCH, 7, 7);
  }

  @Test
  void aChangedPrevIsReportedAtItsLine() throws Exception {
    write(null);
    List<String> lines = lines();
    lines.set(2, flipHexDigitAfter(lines.get(2), "\"prev\":\""));
    rewrite(lines);

    assertBroken(AuditLog.verify(log, null), Problem.PREV_MISMATCH, 3, 3);
  }

  @Test
  void aDeletedMiddleLineIsASeqGapAtItsPosition() throws Exception {
    write(null);
    List<String> lines = lines();
    lines.remove(4);
    rewrite(lines);

    AuditVerification result = AuditLog.verify(log, null);
    assertBroken(result, Problem.SEQ_OUT_OF_ORDER, 5, 6);
    assertEquals(4, result.entries());
  }

  @Test
  void swappedLinesAreReportedAtTheFirstOfThem() throws Exception {
    write(null);
    List<String> lines = lines();
    Collections.swap(lines, 3, 6);
    rewrite(lines);

    assertBroken(AuditLog.verify(log, null), Problem.SEQ_OUT_OF_ORDER, 4, 7);
  }

  @Test
  void aDeletedLastLineIsCaughtByTheUnsignedHead() throws Exception {
    write(null);
    List<String> lines = lines();
    lines.remove(ENTRIES - 1);
    rewrite(lines);

    AuditVerification result = AuditLog.verify(log, null);
    assertBroken(result, Problem.HEAD_MISMATCH, ENTRIES, ENTRIES);
    assertEquals(ENTRIES - 1, result.entries());
  }

  @Test
  void aDeletedLastLineIsCaughtByTheSignedHead() throws Exception {
    write(key.getPrivate());
    List<String> lines = lines();
    lines.remove(ENTRIES - 1);
    rewrite(lines);

    assertBroken(AuditLog.verify(log, key.getPublic()), Problem.HEAD_MISMATCH, ENTRIES, ENTRIES);
  }

  @Test
  void aDeletedLastLineWithARewrittenHeadIsCaughtOnlyByTheSignature() throws Exception {
    write(key.getPrivate());
    List<String> lines = lines();
    lines.remove(ENTRIES - 1);
    rewrite(lines);
    String lastHash = AuditEntryCodec.parse(lines.get(ENTRIES - 2)).hash();
    // The attacker rewrites the head to match, unsigned or signed with a key of their own.
    AuditLogHead.of(ENTRIES - 1, lastHash, null).write(head);
    assertTrue(AuditLog.verify(log, null).ok(), "without a key only the chain can be checked");
    assertBroken(AuditLog.verify(log, key.getPublic()), Problem.HEAD_SIGNATURE_INVALID, 0, 0);

    PrivateKey attackers = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate();
    AuditLogHead.of(ENTRIES - 1, lastHash, attackers).write(head);
    assertBroken(AuditLog.verify(log, key.getPublic()), Problem.HEAD_SIGNATURE_INVALID, 0, 0);
  }

  @Test
  void aTrailRehashedAfterAnEditIsCaughtOnlyByTheSignature() throws Exception {
    write(key.getPrivate());
    // Someone who can write the files edits entry 3 and recomputes every hash after it.
    List<AuditEntry> entries = new ArrayList<>();
    for (String line : lines()) {
      entries.add(AuditEntryCodec.parse(line));
    }
    List<String> forged = new ArrayList<>();
    String prev = AuditEntry.GENESIS_PREV;
    for (AuditEntry entry : entries) {
      Map<String, String> fields = entry.seq() == 3 ? Map.of("site", "mallory") : entry.fields();
      AuditEntry copy = AuditEntry.create(entry.seq(), entry.time(), entry.type(), fields, prev);
      forged.add(AuditEntryCodec.toLine(copy));
      prev = copy.hash();
    }
    rewrite(forged);
    AuditLogHead.of(ENTRIES, prev, null).write(head);

    assertTrue(AuditLog.verify(log, null).ok());
    assertBroken(AuditLog.verify(log, key.getPublic()), Problem.HEAD_SIGNATURE_INVALID, 0, 0);
  }

  @Test
  void aTailTruncatedMidLineIsAMalformedLastLine() throws Exception {
    write(null);
    byte[] bytes = Files.readAllBytes(log);
    int lastLineStart = lastLineStart(bytes);
    Files.write(log, Arrays.copyOf(bytes, lastLineStart + 40));

    AuditVerification result = AuditLog.verify(log, null);
    assertBroken(result, Problem.MALFORMED_LINE, ENTRIES, ENTRIES);
    assertEquals(ENTRIES - 1, result.entries());
  }

  @Test
  void aTailTruncatedJustBeforeItsNewlineIsStillCaught() throws Exception {
    write(null);
    byte[] bytes = Files.readAllBytes(log);
    Files.write(log, Arrays.copyOf(bytes, bytes.length - 1));

    assertBroken(AuditLog.verify(log, null), Problem.MALFORMED_LINE, ENTRIES, ENTRIES);
  }

  @Test
  void aBrokenLineInTheMiddleIsMalformedAtThatLine() throws Exception {
    write(null);
    List<String> lines = lines();
    lines.set(1, lines.get(1).substring(0, 30));
    rewrite(lines);

    assertBroken(AuditLog.verify(log, null), Problem.MALFORMED_LINE, 2, 2);
  }

  @Test
  void anEditedHeadSeqIsAMismatch() throws Exception {
    write(null);
    String text = Files.readString(head);
    Files.writeString(head, text.replace("\"seq\":" + ENTRIES, "\"seq\":" + (ENTRIES - 1)));
    assertBroken(AuditLog.verify(log, null), Problem.HEAD_MISMATCH, ENTRIES, ENTRIES);

    Files.writeString(head, text.replace("\"seq\":" + ENTRIES, "\"seq\":" + (ENTRIES + 1)));
    assertBroken(AuditLog.verify(log, null), Problem.HEAD_MISMATCH, ENTRIES + 1, ENTRIES + 1);
  }

  @Test
  void anEditedSignedHeadSeqFailsItsSignature() throws Exception {
    write(key.getPrivate());
    String text = Files.readString(head);
    Files.writeString(head, text.replace("\"seq\":" + ENTRIES, "\"seq\":" + (ENTRIES - 1)));

    assertBroken(AuditLog.verify(log, key.getPublic()), Problem.HEAD_SIGNATURE_INVALID, 0, 0);
  }

  @Test
  void aHeadSignedWithOneKeyDoesNotVerifyWithAnother() throws Exception {
    write(key.getPrivate());
    KeyPair other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();

    assertBroken(AuditLog.verify(log, other.getPublic()), Problem.HEAD_SIGNATURE_INVALID, 0, 0);
    assertTrue(AuditLog.verify(log, key.getPublic()).ok());
  }

  @Test
  void anUnsignedHeadFailsWhenAKeyIsExpected() {
    write(null);
    assertBroken(AuditLog.verify(log, key.getPublic()), Problem.HEAD_SIGNATURE_INVALID, 0, 0);
  }

  @Test
  void aMissingOrGarbledHeadIsReported() throws Exception {
    write(null);
    Files.writeString(head, "{\"seq\":\"ten\"}");
    assertBroken(AuditLog.verify(log, null), Problem.HEAD_MALFORMED, 0, 0);
    Files.delete(head);
    assertBroken(AuditLog.verify(log, null), Problem.HEAD_MISSING, 0, 0);
  }

  @Test
  void aMissingLogIsReported() {
    assertBroken(AuditLog.verify(log, null), Problem.LOG_MISSING, 0, 0);
  }

  @Test
  void aDuplicatedMemberIsMalformedRatherThanLastOneWins() throws Exception {
    write(null);
    List<String> lines = lines();
    String line = lines.get(4);
    lines.set(4, line.substring(0, line.length() - 1) + ",\"type\":\"site.revoked\"}");
    rewrite(lines);

    assertBroken(AuditLog.verify(log, null), Problem.MALFORMED_LINE, 5, 5);
  }

  @Test
  void reformattingALineIsNotAnEdit() throws Exception {
    write(null);
    List<String> lines = lines();
    AuditEntry entry = AuditEntryCodec.parse(lines.get(4));
    // Same content: other member order, whitespace, an escaped character.
    lines.set(4, "{ \"hash\" : \"" + entry.hash() + "\", \"prev\": \"" + entry.prev() + "\","
        + " \"fields\": {\"site\": \"\\u0073ite-5\", \"round\": \"r5\"},"
        + " \"type\": \"update.accepted\", \"time\": \"2026-03-01T12:00:00Z\", \"seq\": 5 }");
    rewrite(lines);

    AuditVerification result = AuditLog.verify(log, null);
    assertTrue(result.ok(), result.describe());
  }

  private static String flipHexDigitAfter(String line, String marker) {
    int at = line.indexOf(marker) + marker.length();
    char digit = line.charAt(at);
    char flipped = digit == '0' ? '1' : '0';
    return line.substring(0, at) + flipped + line.substring(at + 1);
  }

  private static int lastLineStart(byte[] bytes) {
    for (int i = bytes.length - 2; i >= 0; i--) {
      if (bytes[i] == '\n') {
        return i + 1;
      }
    }
    return 0;
  }
}
