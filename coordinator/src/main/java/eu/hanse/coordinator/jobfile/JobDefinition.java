package eu.hanse.coordinator.jobfile;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.ModelShape;

/**
 * A job as a training lead wrote it: the job the coordinator runs, the model it starts from, and
 * the file's own text, kept so that what was submitted can always be shown again.
 */
public record JobDefinition(JobSpec spec, ModelShape model, String source) {}
