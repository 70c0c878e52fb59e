package eu.hanse.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of a model: float32 tensors in a fixed order, plus string metadata.
 *
 * <p>The order is part of the contract: an update is the concatenation of all tensors' elements in
 * this order. The tensor arrays are shared, not copied: a {@code ModelState} is mutable through
 * {@link #data(int)} and is not thread-safe.
 */
public final class ModelState {
  private final List<TensorSpec> specs;
  private final List<float[]> data;
  private final Map<String, String> metadata;

  public ModelState(List<TensorSpec> specs, List<float[]> data, Map<String, String> metadata) {
    if (specs.size() != data.size()) {
      throw new IllegalArgumentException(specs.size() + " tensor specs but " + data.size() + " arrays");
    }
    for (int i = 0; i < specs.size(); i++) {
      if (data.get(i).length != specs.get(i).elementCount()) {
        throw new IllegalArgumentException("tensor " + specs.get(i).name() + " has "
            + data.get(i).length + " values for shape " + specs.get(i).shape());
      }
      for (int j = 0; j < i; j++) {
        if (specs.get(j).name().equals(specs.get(i).name())) {
          throw new IllegalArgumentException("tensor name " + specs.get(i).name() + " appears twice");
        }
      }
    }
    this.specs = List.copyOf(specs);
    this.data = List.copyOf(data);
    this.metadata = Map.copyOf(metadata);
  }

  public List<TensorSpec> specs() {
    return specs;
  }

  public int tensorCount() {
    return specs.size();
  }

  public float[] data(int tensor) {
    return data.get(tensor);
  }

  /** The tensor with this name; IllegalArgumentException if there is none. */
  public float[] data(String name) {
    for (int i = 0; i < specs.size(); i++) {
      if (specs.get(i).name().equals(name)) {
        return data.get(i);
      }
    }
    throw new IllegalArgumentException("model has no tensor named " + name);
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** Total elements over all tensors: the length of an update. */
  public long elementCount() {
    long count = 0;
    for (TensorSpec spec : specs) {
      count += spec.elementCount();
    }
    return count;
  }

  /** True if the other state has the same tensor names and shapes in the same order. */
  public boolean sameLayout(ModelState other) {
    return specs.equals(other.specs);
  }

  /** A deep copy of the tensors, with the same metadata. */
  public ModelState copy() {
    List<float[]> copies = new ArrayList<>(data.size());
    for (float[] tensor : data) {
      copies.add(tensor.clone());
    }
    return new ModelState(specs, copies, metadata);
  }

  /** The same tensors (shared, not copied) with other metadata: for writing a checkpoint. */
  public ModelState withMetadata(Map<String, String> newMetadata) {
    return new ModelState(specs, data, new LinkedHashMap<>(newMetadata));
  }

  /** A state of the same layout whose every element is zero. */
  public static ModelState zerosLike(ModelState like) {
    List<float[]> zeros = new ArrayList<>();
    for (TensorSpec spec : like.specs) {
      zeros.add(new float[spec.elementCount()]);
    }
    return new ModelState(like.specs, zeros, Map.of());
  }
}
