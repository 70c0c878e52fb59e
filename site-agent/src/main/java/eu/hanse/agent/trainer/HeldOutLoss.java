package eu.hanse.agent.trainer;

/**
 * A model's loss on held-out text.
 *
 * @param loss mean cross-entropy per predicted character, in nats
 * @param samples characters predicted
 */
public record HeldOutLoss(double loss, long samples) {}
