package eu.hanse.agent.slurm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a site runs its trainer as a Slurm batch job: what its batch template is given, and where
 * the Slurm commands and the shared work folder are. {@code docs/slurm.md} describes each field.
 *
 * @param template the batch script's template; empty for {@link BatchScript#DEFAULT}
 * @param partition the partition to submit to; empty for the cluster's default (or where, as at
 *     some centres, the QoS chooses it)
 * @param account the account the job is charged to; empty for the user's default
 * @param nodes nodes per job
 * @param gpusPerNode GPUs per node; 0 for a job without GPUs
 * @param timeLimit Slurm's time limit for the job; the job is killed by Slurm after it
 * @param modules environment modules loaded before the trainer runs, in order
 * @param container a container image the trainer runs in; empty to run it on the node as it is
 * @param containerCommand what runs a command in the image, the image's path following it
 * @param sbatchOptions further {@code sbatch} options, one per line, e.g. {@code --qos=normal}
 * @param workDir where each round's folder goes: it must be seen by the compute nodes; empty for
 *     the agent's DATA-DIR/trainer-work
 * @param binDir where sbatch, squeue, sacct and scancel are; empty to find them on the PATH
 * @param pollInterval how often the job's state is asked for
 */
public record SlurmSettings(Optional<Path> template, Optional<String> partition, Optional<String> account, int nodes,
    int gpusPerNode, Duration timeLimit, List<String> modules, Optional<String> container, String containerCommand,
    List<String> sbatchOptions, Optional<Path> workDir, Optional<Path> binDir, Duration pollInterval) {
  public static final String DEFAULT_CONTAINER_COMMAND = "apptainer exec --nv";
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(15);

  public SlurmSettings {
    Objects.requireNonNull(template, "template");
    Objects.requireNonNull(partition, "partition");
    Objects.requireNonNull(account, "account");
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(workDir, "workDir");
    Objects.requireNonNull(binDir, "binDir");
    modules = List.copyOf(modules);
    sbatchOptions = List.copyOf(sbatchOptions);
    partition.filter(name -> !name.matches("[A-Za-z0-9_.-]+")).ifPresent(name -> {
      throw new IllegalArgumentException("a Slurm partition is a name of letters, digits, '.', '_' or '-', was '"
          + name + "'");
    });
    account.filter(name -> !name.matches("[A-Za-z0-9_.-]+")).ifPresent(name -> {
      throw new IllegalArgumentException("a Slurm account is a name of letters, digits, '.', '_' or '-', was '"
          + name + "'");
    });
    if (nodes < 1) {
      throw new IllegalArgumentException("nodes must be at least 1, was " + nodes);
    }
    if (gpusPerNode < 0) {
      throw new IllegalArgumentException("GPUs per node must be 0 or more, was " + gpusPerNode);
    }
    if (timeLimit.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new IllegalArgumentException("a Slurm time limit is at least a minute, was " + timeLimit);
    }
    for (String module : modules) {
      if (!module.matches("[A-Za-z0-9_.+/-]+")) {
        throw new IllegalArgumentException("a module is a name like 'PyTorch/2.1.2', was '" + module + "'");
      }
    }
    for (String option : sbatchOptions) {
      if (!option.matches("--[a-z-]+(=[^\\s'\"`$;|&<>]+)?")) {
        throw new IllegalArgumentException("an sbatch option is '--name' or '--name=value' without spaces or "
            + "shell characters, was '" + option + "'");
      }
    }
    if (containerCommand == null || containerCommand.isBlank()) {
      throw new IllegalArgumentException("the container command is empty");
    }
    workDir.ifPresent(dir -> requireScriptSafe(dir, "the work folder"));
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("the poll interval must be positive, was " + pollInterval);
    }
  }

  /**
   * Refuses a path a batch script cannot carry as it is: Slurm expands '%' in --output, and a
   * space splits an #SBATCH line.
   */
  public static void requireScriptSafe(Path path, String what) {
    if (!path.toString().matches("[^\\s%'\"`$\\\\]+")) {
      throw new IllegalArgumentException(what + " " + path + " holds a space, '%', a quote, '$' or '\\', which a "
          + "batch script cannot carry; choose a folder without them");
    }
  }

  /** Slurm's form of the time limit: {@code D-HH:MM:SS}, or {@code HH:MM:SS} under a day. */
  public String slurmTimeLimit() {
    long seconds = timeLimit.toSeconds();
    long days = seconds / 86_400;
    String clock = String.format(java.util.Locale.ROOT, "%02d:%02d:%02d", seconds % 86_400 / 3600,
        seconds % 3600 / 60, seconds % 60);
    return days > 0 ? days + "-" + clock : clock;
  }

  /** The path of a Slurm command, from {@link #binDir} or the PATH. */
  String command(String name) {
    return binDir.map(dir -> dir.resolve(name).toString()).orElse(name);
  }
}
