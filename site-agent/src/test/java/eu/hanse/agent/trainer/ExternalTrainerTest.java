package eu.hanse.agent.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.model.TensorSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A site's own trainer as a real process (a Python script with the standard library only): the
 * round file and checkpoint it is given, what it gives back, and each way it can fail.
 */
class ExternalTrainerTest {
  private static final Path SCRIPT = Path.of("src/test/resources/trainers/scripted_trainer.py");

  @TempDir Path dir;
  private Path checkpoint;
  private ModelState global;

  @BeforeEach
  void writeGlobalCheckpoint() {
    float[] weights = {1, 2, 3, 4, 5, 6};
    float[] bias = {-8, 0.5f};
    global = new ModelState(List.of(TensorSpec.of("layer.weight", 2, 3), TensorSpec.of("layer.bias", 2)),
        List.of(weights, bias), Map.of());
    checkpoint = dir.resolve("global.safetensors");
    Safetensors.write(global, checkpoint);
  }

  private ExternalTrainer trainer(String mode, Duration timeout) {
    return new ExternalTrainer(List.of("/usr/bin/python3", SCRIPT.toAbsolutePath().toString(), mode),
        dir.resolve("work"), timeout);
  }

  private static ExternalTrainer.Round round(long number) {
    return new ExternalTrainer.Round("llm/7b", number, 100, null, 42, 32, 3e-4, 0.01, 0);
  }

  @Test
  void theTrainerGetsTheRoundAndTheCheckpointAndItsModelAndMetricsComeBack() throws Exception {
    ExternalTrainer.Outcome outcome = trainer("halve", Duration.ofMinutes(1)).train(checkpoint, global, round(7));
    assertEquals(List.of(0.5f, 1f, 1.5f, 2f, 2.5f, 3f), boxed(outcome.model().data("layer.weight")));
    assertEquals(List.of(-4f, 0.25f), boxed(outcome.model().data("layer.bias")));
    assertEquals(global.specs(), outcome.model().specs());
    assertEquals(4096, outcome.samples());
    assertEquals(1.25, outcome.loss());
    assertEquals(100, ((Number) outcome.metrics().get("steps")).intValue(), "the round file carried the steps");
    assertEquals(42, ((Number) outcome.metrics().get("seed")).intValue());
    assertTrue(outcome.usage().trainSeconds() > 0);
    assertEquals(0, outcome.usage().queueSeconds(), "a local process does not queue");

    Path folder = dir.resolve("work/llm_7b/round-7");
    JsonNode roundFile = new ObjectMapper().readTree(folder.resolve("round.json").toFile());
    assertEquals("llm/7b", roundFile.get("job").asText());
    assertEquals(7, roundFile.get("round").asLong());
    assertEquals(checkpoint.toAbsolutePath().toString(), roundFile.get("checkpoint").asText());
    assertEquals(3e-4, roundFile.get("learningRate").asDouble());
    assertTrue(roundFile.get("timeBudgetSeconds").isNull());
    assertTrue(Files.readString(folder.resolve(ExternalTrainer.LOG)).contains("round 7 of llm/7b mode halve"));
  }

  @Test
  void aTimeBudgetGoesInTheRoundFileInsteadOfSteps() throws Exception {
    ExternalTrainer.Round budgeted = new ExternalTrainer.Round("j", 1, 100, Duration.ofSeconds(90), 1, 8, 0.1, 0, 0);
    trainer("halve", Duration.ofMinutes(1)).train(checkpoint, global, budgeted);
    JsonNode roundFile = new ObjectMapper().readTree(dir.resolve("work/j/round-1/round.json").toFile());
    assertEquals(90.0, roundFile.get("timeBudgetSeconds").asDouble());
    assertTrue(roundFile.get("localSteps").isNull());
  }

  @Test
  void eachWayOfFailingIsReportedWithItsReason() {
    Map<String, ExternalTrainer.Reason> modes = Map.of(
        "exit", ExternalTrainer.Reason.EXITED,
        "wrong-shape", ExternalTrainer.Reason.WRONG_SHAPE,
        "nan", ExternalTrainer.Reason.NON_FINITE,
        "no-checkpoint", ExternalTrainer.Reason.MALFORMED_CHECKPOINT,
        "bad-metrics", ExternalTrainer.Reason.MALFORMED_METRICS);
    modes.forEach((mode, reason) -> {
      ExternalTrainer.Failure failure = assertThrows(ExternalTrainer.Failure.class,
          () -> trainer(mode, Duration.ofMinutes(1)).train(checkpoint, global, round(2)), mode);
      assertEquals(reason, failure.reason(), mode + ": " + failure.getMessage());
    });
    ExternalTrainer.Failure exited = assertThrows(ExternalTrainer.Failure.class,
        () -> trainer("exit", Duration.ofMinutes(1)).train(checkpoint, global, round(3)));
    assertEquals("the trainer exited with status 3; its last lines: round 3 of llm/7b mode exit | out of memory on "
        + "the GPU", exited.getMessage());
    ExternalTrainer.Failure shape = assertThrows(ExternalTrainer.Failure.class,
        () -> trainer("wrong-shape", Duration.ofMinutes(1)).train(checkpoint, global, round(4)));
    assertEquals("tensor 'layer.bias' is [3] in the trained checkpoint, [2] in the global one", shape.getMessage());
  }

  @Test
  void aTrainerPastItsLimitIsStoppedAndAMissingOneCannotStart() {
    long started = System.nanoTime();
    ExternalTrainer.Failure late = assertThrows(ExternalTrainer.Failure.class,
        () -> trainer("sleep", Duration.ofSeconds(2)).train(checkpoint, global, round(5)));
    assertEquals(ExternalTrainer.Reason.TIMED_OUT, late.reason());
    assertTrue(System.nanoTime() - started < Duration.ofSeconds(40).toNanos(), "stopped, not waited for");
    ExternalTrainer.Failure missing = assertThrows(ExternalTrainer.Failure.class,
        () -> new ExternalTrainer(List.of(dir.resolve("no-such-trainer").toString()), dir, Duration.ofMinutes(1))
            .train(checkpoint, global, round(6)));
    assertEquals(ExternalTrainer.Reason.NOT_STARTED, missing.reason());
  }

  private static List<Float> boxed(float[] values) {
    List<Float> list = new java.util.ArrayList<>();
    for (float value : values) {
      list.add(value);
    }
    return list;
  }

  @Test
  void aTrainerAskedToStopIsStoppedAndTheRoundFailsAsCancelled() throws Exception {
    StopSignal stop = new StopSignal();
    Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(500);
      } catch (InterruptedException ignored) {
        return;
      }
      stop.stop("job llm/7b was cancelled");
    });
    ExternalTrainer.Failure stopped = assertThrows(ExternalTrainer.Failure.class,
        () -> trainer("sleep", Duration.ofMinutes(1)).train(checkpoint, global, round(6), stop, phase -> {}));
    assertEquals(ExternalTrainer.Reason.CANCELLED, stopped.reason());
    assertEquals("the trainer was stopped: job llm/7b was cancelled", stopped.getMessage());
  }
}
