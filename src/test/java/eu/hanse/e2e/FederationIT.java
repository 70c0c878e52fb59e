package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.aggregation.ModelState;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.Safetensors;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.CoordinatorConfig;
import eu.hanse.coordinator.JobId;
import eu.hanse.coordinator.JobSpec;
import eu.hanse.coordinator.JobStatus;
import eu.hanse.coordinator.TrainerSettings;
import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator and three real site agents, each on its own synthetic language, over gRPC with
 * mutual TLS on 127.0.0.1: the federated model's held-out loss must fall round after round.
 */
class FederationIT {
  @TempDir Path dir;

  @Test
  void threeSitesTrainTogetherAndHeldOutLossFalls() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(dir.resolve("ca"), "e2e", false, Clock.systemUTC());
    TlsFiles coordinatorTls = ca.issue(NodeIdentity.coordinator("coordinator"), List.of("127.0.0.1"),
        Duration.ofDays(1), dir.resolve("coordinator/tls"));
    List<String> sites = List.of("jupiter", "leonardo", "marenostrum");
    for (String site : sites) {
      ca.issue(NodeIdentity.site(new SiteId(site)), List.of(), Duration.ofDays(1), dir.resolve(site + "/tls"));
    }
    CharModelConfig model = new CharModelConfig(97, 6, 16, 64);
    JobSpec spec = new JobSpec(new JobId("e2e"), 4, 40, 3, 3, Duration.ofMinutes(2),
        new TrainerSettings(32, 0.01, 0.0), OuterOptimizerSpec.diloco(), 5, JobSpec.DEFAULT_CHUNK_BYTES);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<Thread> threads = new ArrayList<>();
    List<SiteAgent> agents = new ArrayList<>();
    try (Coordinator coordinator = new Coordinator(
        new CoordinatorConfig(dir.resolve("coordinator"), "127.0.0.1", 0, coordinatorTls), spec,
        CharModel.initialize(model, 5), new PrintStream(progress, true)).start()) {
      for (String site : sites) {
        SiteAgent agent = new SiteAgent(new AgentConfig(dir.resolve(site), "127.0.0.1:" + coordinator.port(),
            TlsFiles.in(dir.resolve(site + "/tls")), 1, Optional.empty(), 30_000, 2048, true));
        agents.add(agent);
        threads.add(Thread.ofPlatform().name("agent-" + site).start(agent));
      }
      assertTrue(coordinator.awaitJob(Duration.ofMinutes(3)), "job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      assertEquals(4, status.roundsCompleted());
      List<Double> loss = status.heldOutLoss();
      assertEquals(5, loss.size(), "held-out loss before round 1 and after each round: " + loss);
      for (int r = 1; r < loss.size(); r++) {
        assertTrue(loss.get(r) < loss.get(r - 1), "held-out loss rose in round " + r + ": " + loss);
      }
      assertTrue(loss.get(4) < loss.get(0) - 1.0, "held-out loss fell too little: " + loss);
      status.rounds().forEach(round -> assertEquals(sites, round.acceptedSites()));
      assertTrue(status.mutualTls());

      ModelState last = Safetensors.read(Path.of(status.finalCheckpoint()));
      assertEquals(model, CharModel.configOf(last));
      assertEquals("4", last.metadata().get("hanse.round"));
      assertEquals(4L * last.elementCount() * 4 * 3, status.bytesUploaded(), "4 rounds of 3 fp32 updates");
      for (Thread thread : threads) {
        thread.join(Duration.ofSeconds(20));
        assertTrue(!thread.isAlive(), "agent did not stop after the job finished");
      }
      agents.forEach(agent -> assertEquals(4, agent.finished().getRoundsCompleted()));
    } finally {
      agents.forEach(SiteAgent::close);
    }
  }
}
