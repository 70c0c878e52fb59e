package eu.hanse.kernels;

import java.util.Objects;

/**
 * The argument checks of {@link TensorBackend}, shared by every backend so that they refuse the
 * same calls with the same messages, and before writing anything.
 */
final class Checks {
  private Checks() {}

  static void nonNegative(int value, String what) {
    if (value < 0) {
      throw new IllegalArgumentException(what + " must not be negative, got " + value);
    }
  }

  static void positive(int value, String what) {
    if (value < 1) {
      throw new IllegalArgumentException(what + " must be positive, got " + value);
    }
  }

  static void requireLength(byte[] array, long needed, String what) {
    Objects.requireNonNull(array, what);
    if (array.length < needed) {
      throw new IllegalArgumentException(
          what + " holds " + array.length + " bytes, needs " + needed);
    }
  }

  static void requireLength(float[] array, long needed, String what) {
    Objects.requireNonNull(array, what);
    if (array.length < needed) {
      throw new IllegalArgumentException(
          what + " holds " + array.length + " elements, needs " + needed);
    }
  }

  static void requireLength(int[] array, long needed, String what) {
    Objects.requireNonNull(array, what);
    if (array.length < needed) {
      throw new IllegalArgumentException(
          what + " holds " + array.length + " elements, needs " + needed);
    }
  }

  /** n is not negative and x holds at least n elements. */
  static void vector(int n, float[] x, String name) {
    nonNegative(n, "n");
    requireLength(x, n, name);
  }

  /** n is not negative and both arrays hold at least n elements. */
  static void vectors(int n, float[] first, String firstName, float[] second, String secondName) {
    vector(n, first, firstName);
    requireLength(second, n, secondName);
  }

  /** The sizes of {@code C = op(A) * op(B)} and the arrays that hold them. */
  static void matmul(float[] a, float[] b, float[] c, int m, int n, int k) {
    nonNegative(m, "m");
    nonNegative(n, "n");
    nonNegative(k, "k");
    requireLength(a, (long) m * k, "a");
    requireLength(b, (long) k * n, "b");
    requireLength(c, (long) m * n, "c");
  }

  /** A {@code rows x cols} matrix x and a length-cols vector named vectorName. */
  static void matrixAndRow(float[] x, int rows, int cols, float[] vector, String vectorName) {
    nonNegative(rows, "rows");
    nonNegative(cols, "cols");
    requireLength(x, (long) rows * cols, "x");
    requireLength(vector, cols, vectorName);
  }

  /** Logits, one target in {@code [0, classes)} per row, and grad when non-null. */
  static void softmaxCrossEntropy(
      float[] logits, int[] targets, int rows, int classes, float[] grad) {
    nonNegative(rows, "rows");
    nonNegative(classes, "classes");
    requireLength(logits, (long) rows * classes, "logits");
    requireLength(targets, rows, "targets");
    if (grad != null) {
      requireLength(grad, (long) rows * classes, "grad");
    }
    for (int r = 0; r < rows; r++) {
      if (targets[r] < 0 || targets[r] >= classes) {
        throw new IllegalArgumentException(
            "target " + targets[r] + " of row " + r + " is outside [0, " + classes + ")");
      }
    }
  }

  /** Every index selects a whole row of the table with {@code dim} columns. */
  static void requireIndices(int[] indices, int count, float[] table, int dim, String what) {
    nonNegative(dim, "dim");
    nonNegative(count, "count");
    Objects.requireNonNull(indices, "indices");
    Objects.requireNonNull(table, what);
    if (indices.length < count) {
      throw new IllegalArgumentException(
          "indices holds " + indices.length + " elements, needs " + count);
    }
    long rows = dim == 0 ? Long.MAX_VALUE : table.length / dim;
    for (int i = 0; i < count; i++) {
      if (indices[i] < 0 || indices[i] >= rows) {
        throw new IndexOutOfBoundsException(
            "index " + indices[i] + " at " + i + " is outside the " + rows + " rows of " + what);
      }
    }
  }

  static void step(long step) {
    if (step < 1) {
      throw new IllegalArgumentException("step counts from 1, got " + step);
    }
  }

  static void maxNorm(double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("maxNorm must be positive, got " + maxNorm);
    }
  }

  /**
   * A quantizer's n and block size: n >= 0, a positive block size, even when two codes share a
   * byte ({@code even}).
   *
   * @return the number of blocks, {@code ceil(n / blockSize)}
   */
  static int blocks(int n, int blockSize, boolean even) {
    nonNegative(n, "n");
    if (even) {
      if (blockSize < 2 || blockSize % 2 != 0) {
        throw new IllegalArgumentException(
            "blockSize must be positive and even, so no byte holds two blocks; got " + blockSize);
      }
    } else {
      positive(blockSize, "blockSize");
    }
    return (int) (((long) n + blockSize - 1) / blockSize);
  }

  /** topK's sizes; returns {@code min(k, n)}, how many indices it writes. */
  static int topK(float[] x, int n, int k, int[] indices) {
    nonNegative(n, "n");
    nonNegative(k, "k");
    requireLength(x, n, "x");
    int m = Math.min(k, n);
    requireLength(indices, m, "indices");
    return m;
  }

  /** At least count non-null inputs of n elements, count >= 1, and an output of n. */
  static void acrossInputs(float[][] inputs, int count, int n, float[] out) {
    Objects.requireNonNull(inputs, "inputs");
    positive(count, "count");
    nonNegative(n, "n");
    if (inputs.length < count) {
      throw new IllegalArgumentException(
          "inputs holds " + inputs.length + " arrays, needs " + count);
    }
    for (int j = 0; j < count; j++) {
      if (inputs[j] == null) {
        throw new IllegalArgumentException("inputs[" + j + "] is null");
      }
      requireLength(inputs[j], n, "inputs[" + j + "]");
    }
    requireLength(out, n, "out");
  }

  static void trim(int trim, int count) {
    nonNegative(trim, "trim");
    if (2L * trim >= count) {
      throw new IllegalArgumentException(
          "trimming " + trim + " from each end of " + count + " values leaves none");
    }
  }
}
