package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.Attack;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.SiteCredentials;
import eu.hanse.coordinator.Consortium;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.JobStatus;
import eu.hanse.kernels.Device;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The link between the sites and the coordinator is cut in the middle of round 2's uploads (a TCP
 * proxy in the test closes every connection and refuses new ones), then restored. The agents
 * reconnect, ask the coordinator how much of their update it holds, and send the rest: the job
 * completes with every site in every round, and the audit trail shows the resumed uploads.
 */
class LinkCutIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo");

  @TempDir Path dir;

  @Test
  void uploadsCutOffMidwayResumeFromTheLastChunkHeld() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<SiteAgent> agents = new ArrayList<>();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), 0);
        FaultyLink link = new FaultyLink(coordinator.port())) {
      // Updates of 12,017 fp32 values (48 KB) in chunks of 4 KB: 12 chunks each.
      coordinator.submit(coordinator.jobFiles().parse("cut.yaml", """
          job: cut
          rounds: 3
          model:
            context: 4
            embed: 16
            hidden: 64
          local-work:
            steps: 10
          chunk-bytes: 4096
          quorum:
            min-sites: 2
          round:
            deadline: 2m
          """.getBytes(StandardCharsets.UTF_8)), "test");
      for (String site : SITES) {
        Path siteDir = federation.enrol(coordinator, site);
        SiteAgent agent = new SiteAgent(new AgentConfig(siteDir, "127.0.0.1:" + link.port(),
            new SiteCredentials(siteDir.resolve("tls")), Device.CPU, 1, Optional.empty(),
            TestFederation.SYNTHETIC_CHARACTERS, 2048, true, Attack.none()));
        agents.add(agent);
        Thread.ofPlatform().name("agent-" + site).start(agent);
      }
      await(coordinator, status -> status.roundsCompleted() >= 1, "round 1");
      link.cutAfter(50_000);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (!link.isDown() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(link.isDown(), "the link was never cut");
      Thread.sleep(2000);
      link.restore();

      JobStatus done = await(coordinator, status -> status.state().equals(JobStatus.FINISHED), "the job finished");
      for (var round : done.rounds()) {
        assertEquals(SITES, round.acceptedSites(), "round " + round.round());
      }
      String trail = Files.readString(Consortium.auditFile(dir.resolve("coordinator")));
      assertTrue(trail.contains("\"resumedAtChunk\""), "no upload was resumed: " + trail);
      assertEquals(1, link.cuts());
    } finally {
      agents.forEach(SiteAgent::close);
    }
  }

  private static JobStatus await(Coordinator coordinator, Predicate<JobStatus> condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    JobStatus status = coordinator.status("cut").orElseThrow();
    while (!condition.test(status) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      status = coordinator.status("cut").orElseThrow();
    }
    assertTrue(condition.test(status), "no " + what + " in two minutes: " + status);
    return status;
  }
}
