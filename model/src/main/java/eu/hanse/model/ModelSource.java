package eu.hanse.model;

import java.util.List;
import java.util.Map;

/**
 * A model to be written as a checkpoint: its tensors, its metadata, and its values read in flat
 * order, so that a model of any size is written without being whole in memory.
 */
public record ModelSource(List<TensorSpec> specs, Map<String, String> metadata, FlatReader values) {
  public ModelSource {
    specs = List.copyOf(specs);
    metadata = Map.copyOf(metadata);
    long count = specs.stream().mapToLong(TensorSpec::elementCount).sum();
    if (values.length() != count) {
      throw new IllegalArgumentException(values.length() + " values for tensors of " + count + " elements");
    }
  }

  /** A model in memory. */
  public static ModelSource of(ModelState state) {
    return new ModelSource(state.specs(), state.metadata(), FlatArrays.of(state));
  }

  /** This model with other metadata. */
  public ModelSource withMetadata(Map<String, String> newMetadata) {
    return new ModelSource(specs, newMetadata, values);
  }
}
