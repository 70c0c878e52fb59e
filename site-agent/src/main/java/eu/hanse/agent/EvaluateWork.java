package eu.hanse.agent;

/** The coordinator asks for the site's held-out loss of a job's checkpoint. */
record EvaluateWork(String job, CheckpointAddress checkpoint) {}
