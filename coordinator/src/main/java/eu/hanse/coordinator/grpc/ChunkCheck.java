package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.round.OpenRound;
import eu.hanse.kernels.SumOfSquares;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ChunkCodecs;
import eu.hanse.model.UpdateCodec;
import eu.hanse.security.Digests;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.List;

/**
 * Checks chunks of one update as they arrive: each must hash to the value its signed header lists,
 * and decode, as the fold will decode it, to finite values. One per call, used by one thread at a
 * time; the calls of a striped upload each check their own chunks at once.
 */
final class ChunkCheck {
  private final OpenRound.Admission admission;
  private final List<byte[]> hashes;
  private final MessageDigest digest = Digests.sha256();
  /** Quantized codecs dequantize on one CPU thread of this call's own. */
  private final ChunkCodecs decoder;
  private final float[] decoded;
  /** Time spent checking, in nanoseconds. */
  private long nanos;

  ChunkCheck(OpenRound.Admission admission, List<byte[]> hashes) {
    this.admission = admission;
    this.hashes = hashes;
    this.decoder = new ChunkCodecs(admission.codec(), TensorBackend.cpu(1));
    this.decoded = new float[admission.chunkElements()];
  }

  /**
   * Checks chunk {@code c} (its size checked before); returns the sum of its decoded values'
   * squares, its part of the update's norm.
   */
  double check(int c, ByteBuffer data) {
    long started = System.nanoTime();
    digest.update(data.duplicate());
    if (!MessageDigest.isEqual(digest.digest(), hashes.get(c))) {
      throw new RefusedException(Refusal.CHUNK_HASH_MISMATCH, "chunk " + c
          + " does not hash to the value in the header (tampered or corrupted in transit)");
    }
    int count = admission.elements(c);
    double squares = admission.codec().kind() == UpdateCodec.Kind.FP32 && data.hasArray()
        ? fp32Squares(c, data, count) : decodedSquares(c, data, count);
    nanos += System.nanoTime() - started;
    return squares;
  }

  /** fp32 values are their own encoding: their squares are summed from the bytes, with no decoding. */
  private static double fp32Squares(int c, ByteBuffer data, int count) {
    int from = data.arrayOffset() + data.position();
    double squares = SumOfSquares.ofLittleEndianFloats(data.array(), from, count);
    if (!Double.isFinite(squares)) {
      int i = SumOfSquares.firstNonFinite(data.array(), from, count);
      throw new RefusedException(Refusal.NON_FINITE, "element " + i + " of chunk " + c + " is "
          + SumOfSquares.valueAt(data.array(), from, i));
    }
    return squares;
  }

  private double decodedSquares(int c, ByteBuffer data, int count) {
    try {
      decoder.decode(data.duplicate(), count, decoded);
    } catch (IllegalArgumentException e) {
      throw new RefusedException(Refusal.MALFORMED, "chunk " + c + ": " + e.getMessage());
    }
    double squares = 0;
    for (int i = 0; i < count; i++) {
      if (!Float.isFinite(decoded[i])) {
        throw new RefusedException(Refusal.NON_FINITE, "element " + i + " of chunk " + c + " is " + decoded[i]);
      }
      squares += (double) decoded[i] * decoded[i];
    }
    return squares;
  }

  OpenRound.Admission admission() {
    return admission;
  }

  long nanos() {
    return nanos;
  }
}
