package eu.hanse.aggregation;

/**
 * Takes an aggregate block by block, in element order, so that neither the aggregate nor the model
 * it steps is ever whole in memory.
 */
@FunctionalInterface
public interface BlockSink {
  /**
   * Takes elements {@code [offset, offset + length)} of the aggregate, in {@code values[0, length)};
   * the array is the caller's again once this returns, and may be changed by the sink.
   */
  void accept(long offset, float[] values, int length);
}
