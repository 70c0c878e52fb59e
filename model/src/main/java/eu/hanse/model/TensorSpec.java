package eu.hanse.model;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The name and shape of one float32 tensor of a model.
 *
 * @param name unique within a model; letters, digits, '.', '_' and '-'
 * @param shape dimensions, outermost first; each at least 1
 */
public record TensorSpec(String name, List<Integer> shape) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,200}");

  public TensorSpec {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "tensor name '" + name + "' must be 1-200 letters, digits, '.', '_' or '-'");
    }
    shape = List.copyOf(shape);
    long count = 1;
    for (int dim : shape) {
      if (dim < 1) {
        throw new IllegalArgumentException("tensor " + name + " has a dimension " + dim + " < 1");
      }
      count *= dim;
      if (count > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("tensor " + name + " has more than 2^31 elements");
      }
    }
  }

  public static TensorSpec of(String name, int... shape) {
    return new TensorSpec(name, java.util.Arrays.stream(shape).boxed().toList());
  }

  /** Number of elements: the product of the shape. */
  public int elementCount() {
    int count = 1;
    for (int dim : shape) {
      count *= dim;
    }
    return count;
  }
}
