package eu.hanse.coordinator;

/**
 * What the coordinator asks of each site's local training in a round.
 *
 * @param batchSize examples per local step
 * @param learningRate the inner (AdamW) learning rate
 * @param weightDecay AdamW's decoupled weight decay
 */
public record TrainerSettings(int batchSize, double learningRate, double weightDecay) {
  public TrainerSettings {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, was " + batchSize);
    }
    if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
      throw new IllegalArgumentException("learning rate must be positive, was " + learningRate);
    }
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      throw new IllegalArgumentException("weight decay must be zero or positive, was " + weightDecay);
    }
  }
}
