package eu.hanse.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A model of any number of parameters with no architecture: tensors {@code layer.0000},
 * {@code layer.0001}, ... of at most {@link #TENSOR_ELEMENTS} elements, drawn from a seed. Sites
 * "train" it with a random update ({@link #update}); it exists to carry checkpoints and updates of
 * a foundation model's size through a real federation, on machines that could not train one.
 * Its checkpoints say {@code hanse.model: synthetic} in their metadata.
 */
public final class SyntheticModel {
  /** The metadata key and value that mark a synthetic model's checkpoints. */
  public static final String MODEL_KEY = "hanse.model";
  public static final String MODEL_NAME = "synthetic";
  /** The largest tensor: 256 Mi elements, 1 GiB. */
  public static final int TENSOR_ELEMENTS = 1 << 28;
  /** The most parameters: 2^40, four terabytes of float32. */
  public static final long MAX_PARAMETERS = 1L << 40;

  private SyntheticModel() {}

  /** The initial model of {@code parameters} elements, uniform in [-0.05, 0.05). */
  public static ModelSource create(long parameters, long seed) {
    requireParameters(parameters);
    List<TensorSpec> specs = new ArrayList<>();
    long tensors = (parameters + TENSOR_ELEMENTS - 1) / TENSOR_ELEMENTS;
    for (long t = 0; t < tensors; t++) {
      int size = (int) Math.min(TENSOR_ELEMENTS, parameters - t * TENSOR_ELEMENTS);
      specs.add(TensorSpec.of(String.format(java.util.Locale.ROOT, "layer.%04d", t), size));
    }
    return new ModelSource(specs, Map.of(MODEL_KEY, MODEL_NAME), new SyntheticValues(parameters, seed, 0.05));
  }

  /** Throws IllegalArgumentException unless {@code parameters} is in [1, 2^40]. */
  public static void requireParameters(long parameters) {
    if (parameters < 1 || parameters > MAX_PARAMETERS) {
      throw new IllegalArgumentException("a synthetic model has 1 to 2^40 parameters, not " + parameters);
    }
  }

  /** True if a checkpoint's metadata marks it as a synthetic model's. */
  public static boolean isSynthetic(Map<String, String> metadata) {
    return MODEL_NAME.equals(metadata.get(MODEL_KEY));
  }

  /** A site's "trained" update of a synthetic model: uniform in [-0.001, 0.001), drawn from the round's seed. */
  public static FlatReader update(long parameters, long seed) {
    return new SyntheticValues(parameters, seed, 0.001);
  }
}
