package eu.hanse.kernels;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The sum of the squares of float32 values stored little-endian in a byte array, as an update's
 * chunks arrive: their part of the update's norm, and at the same time its check for non-finite
 * values, since the sum is finite exactly when every value is (a float's square cannot overflow a
 * double, nor can a sum of up to 2^31 of them). With the Vector API it reads the bytes in place
 * and keeps its sums in double lanes, several times faster than decoding into floats first; the
 * lanes add up in another order than one running sum, so the two may differ in the last bits.
 */
public final class SumOfSquares {
  private static final VarHandle FLOAT_LE =
      MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

  /** The Vector API is there, and takes bytes as floats in little-endian order. */
  private static final boolean VECTORS = Axpy.VECTOR_API && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  private SumOfSquares() {}

  /** The sum of {@code x * x}, in double, over the {@code n} floats at {@code bytes[from ...]}. */
  public static double ofLittleEndianFloats(byte[] bytes, int from, int n) {
    Objects.checkFromIndexSize(from, 4L * n, bytes.length);
    return VECTORS ? VectorSumOfSquares.of(bytes, from, n) : plain(bytes, from, n);
  }

  /**
   * The index of the first value among the {@code n} at {@code bytes[from ...]} that is NaN or
   * infinite, or -1 if every one is finite.
   */
  public static int firstNonFinite(byte[] bytes, int from, int n) {
    Objects.checkFromIndexSize(from, 4L * n, bytes.length);
    for (int i = 0; i < n; i++) {
      if (!Float.isFinite(valueAt(bytes, from, i))) {
        return i;
      }
    }
    return -1;
  }

  /** Value {@code i} of the floats at {@code bytes[from ...]}. */
  public static float valueAt(byte[] bytes, int from, int i) {
    return (float) FLOAT_LE.get(bytes, from + 4 * i);
  }

  static double plain(byte[] bytes, int from, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      double x = valueAt(bytes, from, i);
      sum += x * x;
    }
    return sum;
  }
}
