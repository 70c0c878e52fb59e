package eu.hanse.agent.trainer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
   * @param earlier a run an earlier agent left in this folder, to follow instead of starting
   *     another ({@link #earlierRun}); empty to start one
   */
  record Run(List<String> command, Path folder, Map<String, String> environment, Path log, Duration limit,
      StopSignal stop, Consumer<String> phases, Optional<String> earlier) {}

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
   * A run an earlier agent started in this round's folder that is worth following instead of
   * starting another: a batch job still queued or running, or one that completed. Empty when there
   * is none, and always for a process on this machine, which no later agent can follow.
   */
  default Optional<String> earlierRun(Path folder) {
    return Optional.empty();
  }

  /**
   * Whether a run goes on when the agent stops (a batch job does, for the agent to follow when it
   * starts again); one that does not is stopped with the agent.
   */
  default boolean outlivesAgent() {
    return false;
  }

  /** What the launcher is, for the agent's log: "a local process", "Slurm partition booster". */
  String describe();
}
