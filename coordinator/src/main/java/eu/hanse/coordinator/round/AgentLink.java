package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.security.SiteId;

/**
 * The coordinator's line to one connected site agent: the agent's open control stream.
 * Implemented by the transport; sends never block on the network for long (instructions are small).
 */
public interface AgentLink {
  SiteId site();

  /** The device the agent reported, for the operator. */
  String device();

  /** The certificate the agent connected with. */
  java.security.cert.X509Certificate certificate();

  /** Training examples the site holds, as it declared when it connected. */
  long trainSamples();

  /** When the coordinator last heard from the agent (its connection or a heartbeat), in nanoTime. */
  long lastHeardNanos();

  /**
   * The agent's heartbeat arrived, saying what it is doing, in which phase ("download", "train",
   * "upload", "evaluate", "idle") and how far it has come in it (0 to 1).
   */
  void heard(String activity, String phase, double progress);

  /** What the agent last said it was doing; empty before its first heartbeat. */
  String activity();

  /** The phase of its work the agent last reported; empty before its first heartbeat. */
  String phase();

  /** How far the agent said it had come in that phase, from 0 to 1. */
  double progress();

  void sendTrain(JobSpec job, long round, CheckpointRef base, long seed);

  void sendEvaluate(JobId job, CheckpointRef checkpoint);

  void sendFinished(JobId job, CheckpointRef last, long roundsCompleted);

  /** Ends the control stream, e.g. when the same site connected again. */
  void close();

  /** Ends the control stream with a refusal the agent is told, e.g. its certificate was revoked. */
  void refuse(Refusal reason, String message);
}
