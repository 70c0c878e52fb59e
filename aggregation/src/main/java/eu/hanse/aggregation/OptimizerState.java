package eu.hanse.aggregation;

import eu.hanse.model.TensorSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The layout of an outer optimizer's saved state: each state array over the whole model, one
 * after another, as tensors of at most {@link #PIECE} elements ("velocity", or "velocity.0",
 * "velocity.1", ... for a model larger than that).
 */
public final class OptimizerState {
  /** The largest state tensor. */
  static final int PIECE = 1 << 30;

  private OptimizerState() {}

  /** The tensors a state file of this optimizer holds for a model of {@code elementCount} elements. */
  public static List<TensorSpec> layout(OuterOptimizer optimizer, long elementCount) {
    List<TensorSpec> specs = new ArrayList<>();
    long pieces = Math.max(1, (elementCount + PIECE - 1) / PIECE);
    for (String name : optimizer.stateNames()) {
      for (long p = 0; p < pieces; p++) {
        int size = (int) Math.min(PIECE, elementCount - p * PIECE);
        specs.add(TensorSpec.of(pieces == 1 ? name : name + "." + p, size));
      }
    }
    return specs;
  }

  /**
   * Throws IllegalArgumentException unless {@code specs} (a saved state's tensors) are this
   * optimizer's state for a model of {@code elementCount} elements.
   */
  public static void require(OuterOptimizer optimizer, long elementCount, List<TensorSpec> specs) {
    List<TensorSpec> expected = layout(optimizer, elementCount);
    if (!specs.equals(expected)) {
      throw new IllegalArgumentException(optimizer.describe() + " keeps " + (expected.isEmpty() ? "no state"
          : names(expected) + " over " + elementCount + " elements") + ", not " + names(specs) + " of "
          + specs.stream().mapToLong(TensorSpec::elementCount).sum() + " elements in all");
    }
  }

  private static List<String> names(List<TensorSpec> specs) {
    return specs.stream().map(TensorSpec::name).toList();
  }
}
