package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.TrainerCommand;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.UpdateCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A federation where jupiter trains with the built-in trainer and leonardo with the example PyTorch
 * trainer (examples/pytorch/train.py, Debian's python3-torch, /usr/bin/python3): both updates go into
 * every round, and the loss falls: the global model's held-out loss, and leonardo's own training loss.
 */
class PyTorchTrainerIT {
  private static final Path SCRIPT = Path.of("../examples/pytorch/train.py").toAbsolutePath().normalize();
  private static final int ROUNDS = 4;

  @TempDir Path dir;

  private static boolean torchInstalled() throws Exception {
    Process probe = new ProcessBuilder("/usr/bin/python3", "-c", "import torch").redirectErrorStream(true).start();
    probe.getInputStream().readAllBytes();
    return probe.waitFor(2, TimeUnit.MINUTES) && probe.exitValue() == 0;
  }

  @Test
  void aPyTorchSiteAndABuiltInSiteTrainOneModelAndItsLossFalls() throws Exception {
    Assumptions.assumeTrue(torchInstalled(),
        "python3-torch is not installed (.ci/run installs it): the PyTorch trainer was not run");
    Path corpus = Files.createDirectories(dir.resolve("leonardo-corpus"));
    Files.writeString(corpus.resolve("text.txt"), SyntheticLanguage.of("leonardo").text(40_000, 11));
    TrainerCommand pytorch = new TrainerCommand(List.of("/usr/bin/python3", SCRIPT.toString(), "--corpus",
        corpus.toString()), Duration.ofMinutes(5));
    JobSpec spec = new JobSpec(new JobId("torch"), ROUNDS, 60, 2, 2, Duration.ofMinutes(5),
        new TrainerSettings(32, 0.01, 0.0), OuterOptimizerSpec.fedAvg(), 5, JobSpec.DEFAULT_CHUNK_BYTES,
        AggregatorSpec.mean(), PrivacySpec.none(), UpdateCodec.fp32());
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(spec, CharModel.initialize(
            new CharModelConfig(97, 4, 8, 32), 5))) {
      federation.enrolAndStartAgents(coordinator, List.of("jupiter", "leonardo"), Map.of(),
          Map.of("leonardo", pytorch), true);
      assertTrue(coordinator.awaitJob(Duration.ofMinutes(5)), "the job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      for (RoundRecord round : status.rounds()) {
        assertEquals(List.of("jupiter", "leonardo"), round.acceptedSites().stream().sorted().toList(),
            "round " + round.round() + " refused " + round.refusedSites());
      }
      List<Double> heldOut = status.heldOutLoss();
      assertTrue(heldOut.getLast() < heldOut.getFirst() - 0.3, "global held-out loss " + heldOut);
      double first = status.rounds().getFirst().trainLoss().get("leonardo");
      double last = status.rounds().getLast().trainLoss().get("leonardo");
      assertTrue(last < first, "leonardo's PyTorch training loss went from " + first + " to " + last);
      String log = Files.readString(dir.resolve("leonardo/trainer-work/torch/round-" + ROUNDS + "/trainer.log"));
      assertTrue(log.contains("round " + ROUNDS + ": 60 steps, mean loss"), log);
    }
  }
}
