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

class PlainTlsBaselineTest {
  private static final int CHUNK = PlainTlsBaseline.CHUNK;

  /** Feeds {@code bytes} of {@code piece} repeated to a checker in reads of 7919 bytes, as TLS records come. */
  private static CompletableFuture<Long> check(byte[] piece, long bytes, long tamperedAt) throws Exception {
    CompletableFuture<Long> done = new CompletableFuture<>();
    try (PlainTlsBaseline.ChunkChecker checker = new PlainTlsBaseline.ChunkChecker(bytes, piece, done)) {
      EmbeddedChannel channel = new EmbeddedChannel(checker);
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
      } catch (ExecutionException expected) {
        // the caller looks at it
      }
      channel.finishAndReleaseAll();
    }
    return done;
  }

  @Test
  void chunksThatHashToWhatWasSentPassUpToTheLastPartOne() throws Exception {
    CompletableFuture<Long> done = check(PlainTlsBaseline.piece(), 2L * CHUNK + 12345 * 4, -1);
    assertTrue(done.get() > 0);
  }

  @Test
  void aChangedByteFailsItsChunksHash() throws Exception {
    CompletableFuture<Long> done = check(PlainTlsBaseline.piece(), 3L * CHUNK, CHUNK + 17);
    ExecutionException failure = assertThrows(ExecutionException.class, done::get);
    assertEquals("chunk 1 does not hash to what was sent", failure.getCause().getMessage());
  }

  @Test
  void aValueThatIsNotFiniteFailsItsChunk() throws Exception {
    byte[] piece = PlainTlsBaseline.piece();
    ByteBuffer.wrap(piece).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 1000, Float.NaN);
    CompletableFuture<Long> done = check(piece, 2L * CHUNK, -1);
    ExecutionException failure = assertThrows(ExecutionException.class, done::get);
    assertEquals("chunk 0 holds a value that is not finite", failure.getCause().getMessage());
  }
}
