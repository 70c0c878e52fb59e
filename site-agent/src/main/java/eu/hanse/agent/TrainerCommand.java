package eu.hanse.agent;

import eu.hanse.agent.slurm.SlurmSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A site's own trainer: the command the agent runs each round instead of the built-in trainer
 * (see {@link eu.hanse.agent.trainer.ExternalTrainer}), how long a round's training may take, how
 * many training examples the site holds, which the agent declares to the coordinator when it
 * connects, for operators to see (0 declares the built-in corpus's count), and, when the training
 * runs as a Slurm batch job, how.
 */
public record TrainerCommand(List<String> command, Duration timeout, long samples, Optional<SlurmSettings> slurm) {
  /** A trainer whose site declares the built-in corpus's count of examples. */
  public TrainerCommand(List<String> command, Duration timeout) {
    this(command, timeout, 0);
  }

  /** A trainer run as a process beside the agent. */
  public TrainerCommand(List<String> command, Duration timeout, long samples) {
    this(command, timeout, samples, Optional.empty());
  }

  public TrainerCommand {
    Objects.requireNonNull(slurm, "slurm");
    if (samples < 0) {
      throw new IllegalArgumentException("the trainer's example count must be positive, or 0 for the built-in "
          + "corpus's, was " + samples);
    }
    command = List.copyOf(command);
    if (command.isEmpty() || command.get(0).isBlank()) {
      throw new IllegalArgumentException("the trainer command is empty");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("the trainer's time limit must be positive, was " + timeout);
    }
  }

  /**
   * Where each round gets a folder of its own: the Slurm settings' work folder, else
   * DATA-DIR/trainer-work.
   */
  public Path workDir(Path dataDir) {
    return slurm.flatMap(SlurmSettings::workDir).orElse(dataDir.resolve("trainer-work"));
  }

  /**
   * A command line split into words as a shell would split a simple one: on spaces, with single or
   * double quotes around words that hold spaces. No variables, globs or escapes.
   *
   * @throws IllegalArgumentException if a quote is not closed
   */
  public static List<String> words(String line) {
    List<String> words = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    boolean inWord = false;
    char quote = 0;
    for (char c : line.toCharArray()) {
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else {
          word.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        inWord = true;
      } else if (Character.isWhitespace(c)) {
        if (inWord) {
          words.add(word.toString());
          word.setLength(0);
          inWord = false;
        }
      } else {
        word.append(c);
        inWord = true;
      }
    }
    if (quote != 0) {
      throw new IllegalArgumentException("unclosed " + quote + " in the trainer command: " + line);
    }
    if (inWord) {
      words.add(word.toString());
    }
    return words;
  }
}
