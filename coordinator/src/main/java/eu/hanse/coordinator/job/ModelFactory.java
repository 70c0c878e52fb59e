package eu.hanse.coordinator.job;

import eu.hanse.model.ModelState;

/** Makes a job's initial model; the coordinator leaves what a model is to the trainers' side. */
public interface ModelFactory {
  /**
   * Checks a shape without building the model.
   *
   * @throws IllegalArgumentException saying what is out of range
   */
  void check(ModelShape shape);

  /** The initial model of that shape, drawn from {@code seed}. */
  ModelState create(ModelShape shape, long seed);
}
