package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DigestsTest {
  @Test
  void fileHashMatchesTheKnownSha256OfItsBytes(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("abc");
    Files.writeString(file, "abc", StandardCharsets.US_ASCII);
    // FIPS 180-2's test vector for "abc".
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Digests.sha256Hex(file));
    assertEquals(Digests.sha256Hex(file), Digests.hex(Digests.sha256().digest("abc".getBytes(StandardCharsets.US_ASCII))));
  }

  @Test
  void largeFileIsHashedAcrossBufferBoundaries(@TempDir Path dir) throws Exception {
    byte[] bytes = new byte[(1 << 20) * 2 + 17];
    new java.util.Random(1).nextBytes(bytes);
    Path file = dir.resolve("big");
    Files.write(file, bytes);
    assertEquals(Digests.hex(Digests.sha256().digest(bytes)), Digests.sha256Hex(file));
  }
}
