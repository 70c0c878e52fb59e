package eu.hanse.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link SumOfSquares} with the Vector API; loaded only when the module is present, and used only
 * where the platform's byte order is little-endian, since the bytes are read as a vector of bytes
 * and taken as floats in that order.
 */
final class VectorSumOfSquares {
  private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  /** Doubles of the same width as the floats: each float vector widens into two of them. */
  private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;

  private VectorSumOfSquares() {}

  static double of(byte[] bytes, int from, int n) {
    DoubleVector low = DoubleVector.zero(DOUBLES);
    DoubleVector high = DoubleVector.zero(DOUBLES);
    int i = 0;
    for (int bound = FLOATS.loopBound(n); i < bound; i += FLOATS.length()) {
      FloatVector values = ByteVector.fromArray(BYTES, bytes, from + 4 * i).reinterpretAsFloats();
      DoubleVector first = (DoubleVector) values.convertShape(VectorOperators.F2D, DOUBLES, 0);
      DoubleVector second = (DoubleVector) values.convertShape(VectorOperators.F2D, DOUBLES, 1);
      low = low.add(first.mul(first));
      high = high.add(second.mul(second));
    }
    return low.add(high).reduceLanes(VectorOperators.ADD) + SumOfSquares.plain(bytes, from + 4 * i, n - i);
  }
}
