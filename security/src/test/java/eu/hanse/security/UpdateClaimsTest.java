package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class UpdateClaimsTest {
  private static final byte[] NONCE = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f");
  private static final byte[] ROOT = sha256("root");
  private static final UpdateClaims CLAIMS = new UpdateClaims("job-1", 7, new SiteId("juelich"),
      "ab".repeat(32), "f32-delta", 1_000_000, 512, NONCE, ROOT);

  @Test
  void canonicalBytesFollowTheDocumentedLayout() {
    ByteBuffer expected = ByteBuffer.allocate(1024);
    expected.put("hanse.update.v1".getBytes(StandardCharsets.US_ASCII));
    putString(expected, "job-1");
    expected.putLong(7);
    putString(expected, "juelich");
    putString(expected, "ab".repeat(32));
    putString(expected, "f32-delta");
    expected.putLong(1_000_000);
    expected.putLong(512);
    expected.putInt(NONCE.length).put(NONCE);
    expected.putInt(32).put(ROOT);
    assertArrayEquals(Arrays.copyOf(expected.array(), expected.position()),
        CLAIMS.canonicalBytes());
  }

  @Test
  void sameClaimsGiveSameBytes() {
    UpdateClaims copy = new UpdateClaims("job-1", 7, new SiteId("juelich"), "ab".repeat(32),
        "f32-delta", 1_000_000, 512, NONCE.clone(), ROOT.clone());
    assertArrayEquals(CLAIMS.canonicalBytes(), copy.canonicalBytes());
    assertArrayEquals(CLAIMS.canonicalBytes(), CLAIMS.canonicalBytes());
    assertEquals(CLAIMS, copy);
    assertEquals(CLAIMS.hashCode(), copy.hashCode());
  }

  @Test
  void changingAnySingleFieldChangesTheBytes() {
    Map<String, UnaryOperator<Fields>> changes = Map.of(
        "jobId", f -> f.with(0, "job-2"),
        "round", f -> f.with(1, 8L),
        "site", f -> f.with(2, new SiteId("cineca")),
        "baseCheckpointSha256", f -> f.with(3, "cd".repeat(32)),
        "codec", f -> f.with(4, "f16-delta"),
        "elementCount", f -> f.with(5, 1_000_001L),
        "sampleCount", f -> f.with(6, 513L),
        "nonce", f -> f.with(7, flipLast(NONCE)),
        "chunkRoot", f -> f.with(8, flipLast(ROOT)));
    assertEquals(9, changes.size(), "one change per record component");
    assertEquals(9, UpdateClaims.class.getRecordComponents().length);
    for (Map.Entry<String, UnaryOperator<Fields>> change : changes.entrySet()) {
      UpdateClaims changed = change.getValue().apply(Fields.of(CLAIMS)).claims();
      assertFalse(Arrays.equals(CLAIMS.canonicalBytes(), changed.canonicalBytes()),
          change.getKey());
      assertNotEquals(CLAIMS, changed, change.getKey());
    }
  }

  @Test
  void movingBytesBetweenAdjacentStringsChangesTheEncoding() {
    // Without length prefixes "ab"+"c" and "a"+"bc" would encode alike.
    UpdateClaims a = new UpdateClaims("job", 1, new SiteId("s"), "ab", "c", 1, 1, NONCE, ROOT);
    UpdateClaims b = new UpdateClaims("job", 1, new SiteId("s"), "a", "bc", 1, 1, NONCE, ROOT);
    assertFalse(Arrays.equals(a.canonicalBytes(), b.canonicalBytes()));
  }

  @Test
  void arraysAreCopiedInAndOut() {
    byte[] nonce = NONCE.clone();
    UpdateClaims claims = new UpdateClaims("j", 0, new SiteId("s"), "", "c", 0, 0, nonce, ROOT);
    byte[] before = claims.canonicalBytes();
    nonce[0] ^= 1;
    claims.nonce()[0] ^= 1;
    claims.chunkRoot()[0] ^= 1;
    assertArrayEquals(before, claims.canonicalBytes());
  }

  @Test
  void rejectsNullsNegativesAndBadChunkRoot() {
    SiteId site = new SiteId("s");
    assertThrows(NullPointerException.class,
        () -> new UpdateClaims(null, 0, site, "", "c", 0, 0, NONCE, ROOT));
    assertThrows(NullPointerException.class,
        () -> new UpdateClaims("j", 0, null, "", "c", 0, 0, NONCE, ROOT));
    assertThrows(NullPointerException.class,
        () -> new UpdateClaims("j", 0, site, null, "c", 0, 0, NONCE, ROOT));
    assertThrows(NullPointerException.class,
        () -> new UpdateClaims("j", 0, site, "", null, 0, 0, NONCE, ROOT));
    assertThrows(NullPointerException.class,
        () -> new UpdateClaims("j", 0, site, "", "c", 0, 0, null, ROOT));
    assertThrows(NullPointerException.class,
        () -> new UpdateClaims("j", 0, site, "", "c", 0, 0, NONCE, null));
    assertThrows(IllegalArgumentException.class,
        () -> new UpdateClaims("j", -1, site, "", "c", 0, 0, NONCE, ROOT));
    assertThrows(IllegalArgumentException.class,
        () -> new UpdateClaims("j", 0, site, "", "c", -1, 0, NONCE, ROOT));
    assertThrows(IllegalArgumentException.class,
        () -> new UpdateClaims("j", 0, site, "", "c", 0, -1, NONCE, ROOT));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new UpdateClaims("j", 0, site, "", "c", 0, 0, NONCE, new byte[31]));
    assertTrue(e.getMessage().contains("32-byte"), e.getMessage());
  }

  @Test
  void toStringShowsArraysInHex() {
    String text = CLAIMS.toString();
    assertTrue(text.contains("nonce=000102030405060708090a0b0c0d0e0f"), text);
    assertTrue(text.contains("chunkRoot=" + HexFormat.of().formatHex(ROOT)), text);
  }

  @Test
  void chunkRootIsTaggedCountedHashOfTheChunkHashes() throws Exception {
    List<byte[]> hashes = List.of(sha256("a"), sha256("b"));
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    digest.update("hanse.chunks.v1".getBytes(StandardCharsets.US_ASCII));
    digest.update(new byte[] {0, 0, 0, 2});
    digest.update(hashes.get(0));
    digest.update(hashes.get(1));
    assertArrayEquals(digest.digest(), UpdateClaims.chunkRoot(hashes));
  }

  @Test
  void chunkRootDependsOnChunkOrder() {
    byte[] a = sha256("a");
    byte[] b = sha256("b");
    assertFalse(Arrays.equals(
        UpdateClaims.chunkRoot(List.of(a, b)), UpdateClaims.chunkRoot(List.of(b, a))));
  }

  @Test
  void chunkRootDependsOnEveryChunkAndTheirCount() {
    List<byte[]> hashes = new ArrayList<>(List.of(sha256("a"), sha256("b"), sha256("c")));
    byte[] root = UpdateClaims.chunkRoot(hashes);
    for (int i = 0; i < hashes.size(); i++) {
      List<byte[]> changed = new ArrayList<>(hashes);
      changed.set(i, flipLast(hashes.get(i)));
      assertFalse(Arrays.equals(root, UpdateClaims.chunkRoot(changed)), "chunk " + i);
    }
    assertFalse(Arrays.equals(root, UpdateClaims.chunkRoot(hashes.subList(0, 2))));
    assertArrayEquals(root, UpdateClaims.chunkRoot(List.copyOf(hashes)), "stable");
  }

  @Test
  void chunkRootRejectsHashesThatAreNot32Bytes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> UpdateClaims.chunkRoot(List.of(sha256("a"), new byte[64])));
    assertTrue(e.getMessage().contains("Chunk 1"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> UpdateClaims.chunkRoot(List.of(new byte[31])));
  }

  @Test
  void signedClaimsVerifyAndAlteredClaimsDoNot() {
    SigningKey key = SigningKey.generate();
    byte[] signature = key.sign(CLAIMS.canonicalBytes());
    assertTrue(Signatures.verify(key.publicKey(), CLAIMS.canonicalBytes(), signature));
    UpdateClaims inflated = Fields.of(CLAIMS).with(6, 10_000L).claims();
    assertFalse(Signatures.verify(key.publicKey(), inflated.canonicalBytes(), signature));
  }

  private static void putString(ByteBuffer buffer, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    buffer.putInt(bytes.length).put(bytes);
  }

  private static byte[] sha256(String text) {
    return Digests.sha256().digest(text.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] flipLast(byte[] bytes) {
    byte[] copy = bytes.clone();
    copy[copy.length - 1] ^= 1;
    return copy;
  }

  /** The record's components as an array, so a test can change exactly one. */
  private record Fields(Object[] values) {
    static Fields of(UpdateClaims c) {
      return new Fields(new Object[] {c.jobId(), c.round(), c.site(), c.baseCheckpointSha256(),
          c.codec(), c.elementCount(), c.sampleCount(), c.nonce(), c.chunkRoot()});
    }

    Fields with(int index, Object value) {
      Object[] copy = values.clone();
      copy[index] = value;
      return new Fields(copy);
    }

    UpdateClaims claims() {
      return new UpdateClaims((String) values[0], (Long) values[1], (SiteId) values[2],
          (String) values[3], (String) values[4], (Long) values[5], (Long) values[6],
          (byte[]) values[7], (byte[]) values[8]);
    }
  }
}
