package eu.hanse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** {@link Axpy} with the Vector API; loaded only when the module is present ({@link Axpy#VECTOR_API}). */
final class VectorAxpy {
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

  private VectorAxpy() {}

  static void apply(float w, float[] x, int xFrom, float[] y, int yFrom, int n) {
    FloatVector weight = FloatVector.broadcast(FLOATS, w);
    int i = 0;
    for (int bound = FLOATS.loopBound(n); i < bound; i += FLOATS.length()) {
      // Multiply, then add: no fused multiply-add, so each lane rounds as the plain loop does.
      FloatVector.fromArray(FLOATS, x, xFrom + i).mul(weight)
          .add(FloatVector.fromArray(FLOATS, y, yFrom + i))
          .intoArray(y, yFrom + i);
    }
    Axpy.plain(w, x, xFrom + i, y, yFrom + i, n - i);
  }
}
