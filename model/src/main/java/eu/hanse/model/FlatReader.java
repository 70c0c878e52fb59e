package eu.hanse.model;

/**
 * A model's values in flat order (all tensors concatenated in model order), read a block at a
 * time at any element offset: from memory, from a checkpoint file, or made up as they are read. A
 * model of any size passes through a fixed buffer this way, never whole.
 */
public interface FlatReader {
  /** Elements in all: the model's element count. */
  long length();

  /**
   * Reads elements {@code [offset, offset + count)} into {@code into[0, count)}. Safe to call from
   * several threads at once (a striped upload reads its runs so).
   */
  void read(long offset, float[] into, int count);

  /** Throws unless {@code [offset, offset + count)} lies within {@code length} elements. */
  static void requireRange(long offset, int count, long length) {
    if (offset < 0 || count < 0 || offset + count > length) {
      throw new IllegalArgumentException("elements [" + offset + ", " + (offset + count) + ") are outside a model of "
          + length + " elements");
    }
  }
}
