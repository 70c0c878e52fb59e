package eu.hanse.agent.trainer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * How a round's trainer command is run: as a process beside the agent ({@link LocalProcess}), or
 * as a batch job on the site's compute nodes ({@link eu.hanse.agent.slurm.SlurmLauncher}).
 */
public interface TrainerLauncher {
  /**
   * One round's run of the trainer.
   *
   * @param command the trainer's command line, the round file's path last
   * @param folder the round's folder: the command runs there, and its output goes to {@code log}
   * @param environment variables the command gets besides its usual ones
   * @param log where the trainer's output goes
   * @param limit how long the training itself may run
   * @param stop asked to stop, the run stops its command and fails with {@link ExternalTrainer.Reason#CANCELLED}
   * @param phases told "queue" while the run waits for resources, "train" once it trains
   */
  record Run(List<String> command, Path folder, Map<String, String> environment, Path log, Duration limit,
      StopSignal stop, Consumer<String> phases) {}

  /**
   * What a run cost.
   *
   * @param queueSeconds waiting for resources before the trainer started
   * @param trainSeconds the trainer's own run
   * @param deviceSeconds devices held times the seconds they were held (a run on the agent's own
   *     machine counts as one device)
   */
  record Usage(double queueSeconds, double trainSeconds, double deviceSeconds) {}

  /**
   * Runs the trainer to its end.
   *
   * @throws ExternalTrainer.Failure if it cannot start, fails, runs past its limit or is stopped
   */
  Usage run(Run run);

  /**
   * Whether a run an earlier agent started in this round's folder is still going (a batch job
   * queued or running), so that {@link #run} follows it instead of starting another; a process on
   * this machine ends with the agent that started it, so never.
   */
  default boolean holdsLiveRun(Path folder) {
    return false;
  }

  /** What the launcher is, for the agent's log: "a local process", "Slurm partition booster". */
  String describe();
}
