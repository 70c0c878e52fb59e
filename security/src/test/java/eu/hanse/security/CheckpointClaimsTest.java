package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CheckpointClaimsTest {
  private static final CheckpointClaims CLAIMS = new CheckpointClaims(
      "job-1", 3, "aa".repeat(32), "bb".repeat(32), List.of("juelich-3", "cineca-3"));

  @Test
  void canonicalBytesFollowTheDocumentedLayout() {
    ByteBuffer expected = ByteBuffer.allocate(1024);
    expected.put("hanse.checkpoint.v1".getBytes(StandardCharsets.US_ASCII));
    putString(expected, "job-1");
    expected.putLong(3);
    putString(expected, "aa".repeat(32));
    putString(expected, "bb".repeat(32));
    expected.putInt(2);
    putString(expected, "juelich-3");
    putString(expected, "cineca-3");
    assertArrayEquals(Arrays.copyOf(expected.array(), expected.position()),
        CLAIMS.canonicalBytes());
  }

  @Test
  void sameClaimsGiveSameBytes() {
    CheckpointClaims copy = new CheckpointClaims("job-1", 3, "aa".repeat(32), "bb".repeat(32),
        new ArrayList<>(List.of("juelich-3", "cineca-3")));
    assertEquals(CLAIMS, copy);
    assertArrayEquals(CLAIMS.canonicalBytes(), copy.canonicalBytes());
  }

  @Test
  void changingAnySingleFieldChangesTheBytes() {
    Map<String, CheckpointClaims> changed = Map.of(
        "jobId", new CheckpointClaims("job-2", 3, "aa".repeat(32), "bb".repeat(32),
            CLAIMS.updateIds()),
        "round", new CheckpointClaims("job-1", 4, "aa".repeat(32), "bb".repeat(32),
            CLAIMS.updateIds()),
        "checkpointSha256", new CheckpointClaims("job-1", 3, "ac".repeat(32), "bb".repeat(32),
            CLAIMS.updateIds()),
        "parentSha256", new CheckpointClaims("job-1", 3, "aa".repeat(32), "",
            CLAIMS.updateIds()),
        "updateIds", new CheckpointClaims("job-1", 3, "aa".repeat(32), "bb".repeat(32),
            List.of("juelich-3")));
    assertEquals(CheckpointClaims.class.getRecordComponents().length, changed.size());
    for (Map.Entry<String, CheckpointClaims> entry : changed.entrySet()) {
      assertFalse(Arrays.equals(CLAIMS.canonicalBytes(), entry.getValue().canonicalBytes()),
          entry.getKey());
    }
  }

  @Test
  void updateOrderIsSigned() {
    CheckpointClaims reordered = new CheckpointClaims(
        "job-1", 3, "aa".repeat(32), "bb".repeat(32), List.of("cineca-3", "juelich-3"));
    assertFalse(Arrays.equals(CLAIMS.canonicalBytes(), reordered.canonicalBytes()));
  }

  @Test
  void updateIdBoundariesAreUnambiguous() {
    CheckpointClaims one = new CheckpointClaims("j", 1, "c", "", List.of("ab"));
    CheckpointClaims two = new CheckpointClaims("j", 1, "c", "", List.of("a", "b"));
    assertFalse(Arrays.equals(one.canonicalBytes(), two.canonicalBytes()));
  }

  @Test
  void rejectsNullsAndNegativeRound() {
    assertThrows(NullPointerException.class,
        () -> new CheckpointClaims(null, 0, "c", "", List.of()));
    assertThrows(NullPointerException.class,
        () -> new CheckpointClaims("j", 0, null, "", List.of()));
    assertThrows(NullPointerException.class,
        () -> new CheckpointClaims("j", 0, "c", null, List.of()));
    assertThrows(NullPointerException.class,
        () -> new CheckpointClaims("j", 0, "c", "", null));
    assertThrows(NullPointerException.class,
        () -> new CheckpointClaims("j", 0, "c", "", Arrays.asList("a", null)));
    assertThrows(IllegalArgumentException.class,
        () -> new CheckpointClaims("j", -1, "c", "", List.of()));
  }

  @Test
  void updateIdsAreCopied() {
    List<String> ids = new ArrayList<>(List.of("a"));
    CheckpointClaims claims = new CheckpointClaims("j", 0, "c", "", ids);
    ids.add("b");
    assertEquals(List.of("a"), claims.updateIds());
    assertThrows(UnsupportedOperationException.class, () -> claims.updateIds().add("c"));
  }

  private static void putString(ByteBuffer buffer, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    buffer.putInt(bytes.length).put(bytes);
  }
}
