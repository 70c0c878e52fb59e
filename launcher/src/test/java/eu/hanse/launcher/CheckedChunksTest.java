package eu.hanse.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The checks the transport benchmark's checked baselines do, fed as the plain socket's receiver feeds them. */
class CheckedChunksTest {
  private static final int CHUNK = CheckedChunks.CHUNK;

  /**
   * Feeds {@code bytes} of {@code piece} repeated, the byte at {@code tamperedAt} flipped, through
   * the plain socket's gatherer in reads of 7919 bytes, as TLS records come; returns the checks' end.
   */
  private static CompletableFuture<Long> check(byte[] piece, long bytes, long tamperedAt) throws Exception {
    CompletableFuture<Long> done = new CompletableFuture<>();
    try (CheckedChunks checks = new CheckedChunks(bytes, piece, done)) {
      EmbeddedChannel channel = new EmbeddedChannel(new PlainTlsBaseline.ChunkGatherer(checks));
      for (long at = 0; at < bytes; at += 7919) {
        int length = (int) Math.min(7919, bytes - at);
        byte[] read = new byte[length];
        for (int i = 0; i < length; i++) {
          long position = at + i;
          read[i] = (byte) (piece[(int) (position % CHUNK)] ^ (position == tamperedAt ? 1 : 0));
        }
        channel.writeInbound(Unpooled.wrappedBuffer(read));
      }
      try {
        done.get(1, TimeUnit.MINUTES);
      } catch (ExecutionException failed) {
        // the caller looks at it
      }
      channel.finishAndReleaseAll();
    }
    return done;
  }

  @Test
  void chunksThatHashToWhatWasSentPassUpToTheLastPartOne() throws Exception {
    CompletableFuture<Long> done = check(CheckedChunks.piece(), 2L * CHUNK + 12345 * 4, -1);
    assertTrue(done.get() > 0);
  }

  @Test
  void aChangedByteFailsItsChunksHash() throws Exception {
    CompletableFuture<Long> done = check(CheckedChunks.piece(), 3L * CHUNK, CHUNK + 17);
    ExecutionException failure = assertThrows(ExecutionException.class, done::get);
    assertEquals("chunk 1 does not hash to what was sent", failure.getCause().getMessage());
  }

  @Test
  void aValueThatIsNotFiniteFailsItsChunk() throws Exception {
    byte[] piece = CheckedChunks.piece();
    ByteBuffer.wrap(piece).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 1000, Float.NaN);
    CompletableFuture<Long> done = check(piece, 2L * CHUNK, -1);
    ExecutionException failure = assertThrows(ExecutionException.class, done::get);
    assertEquals("chunk 0 holds a value that is not finite", failure.getCause().getMessage());
  }

  @Test
  void moreBytesThanWereSentFailTheChecks() throws Exception {
    CompletableFuture<Long> done = new CompletableFuture<>();
    try (CheckedChunks checks = new CheckedChunks(CHUNK + 8, done)) {
      EmbeddedChannel channel = new EmbeddedChannel(new PlainTlsBaseline.ChunkGatherer(checks));
      channel.writeInbound(Unpooled.wrappedBuffer(CheckedChunks.piece()));
      channel.writeInbound(Unpooled.wrappedBuffer(java.util.Arrays.copyOf(CheckedChunks.piece(), 16)));
      ExecutionException failure = assertThrows(ExecutionException.class, () -> done.get(1, TimeUnit.MINUTES));
      assertEquals("more than the 1048584 bytes sent arrived", failure.getCause().getMessage());
      channel.finishAndReleaseAll();
    }
  }

  @Test
  void aPieceOfAnotherSizeIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CheckedChunks(CHUNK, new byte[CHUNK - 1], new CompletableFuture<>()));
    assertEquals("the piece must be one chunk, 1048576 bytes, was 1048575", e.getMessage());
  }
}
