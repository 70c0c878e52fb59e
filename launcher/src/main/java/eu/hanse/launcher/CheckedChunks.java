package eu.hanse.launcher;

import eu.hanse.kernels.SumOfSquares;
import eu.hanse.security.Digests;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The transport benchmark's stand-in for what the coordinator must do to every chunk of an update
 * and nothing more: on a thread of its own, in order, while the next chunks arrive, hash it with
 * SHA-256 against the hash of what was sent and check its float32 values finite. Chunks are read
 * into arrays it lends ({@link #take()}), one being filled and at most {@link #IN_FLIGHT} waiting
 * for their checks; a receiver that is further ahead waits, as the coordinator's calls do. The
 * bytes sent are {@link #piece()} over and over, one chunk each, the last one a part of it.
 */
final class CheckedChunks implements AutoCloseable {
  /** An update's chunk, as the bench's job sends them. */
  static final int CHUNK = 1 << 20;
  /** Chunks received but not yet checked, as the coordinator allows one call. */
  static final int IN_FLIGHT = 4;

  private final long bytes;
  private final CompletableFuture<Long> done;
  private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(IN_FLIGHT + 1);
  private final ExecutorService checking =
      Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("baseline-check").factory());
  private final MessageDigest digest = Digests.sha256();
  private final byte[] fullChunkHash;
  private final byte[] lastChunkHash;
  private long received;
  private long chunks;

  /** Checks of {@code bytes} bytes of {@link #piece()}; {@code done} gets the time the last chunk passes. */
  CheckedChunks(long bytes, CompletableFuture<Long> done) {
    this(bytes, piece(), done);
  }

  /** As above, for bytes that are {@code piece} (one chunk) over and over. */
  CheckedChunks(long bytes, byte[] piece, CompletableFuture<Long> done) {
    if (piece.length != CHUNK) {
      throw new IllegalArgumentException("the piece must be one chunk, " + CHUNK + " bytes, was " + piece.length);
    }
    this.bytes = bytes;
    this.done = done;
    for (int i = 0; i <= IN_FLIGHT; i++) {
      free.add(new byte[CHUNK]);
    }
    this.fullChunkHash = Digests.sha256().digest(piece);
    int last = (int) (bytes % CHUNK);
    this.lastChunkHash = last == 0 ? fullChunkHash : Digests.sha256().digest(Arrays.copyOf(piece, last));
  }

  /** What each chunk sent holds: float32 values, little-endian, as an update's. */
  static byte[] piece() {
    ByteBuffer values = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    SplittableRandom random = new SplittableRandom(CHUNK);
    while (values.hasRemaining()) {
      values.putFloat((float) random.nextGaussian() * 1e-3f);
    }
    return values.array();
  }

  /** Whether a chunk of {@code length} bytes, the next one, would be the last. */
  boolean completes(int length) {
    return received + length >= bytes;
  }

  /** The future that gets the time the last chunk passes, or why one failed. */
  CompletableFuture<Long> done() {
    return done;
  }

  /** An array of {@link #CHUNK} bytes to read the next chunk into; waits while {@link #IN_FLIGHT} wait for checks. */
  byte[] take() throws InterruptedException {
    return free.take();
  }

  /**
   * Queues the next chunk, the first {@code length} bytes of {@code data} (an array from
   * {@link #take()}, which goes back once the chunk is checked), for its check.
   */
  void submit(byte[] data, int length) {
    if (received + length > bytes) {
      free.add(data);
      throw new IllegalStateException("more than the " + bytes + " bytes sent arrived");
    }
    long index = chunks++;
    received += length;
    boolean last = received >= bytes;
    checking.execute(() -> {
      try {
        check(index, data, length, last);
        if (last) {
          done.complete(System.nanoTime());
        }
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      } finally {
        free.add(data);
      }
    });
  }

  private void check(long index, byte[] data, int length, boolean last) {
    digest.update(data, 0, length);
    if (!MessageDigest.isEqual(digest.digest(), last ? lastChunkHash : fullChunkHash)) {
      throw new IllegalStateException("chunk " + index + " does not hash to what was sent");
    }
    if (!Double.isFinite(SumOfSquares.ofLittleEndianFloats(data, 0, length / Float.BYTES))) {
      throw new IllegalStateException("chunk " + index + " holds a value that is not finite");
    }
  }

  @Override
  public void close() {
    checking.shutdownNow();
  }
}
