package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.TrainerCommand;
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
import eu.hanse.model.ModelState;
import eu.hanse.model.UpdateCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sites with their own trainers, real processes the agents run each round: jupiter trains with the
 * built-in model, leonardo with a script (Python, standard library only) that reads the checkpoint
 * and writes a trained one (its site declaring 5000 training examples), and marenostrum with one
 * that fails every round. The job finishes; each round takes leonardo's update and refuses
 * marenostrum's with TRAINING_FAILED and its reason, and marenostrum's agent stays up to the end.
 */
class ExternalTrainerIT {
  private static final Path SCRIPT = Path.of("../site-agent/src/test/resources/trainers/scripted_trainer.py")
      .toAbsolutePath().normalize();

  @TempDir Path dir;

  private static TrainerCommand script(String mode, long declaredSamples) {
    return new TrainerCommand(List.of("/usr/bin/python3", SCRIPT.toString(), mode), Duration.ofMinutes(2),
        declaredSamples);
  }

  /** The training examples each site declared, as the coordinator's console shows them to a viewer. */
  private static Map<String, Long> declaredExamples(TestFederation federation, Coordinator coordinator)
      throws Exception {
    java.net.http.HttpClient viewer = java.net.http.HttpClient.newBuilder().sslContext(
        eu.hanse.security.TlsContexts.forHttpsClient(eu.hanse.security.TlsFiles.in(
            federation.viewerCredential("vera")))).build();
    String body = viewer.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:"
        + coordinator.consolePort() + "/api/v1/sites")).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
        .body();
    Map<String, Long> declared = new java.util.TreeMap<>();
    new com.fasterxml.jackson.databind.ObjectMapper().readTree(body)
        .forEach(site -> declared.put(site.get("site").asText(), site.get("trainSamples").asLong()));
    return declared;
  }

  @Test
  void aRoundTakesTheUpdateOfASitesOwnTrainerAndCountsAFailedOneAsRefusedWithItsReason() throws Exception {
    assertTrue(Files.isRegularFile(SCRIPT), SCRIPT.toString());
    ModelState initial = CharModel.initialize(new CharModelConfig(97, 4, 8, 32), 5);
    // Two rounds; every site's answer is awaited (min-sites 2 of 3: marenostrum's failure must not block).
    JobSpec spec = new JobSpec(new JobId("own-trainers"), 2, 20, 2, 3, Duration.ofMinutes(2),
        new TrainerSettings(16, 0.01, 0.0), OuterOptimizerSpec.fedAvg(), 5, JobSpec.DEFAULT_CHUNK_BYTES,
        AggregatorSpec.mean(), PrivacySpec.none(), UpdateCodec.fp32());
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinatorWithConsole(null, Duration.ofSeconds(5))) {
      coordinator.submit(spec, eu.hanse.coordinator.jobfile.JobFileWriter.write(spec, null), initial, "test");
      federation.enrolAndStartAgents(coordinator, List.of("jupiter", "leonardo", "marenostrum"), Map.of(),
          Map.of("leonardo", script("halve", 5000), "marenostrum", script("exit", 0)), false);
      assertTrue(coordinator.awaitJob(Duration.ofMinutes(3)), "the job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      for (RoundRecord round : status.rounds()) {
        assertEquals(List.of("jupiter", "leonardo"), round.acceptedSites().stream().sorted().toList(),
            "round " + round.round());
        assertEquals(1, round.refusedSites().size());
        RoundRecord.RefusedSite refused = round.refusedSites().get(0);
        assertEquals("TRAINING_FAILED", refused.reason());
        assertTrue(refused.message().startsWith("EXITED: the trainer exited with status 3; its last lines: round "
            + round.round() + " of own-trainers mode exit | out of memory on the GPU"), refused.message());
      }
      Map<String, Long> declared = declaredExamples(federation, coordinator);
      assertEquals(5000L, declared.get("leonardo"), "leonardo declared its own trainer's examples");
      assertTrue(declared.get("jupiter") > 0 && declared.get("jupiter") != 5000L, declared.toString());
      String trail = Files.readString(eu.hanse.coordinator.consortium.Consortium.auditFile(dir.resolve("coordinator")));
      assertTrue(trail.contains("\"type\":\"training.failed\""), trail);
      assertTrue(Files.readString(dir.resolve("leonardo/trainer-work/own-trainers/round-2/trainer.log"))
          .contains("round 2 of own-trainers mode halve"));
    }
  }
}
