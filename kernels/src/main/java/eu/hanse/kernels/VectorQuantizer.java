package eu.hanse.kernels;

import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The int8 quantizer's inner loops written with the Vector API, which the JIT does not produce on
 * its own for blocks as short as quantization blocks are (64 elements is typical): the plain loops
 * spend most of their time in the scalar set-up and tail of each vectorized loop. Measured at
 * about twice the plain loops' speed on an AVX2 machine (see docs/benchmarks.md).
 *
 * <p>{@code jdk.incubator.vector} is an incubator module, present only when the JVM was started
 * with {@code --add-modules jdk.incubator.vector}. Callers check {@link Axpy#VECTOR_API} first and use
 * the plain loops otherwise; the results are identical either way, so this is purely a speed-up.
 */
final class VectorQuantizer {

  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final int MAGNITUDE = 0x7fffffff;
  private static final VectorSpecies<Byte> CODES =
      VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(FLOATS.length() * 8));
  private static final int LANES = FLOATS.length();

  private VectorQuantizer() {}

  /**
   * {@link TensorBackend#quantizeInt8} for blocks {@code [fromBlock, toBlock)}: one method, so that
   * the JIT sees (and keeps in registers) every vector of the loop.
   */
  static void quantizeInt8(
      float[] x, int n, int blockSize, int fromBlock, int toBlock, byte[] q, float[] scales) {
    for (int b = fromBlock; b < toBlock; b++) {
      int from = b * blockSize;
      int to = Math.min(n, from + blockSize);
      float scale = maxAbs(x, from, to) / 127f;
      scales[b] = scale;
      if (scale == 0f) {
        Arrays.fill(q, from, to, (byte) 0);
      } else {
        int8Codes(x, from, to, scale, CpuBackend.ROUNDING, q);
      }
    }
  }

  /**
   * The largest {@code |x[i]|} over {@code [from, to)}, for finite x: compared as the bits of |x|,
   * which order as the magnitudes do, because an integer max is one instruction where a float max
   * must also order NaN and -0.
   */
  static float maxAbs(float[] x, int from, int to) {
    IntVector largest = IntVector.zero(INTS);
    int i = from;
    for (; i + LANES <= to; i += LANES) {
      largest = largest.max(FloatVector.fromArray(FLOATS, x, i).reinterpretAsInts().and(MAGNITUDE));
    }
    float result = Float.intBitsToFloat(largest.reduceLanes(VectorOperators.MAX));
    for (; i < to; i++) {
      result = Math.max(result, Math.abs(x[i]));
    }
    return result;
  }

  /**
   * Writes {@code q[i] = rounded(x[i] / scale, 127)} over {@code [from, to)} for a nonzero scale,
   * with the rounding of {@link CpuBackend}: add and subtract {@code rounding}, clamped.
   */
  static void int8Codes(float[] x, int from, int to, float scale, float rounding, byte[] q) {
    int i = from;
    // A normal scale is max / 127 within half an ulp, so no quotient reaches 127.5 and the codes
    // need no clamp; a subnormal one is coarse, and its blocks take the clamped loop below.
    if (scale >= Float.MIN_NORMAL) {
      FloatVector divisor = FloatVector.broadcast(FLOATS, scale);
      // After adding 1.5 * 2^23 the float's bits are 0x4B400000 plus the rounded code, so the low
      // byte of those bits is the code itself: no subtraction and no float-to-int conversion.
      for (; i + LANES <= to; i += LANES) {
        IntVector bits =
            FloatVector.fromArray(FLOATS, x, i).div(divisor).add(rounding).reinterpretAsInts();
        ((ByteVector) bits.convertShape(VectorOperators.I2B, CODES, 0)).intoArray(q, i);
      }
    }
    for (; i < to; i++) {
      float nearest = x[i] / scale + rounding - rounding;
      q[i] = (byte) Math.min(127f, Math.max(-127f, nearest));
    }
  }
}
