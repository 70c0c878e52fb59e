package eu.hanse.agent.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.model.TensorSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A site's own training code, run as a command once per round. The agent writes a round file
 * (JSON: the job, the round, the local steps or time budget, the seed, the hyper-parameters, and the
 * paths below) into a fresh work folder beside the global checkpoint's path, runs the command with
 * the round file's path as its last argument (and the paths in HANSE_* variables), and reads back
 * the trained checkpoint (safetensors, the global one's tensors and shapes) and a metrics file (JSON
 * with "samples" and "loss", and anything else). {@code docs/external-trainer.md} describes the
 * contract. Whatever goes wrong is a {@link Failure} with its reason; nothing is half-read.
 */
public final class ExternalTrainer {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The trainer's output kept in the round's folder, and quoted in a failure. */
  static final String LOG = "trainer.log";

  /** What a round asks of the trainer. {@code timeBudget} is null when it counts steps. */
  public record Round(String job, long round, int localSteps, Duration timeBudget, long seed, int batchSize,
      double learningRate, double weightDecay, double proximalMu) {}

  /**
   * What the trainer gave back: the trained model, the samples it saw and its mean loss; and what
   * its run cost ({@link TrainerLauncher.Usage}).
   */
  public record Outcome(ModelState model, long samples, double loss, TrainerLauncher.Usage usage,
      Map<String, Object> metrics) {}

  /** Why a round's training failed, as the agent reports it. */
  public enum Reason {
    /** The command could not be started (not found, not executable). */
    NOT_STARTED,
    /** It exited with a status other than 0. */
    EXITED,
    /** It ran past its time limit and was stopped. */
    TIMED_OUT,
    /** It wrote no trained checkpoint, or one that is not float32 safetensors. */
    MALFORMED_CHECKPOINT,
    /** The trained checkpoint's tensors are not the global one's names and shapes. */
    WRONG_SHAPE,
    /** The trained checkpoint holds a NaN or an infinity. */
    NON_FINITE,
    /** The metrics file is missing, not JSON, or lacks a positive "samples" or a finite "loss". */
    MALFORMED_METRICS,
    /** It was stopped because the coordinator no longer wanted the round (job cancelled, round closed). */
    CANCELLED
  }

  /** A failed round, with its reason and a message for the operator. */
  public static final class Failure extends RuntimeException {
    private final Reason reason;
    private final double deviceSeconds;

    public Failure(Reason reason, String message) {
      this(reason, message, 0);
    }

    /** A failure that still held devices for {@code deviceSeconds}, as a batch job's accounting says. */
    public Failure(Reason reason, String message, double deviceSeconds) {
      super(message);
      this.reason = reason;
      this.deviceSeconds = deviceSeconds;
    }

    public Reason reason() {
      return reason;
    }

    /** Device time the failed run took, counted against the site's budget like a good round's. */
    public double deviceSeconds() {
      return deviceSeconds;
    }
  }

  private final List<String> command;
  private final Path workDir;
  private final Duration timeout;
  private final TrainerLauncher launcher;

  /** A trainer run as a process on this machine. */
  public ExternalTrainer(List<String> command, Path workDir, Duration timeout) {
    this(command, workDir, timeout, new LocalProcess());
  }

  /**
   * @param command the trainer's command and its first arguments; the round file's path is added
   * @param workDir where each round gets a folder of its own; with a batch launcher, a folder the
   *     compute nodes see
   * @param timeout how long a round's training may take at most once it runs (with a time budget,
   *     the budget plus this)
   * @param launcher runs the command: here, or as a batch job
   */
  public ExternalTrainer(List<String> command, Path workDir, Duration timeout, TrainerLauncher launcher) {
    if (command.isEmpty() || command.get(0).isBlank()) {
      throw new IllegalArgumentException("the trainer command is empty");
    }
    this.command = List.copyOf(command);
    this.workDir = Objects.requireNonNull(workDir, "workDir");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.launcher = Objects.requireNonNull(launcher, "launcher");
  }

  /** Trains from the global checkpoint at {@code checkpoint}, whose parameters are {@code global}. */
  public Outcome train(Path checkpoint, ModelState global, Round round) {
    return train(checkpoint, global, round, new StopSignal(), phase -> {});
  }

  /**
   * Trains from the global checkpoint at {@code checkpoint}, whose parameters are {@code global},
   * until done or until {@code stop} is set; {@code phases} hears "queue" and "train".
   */
  public Outcome train(Path checkpoint, ModelState global, Round round, StopSignal stop,
      java.util.function.Consumer<String> phases) {
    Path folder = workDir.resolve(safe(round.job())).resolve("round-" + round.round());
    Path roundFile = folder.resolve("round.json");
    Path output = folder.resolve("trained.safetensors");
    Path metrics = folder.resolve("metrics.json");
    java.util.Optional<String> earlier = launcher.earlierRun(folder);
    try {
      // A batch job an earlier run of the agent left for this round is followed as it is, round
      // file and all, rather than submitted a second time.
      if (earlier.isEmpty()) {
        recreate(folder);
        Files.writeString(roundFile, roundJson(round, checkpoint.toAbsolutePath(), output.toAbsolutePath(),
            metrics.toAbsolutePath()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the trainer's folder " + folder + ": " + e.getMessage(), e);
    }
    List<String> invocation = new ArrayList<>(command);
    invocation.add(roundFile.toAbsolutePath().toString());
    Map<String, String> environment = Map.of("HANSE_ROUND_FILE", roundFile.toAbsolutePath().toString(),
        "HANSE_CHECKPOINT", checkpoint.toAbsolutePath().toString(), "HANSE_OUTPUT", output.toAbsolutePath().toString(),
        "HANSE_METRICS", metrics.toAbsolutePath().toString());
    TrainerLauncher.Usage usage = launcher.run(new TrainerLauncher.Run(invocation, folder, environment,
        folder.resolve(LOG), round.timeBudget() == null ? timeout : round.timeBudget().plus(timeout), stop, phases,
        earlier));
    try {
      ModelState trained = readTrained(output, global);
      Map<String, Object> reported = readMetrics(metrics);
      return new Outcome(trained, ((Number) reported.get("samples")).longValue(),
          ((Number) reported.get("loss")).doubleValue(), usage, reported);
    } catch (Failure e) {
      throw new Failure(e.reason(), e.getMessage(), usage.deviceSeconds());
    }
  }

  private static String safe(String name) {
    return name.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  private static void recreate(Path folder) throws IOException {
    if (Files.exists(folder)) {
      try (var walk = Files.walk(folder)) {
        for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(path);
        }
      }
    }
    Files.createDirectories(folder);
  }

  private static String roundJson(Round round, Path checkpoint, Path output, Path metrics) throws IOException {
    ObjectNode json = JSON.createObjectNode();
    json.put("job", round.job());
    json.put("round", round.round());
    if (round.timeBudget() == null) {
      json.put("localSteps", round.localSteps());
      json.putNull("timeBudgetSeconds");
    } else {
      json.putNull("localSteps");
      json.put("timeBudgetSeconds", round.timeBudget().toMillis() / 1e3);
    }
    json.put("seed", round.seed());
    json.put("batchSize", round.batchSize());
    json.put("learningRate", round.learningRate());
    json.put("weightDecay", round.weightDecay());
    json.put("proximalMu", round.proximalMu());
    json.put("checkpoint", checkpoint.toString());
    json.put("output", output.toString());
    json.put("metrics", metrics.toString());
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n";
  }

  /** The last lines the trainer wrote to {@code log}, for a failure's message. */
  public static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      List<String> last = lines.subList(Math.max(0, lines.size() - 5), lines.size());
      return last.isEmpty() ? "; it wrote nothing" : "; its last lines: " + String.join(" | ", last);
    } catch (IOException | java.io.UncheckedIOException e) {
      return "";
    }
  }

  private static ModelState readTrained(Path output, ModelState global) {
    if (!Files.isRegularFile(output)) {
      throw new Failure(Reason.MALFORMED_CHECKPOINT, "the trainer wrote no trained checkpoint at " + output);
    }
    ModelState trained;
    try {
      trained = Safetensors.read(output);
    } catch (RuntimeException e) {
      throw new Failure(Reason.MALFORMED_CHECKPOINT, "the trained checkpoint " + output + " is not float32 "
          + "safetensors: " + e.getMessage());
    }
    Map<String, TensorSpec> expected = new LinkedHashMap<>();
    global.specs().forEach(spec -> expected.put(spec.name(), spec));
    for (TensorSpec spec : trained.specs()) {
      TensorSpec wanted = expected.get(spec.name());
      if (wanted == null) {
        throw new Failure(Reason.WRONG_SHAPE, "the trained checkpoint has a tensor '" + spec.name()
            + "' the global one does not have");
      }
      if (!wanted.shape().equals(spec.shape())) {
        throw new Failure(Reason.WRONG_SHAPE, "tensor '" + spec.name() + "' is " + spec.shape() + " in the trained "
            + "checkpoint, " + wanted.shape() + " in the global one");
      }
    }
    if (trained.tensorCount() != global.tensorCount()) {
      List<String> missing = new ArrayList<>(expected.keySet());
      trained.specs().forEach(spec -> missing.remove(spec.name()));
      throw new Failure(Reason.WRONG_SHAPE, "the trained checkpoint lacks tensors " + missing);
    }
    ModelState ordered = new ModelState(global.specs(), global.specs().stream()
        .map(spec -> trained.data(spec.name())).toList(), global.metadata());
    for (TensorSpec spec : ordered.specs()) {
      float[] values = ordered.data(spec.name());
      for (int i = 0; i < values.length; i++) {
        if (!Float.isFinite(values[i])) {
          throw new Failure(Reason.NON_FINITE, "tensor '" + spec.name() + "' holds " + values[i] + " at element " + i);
        }
      }
    }
    return ordered;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> readMetrics(Path metrics) {
    JsonNode json;
    try {
      json = JSON.readTree(metrics.toFile());
    } catch (IOException e) {
      throw new Failure(Reason.MALFORMED_METRICS, Files.exists(metrics) ? "the metrics file " + metrics
          + " is not JSON: " + e.getMessage() : "the trainer wrote no metrics file at " + metrics);
    }
    if (json == null || !json.isObject()) {
      throw new Failure(Reason.MALFORMED_METRICS, "the metrics file " + metrics + " is not a JSON object");
    }
    JsonNode samples = json.get("samples");
    if (samples == null || !samples.canConvertToLong() || !samples.isIntegralNumber() || samples.asLong() < 1) {
      throw new Failure(Reason.MALFORMED_METRICS, "the metrics file needs \"samples\", a whole number of at least 1; "
          + "it has " + samples);
    }
    JsonNode loss = json.get("loss");
    if (loss == null || !loss.isNumber() || !Double.isFinite(loss.asDouble())) {
      throw new Failure(Reason.MALFORMED_METRICS, "the metrics file needs \"loss\", a finite number; it has " + loss);
    }
    return JSON.convertValue(json, Map.class);
  }
}
