package eu.hanse.agent;

import eu.hanse.model.FlatReader;
import eu.hanse.model.UpdateCodec;

/**
 * What a round's training made, ready to be encoded, hashed, signed and sent: the difference
 * {@code delta} from the global checkpoint, with what the site declares of it and where its part
 * of the round's time went.
 *
 * @param residual receives what the codec drops from this update, for the next one (error
 *     feedback); null when nothing is kept
 */
record TrainedUpdate(TrainWork work, long samples, double trainLoss, int localSteps, double deviceSeconds,
    FlatReader delta, UpdateCodec codec, float[] residual, double downloadSeconds, double queueSeconds,
    double trainSeconds) {}
