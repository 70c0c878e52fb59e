package eu.hanse.coordinator.job;

/**
 * What the coordinator asks of each site's local training in a round.
 *
 * @param batchSize examples per local step
 * @param learningRate the inner (AdamW) learning rate
 * @param weightDecay AdamW's decoupled weight decay
 * @param proximalMu FedProx's μ: the local loss gains μ/2·‖w − w_global‖², keeping each site near the
 *     round's global model; 0 is plain local training
 */
public record TrainerSettings(int batchSize, double learningRate, double weightDecay, double proximalMu) {
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
    if (!(proximalMu >= 0) || Double.isInfinite(proximalMu)) {
      throw new IllegalArgumentException("--fedprox-mu must be zero or positive, was " + proximalMu);
    }
  }

  /** Plain local training, without FedProx's proximal term. */
  public TrainerSettings(int batchSize, double learningRate, double weightDecay) {
    this(batchSize, learningRate, weightDecay, 0);
  }
}
