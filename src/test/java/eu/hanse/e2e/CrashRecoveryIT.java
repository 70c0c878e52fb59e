package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.Attack;
import eu.hanse.agent.Enrolment;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.SiteCredentials;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.kernels.Device;
import eu.hanse.security.AuditLog;
import eu.hanse.security.SiteId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The coordinator, a real process, is killed with SIGKILL in the middle of round 2 (mid-upload,
 * mid-aggregation, and with the new checkpoint written but its round not yet recorded) and started
 * again on the same directory. The job must complete with no accepted update lost and none applied
 * twice, round numbers continuous, every checkpoint intact and chained to its parent, and the audit
 * trail whole. The agents are real clients in this JVM that ride out the outage.
 */
class CrashRecoveryIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo");
  private static final int ROUNDS = 4;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"upload@2", "aggregate@2", "checkpoint@2"})
  void aCoordinatorKilledMidRoundResumesTheJobLosingNothing(String point) throws Exception {
    Path coordinatorDir = dir.resolve("coordinator");
    TestFederation.createCa(coordinatorDir);
    int port = TestFederation.freePort();
    int enrolPort = TestFederation.freePort();
    Path jobFile = Files.writeString(dir.resolve("job.yaml"), TestFederation.twoSiteJob("crash", ROUNDS));
    List<String> coordinator = List.of("coordinator", "--data-dir", coordinatorDir.toString(), "--listen",
        "127.0.0.1:" + port, "--enrol-port", Integer.toString(enrolPort), "--console", "off", "--job-file",
        jobFile.toString(), "--exit-when-done");

    Process first = hanse(coordinator, Map.of("HANSE_TEST_PAUSE_AT", point), dir.resolve("first.log"));
    List<SiteAgent> agents = new ArrayList<>();
    try {
      TestFederation.awaitLine(first, dir.resolve("first.log"), "coordinator listening on");
      for (String site : SITES) {
        agents.add(startAgent(coordinatorDir, site, port, enrolPort));
      }
      TestFederation.awaitLine(first, dir.resolve("first.log"), "hanse: paused at " + point);
      Set<String> writtenBeforeTheKill = checkpointFiles(coordinatorDir);
      first.destroyForcibly();
      assertTrue(first.waitFor(10, TimeUnit.SECONDS));
      assertEquals(137, first.exitValue(), "killed by SIGKILL");

      Process second = hanse(coordinator, Map.of(), dir.resolve("second.log"));
      assertTrue(second.waitFor(3, TimeUnit.MINUTES), "the job did not finish after the restart: "
          + Files.readString(dir.resolve("second.log")));
      String log = Files.readString(dir.resolve("second.log"));
      assertEquals(0, second.exitValue(), log);
      assertTrue(log.contains("job crash resumes after round 1"), log);

      JobStatus status = JSON.readValue(coordinatorDir.resolve("jobs/crash/status.json").toFile(), JobStatus.class);
      assertEquals(JobStatus.FINISHED, status.state());
      TestFederation.assertLineage(status, ROUNDS, SITES);
      if (point.startsWith("checkpoint")) {
        assertTrue(writtenBeforeTheKill.contains(status.rounds().get(1).checkpoint() + ".safetensors"),
            "round 2, aggregated again from the same accepted updates, is bit for bit the checkpoint written before "
                + "the kill: " + writtenBeforeTheKill);
      }
      try (Consortium consortium = Consortium.open(coordinatorDir, Clock.systemUTC())) {
        var verification = AuditLog.verify(Consortium.auditFile(coordinatorDir), consortium.checkpointVerifyingKey());
        assertTrue(verification.ok(), "the audit trail is whole after the kill: " + verification);
      }
    } finally {
      agents.forEach(SiteAgent::close);
      first.destroyForcibly();
    }
  }

  private SiteAgent startAgent(Path coordinatorDir, String site, int port, int enrolPort) {
    String token;
    try (Consortium consortium = Consortium.open(coordinatorDir, Clock.systemUTC())) {
      token = consortium.invite(new SiteId(site), Duration.ofMinutes(5), "test");
    }
    Enrolment.enroll("127.0.0.1:" + enrolPort, token, dir.resolve(site));
    SiteAgent agent = new SiteAgent(new AgentConfig(dir.resolve(site), "127.0.0.1:" + port,
        new SiteCredentials(dir.resolve(site + "/tls")), Device.CPU, 1, Optional.empty(),
        TestFederation.SYNTHETIC_CHARACTERS, 2048, true, Attack.none()));
    Thread.ofPlatform().name("agent-" + site).start(agent);
    return agent;
  }

  private static Set<String> checkpointFiles(Path coordinatorDir) throws Exception {
    try (Stream<Path> files = Files.list(coordinatorDir.resolve("checkpoints"))) {
      return new HashSet<>(files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).toList());
    }
  }

  private static Process hanse(List<String> args, Map<String, String> environment, Path log) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(TestFederation.hanseCommand(args)).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(environment);
    return builder.start();
  }
}
