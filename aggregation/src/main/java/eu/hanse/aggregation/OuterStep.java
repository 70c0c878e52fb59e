package eu.hanse.aggregation;

import eu.hanse.model.FlatReader;
import eu.hanse.model.FlatWriter;
import java.util.Arrays;

/**
 * Steps a whole model with an outer optimizer as the aggregate arrives block by block: each block
 * of the current model θ and of the optimizer's state is read, stepped against the aggregate's
 * block, and written out as the next model and state. Memory is a few blocks whatever the model's
 * size. The state is laid out as {@link OptimizerState#layout} says.
 */
public final class OuterStep implements BlockSink {
  private final OuterOptimizer optimizer;
  private final FlatReader theta;
  private final FlatReader state;
  private final FlatWriter nextTheta;
  private final FlatWriter nextState;
  private final long length;
  private float[] thetaBlock = new float[0];
  private float[][] stateBlocks;
  private long stepped;

  /**
   * @param theta the current model
   * @param state the optimizer's state after the last step, or null before the first
   * @param nextTheta receives the stepped model
   * @param nextState receives the new state; may be null for an optimizer without state
   */
  public OuterStep(OuterOptimizer optimizer, FlatReader theta, FlatReader state, FlatWriter nextTheta,
      FlatWriter nextState) {
    int states = optimizer.stateNames().size();
    if (state != null && state.length() != states * theta.length()) {
      throw new IllegalArgumentException(optimizer.describe() + " state of " + state.length() + " elements for a model of "
          + theta.length());
    }
    if (states > 0 && nextState == null) {
      throw new IllegalArgumentException(optimizer.describe() + " keeps state; give it somewhere to go");
    }
    this.optimizer = optimizer;
    this.theta = theta;
    this.state = state;
    this.nextTheta = nextTheta;
    this.nextState = nextState;
    this.length = theta.length();
    this.stateBlocks = new float[states][0];
  }

  @Override
  public void accept(long offset, float[] delta, int count) {
    if (thetaBlock.length < count) {
      thetaBlock = new float[count];
      for (int k = 0; k < stateBlocks.length; k++) {
        stateBlocks[k] = new float[count];
      }
    }
    theta.read(offset, thetaBlock, count);
    for (int k = 0; k < stateBlocks.length; k++) {
      if (state == null) {
        Arrays.fill(stateBlocks[k], 0, count, optimizer.initialState(k));
      } else {
        state.read(k * length + offset, stateBlocks[k], count);
      }
    }
    optimizer.step(thetaBlock, delta, stateBlocks, count);
    nextTheta.write(offset, thetaBlock, count);
    for (int k = 0; k < stateBlocks.length; k++) {
      nextState.write(k * length + offset, stateBlocks[k], count);
    }
    stepped += count;
  }

  /** Throws unless every element of the model was stepped: the aggregate was whole. */
  public void requireComplete() {
    if (stepped != length) {
      throw new IllegalStateException("the aggregate covered " + stepped + " of the model's " + length + " elements");
    }
  }
}
