package eu.hanse.model;

/** Receives a model's values in flat order, a block at a time, at any element offset. */
public interface FlatWriter {
  /** Writes {@code from[0, count)} as elements {@code [offset, offset + count)}. */
  void write(long offset, float[] from, int count);
}
