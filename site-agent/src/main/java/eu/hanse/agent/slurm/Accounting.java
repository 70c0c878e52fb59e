package eu.hanse.agent.slurm;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.Set;

/**
 * One batch job's line from {@code sacct -X -n -P --format=State,ExitCode,Submit,Start,End,ElapsedRaw,AllocTRES,NNodes}:
 * how it ended, how long it queued and how many device-seconds it held.
 *
 * @param state Slurm's job state, e.g. COMPLETED, FAILED, CANCELLED, TIMEOUT (without "by UID")
 * @param exitCode "status:signal"
 * @param queueSeconds from submission to start; up to the end for a job that never started
 * @param elapsedSeconds how long it ran
 * @param gpus GPUs allocated, over all its nodes
 * @param nodes nodes allocated
 */
record Accounting(String state, String exitCode, double queueSeconds, long elapsedSeconds, int gpus, int nodes) {
  /** The states a job ends in. */
  private static final Set<String> FINAL_STATES = Set.of("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
      "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED");

  static final String FORMAT = "State,ExitCode,Submit,Start,End,ElapsedRaw,AllocTRES,NNodes";
  /** The state of a job the cluster's accounting said nothing of, counted from what the agent saw. */
  static final String UNACCOUNTED = "UNACCOUNTED";

  boolean ended() {
    return FINAL_STATES.contains(state);
  }

  /**
   * Whether a job in this squeue state still goes on, or may: listed and not in a final state
   * (a state Slurm cannot tell now counts as going on).
   */
  static boolean live(String squeueState) {
    return !squeueState.isEmpty() && !FINAL_STATES.contains(squeueState);
  }

  /** What the job counts against the site's budget: its GPUs (or, without GPUs, its nodes) times its run. */
  double deviceSeconds() {
    return (double) (gpus > 0 ? gpus : nodes) * elapsedSeconds;
  }

  /** The job's line from sacct's parsable output; empty when the output holds none. */
  static Optional<Accounting> parse(String output) {
    for (String line : output.split("\n")) {
      String[] fields = line.strip().split("\\|", -1);
      if (fields.length < 8 || fields[0].isBlank()) {
        continue;
      }
      String state = fields[0].split(" ")[0].replace("+", "");
      Optional<LocalDateTime> submit = time(fields[2]);
      Optional<LocalDateTime> start = time(fields[3]);
      Optional<LocalDateTime> end = time(fields[4]);
      double queue = submit.flatMap(s -> start.or(() -> end).map(until -> seconds(s, until))).orElse(0.0);
      long elapsed = fields[5].matches("\\d+") ? Long.parseLong(fields[5]) : 0;
      int nodes = fields[7].matches("\\d+") ? Integer.parseInt(fields[7]) : 1;
      return Optional.of(new Accounting(state, fields[1], queue, elapsed, gpus(fields[6]), nodes));
    }
    return Optional.empty();
  }

  /** GPUs in an AllocTRES list: "gres/gpu=N", or the sum of "gres/gpu:TYPE=N" when only typed counts are given. */
  static int gpus(String tres) {
    int typed = 0;
    for (String entry : tres.split(",")) {
      String[] pair = entry.split("=", 2);
      if (pair.length != 2 || !pair[1].matches("\\d+")) {
        continue;
      }
      if (pair[0].equals("gres/gpu")) {
        return Integer.parseInt(pair[1]);
      }
      if (pair[0].startsWith("gres/gpu:")) {
        typed += Integer.parseInt(pair[1]);
      }
    }
    return typed;
  }

  private static Optional<LocalDateTime> time(String text) {
    try {
      return Optional.of(LocalDateTime.parse(text));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private static double seconds(LocalDateTime from, LocalDateTime to) {
    return Math.max(0, Duration.between(from, to).toMillis() / 1e3);
  }
}
