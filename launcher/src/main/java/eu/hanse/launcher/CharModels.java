package eu.hanse.launcher;

import eu.hanse.agent.data.Vocabulary;
import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.coordinator.job.ModelShape;
import eu.hanse.model.ModelState;

/** The coordinator's initial models: the built-in character model, in the shape a job names. */
public final class CharModels implements ModelFactory {
  @Override
  public void check(ModelShape shape) {
    config(shape);
  }

  @Override
  public ModelState create(ModelShape shape, long seed) {
    return CharModel.initialize(config(shape), seed);
  }

  static CharModelConfig config(ModelShape shape) {
    return new CharModelConfig(Vocabulary.SIZE, shape.context(), shape.embed(), shape.hidden());
  }
}
