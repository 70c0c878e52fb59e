package eu.hanse.agent.trainer;

import eu.hanse.model.ModelState;

/**
 * The outcome of one round of local training.
 *
 * @param model the parameters after training
 * @param meanLoss mean training cross-entropy over the steps
 * @param steps optimizer steps taken
 * @param seconds wall time of the training
 */
public record TrainResult(ModelState model, double meanLoss, int steps, double seconds) {}
