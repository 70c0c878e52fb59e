package eu.hanse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link HashedUniform} with the Vector API; loaded only when the module is present. */
final class VectorHashedUniform {
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

  private VectorHashedUniform() {}

  static void fill(int key, int low, float[] into, int from, int count, float unit, float scale) {
    IntVector lanes = IntVector.zero(INTS).addIndex(1);
    int i = 0;
    for (int bound = INTS.loopBound(count); i < bound; i += INTS.length()) {
      IntVector h = lanes.add(low + i).mul(HashedUniform.GOLDEN).add(key);
      h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16)).mul(0x85EBCA6B);
      h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 13)).mul(0xC2B2AE35);
      h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16));
      // Multiply, then subtract, as the plain loop: no fused multiply-add.
      ((FloatVector) h.lanewise(VectorOperators.LSHR, 8).convertShape(VectorOperators.I2F, FLOATS, 0))
          .mul(unit).sub(scale).intoArray(into, from + i);
    }
    HashedUniform.plain(key, low + i, into, from + i, count - i, unit, scale);
  }
}
