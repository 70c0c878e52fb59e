package eu.hanse.aggregation;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Checks an outer optimizer's saved state before it is taken back. */
final class OptimizerState {
  private OptimizerState() {}

  /**
   * A state is either empty (saved before the first step) or has exactly {@code names}, each of
   * {@code elementCount} elements.
   */
  static void require(Map<String, float[]> state, List<String> names, long elementCount, String optimizer) {
    if (state.isEmpty()) {
      return;
    }
    if (!state.keySet().equals(Set.copyOf(names))) {
      throw new IllegalArgumentException(optimizer + " keeps " + (names.isEmpty() ? "no state" : names)
          + ", not " + new TreeSet<>(state.keySet()));
    }
    for (Map.Entry<String, float[]> entry : state.entrySet()) {
      if (entry.getValue().length != elementCount) {
        throw new IllegalArgumentException(optimizer + " state '" + entry.getKey() + "' has "
            + entry.getValue().length + " elements; the model has " + elementCount);
      }
    }
  }
}
