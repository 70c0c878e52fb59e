package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.Attack;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.SiteCredentials;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.kernels.Device;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
        FaultyLink link = new FaultyLink(coordinator.port(), 128 * 1024)) {
      coordinator.submit(coordinator.jobFiles().parse("cut.yaml",
          TestFederation.twoSiteJob("cut", 3).getBytes(StandardCharsets.UTF_8)), "test");
      for (String site : SITES) {
        Path siteDir = federation.enrol(coordinator, site);
        SiteAgent agent = new SiteAgent(new AgentConfig(siteDir, "127.0.0.1:" + link.port(),
            new SiteCredentials(siteDir.resolve("tls")), Device.CPU, 1, Optional.empty(),
            TestFederation.SYNTHETIC_CHARACTERS, 2048, true, Attack.none()));
        agents.add(agent);
        Thread.ofPlatform().name("agent-" + site).start(agent);
      }
      TestFederation.awaitStatus(coordinator, "cut", status -> status.roundsCompleted() >= 1, "round 1");
      // Cut as soon as the coordinator holds two chunks of a round-2 update: the upload is midway.
      Path spool = dir.resolve("coordinator/spool/cut/round-2");
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (!link.isDown() && System.nanoTime() < deadline) {
        if (Files.isDirectory(spool)) {
          try (var parts = Files.list(spool)) {
            if (parts.anyMatch(part -> part.toString().endsWith(".part") && part.toFile().length() >= 8192)) {
              link.cutNow();
            }
          }
        }
        Thread.sleep(1);
      }
      assertTrue(link.isDown(), "no round-2 upload was seen midway");
      Thread.sleep(2000);
      link.restore();

      JobStatus done = TestFederation.awaitStatus(coordinator, "cut", status -> status.state().equals(JobStatus.FINISHED), "the job finished");

      TestFederation.assertLineage(done, 3, SITES);
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

  /**
   * A checkpoint of 1.46 MB comes in a chunk of 1 MiB and the rest, about 3 s through the link; cut
   * once the first chunk is on the site's disk, the download resumes from there.
   */
  @Test
  void checkpointDownloadsCutOffMidwayResumeFromTheBytesHeld() throws Exception {
    List<Process> agents = new ArrayList<>();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(new ByteArrayOutputStream(), true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), 0);
        FaultyLink link = new FaultyLink(coordinator.port(), 512 * 1024)) {
      coordinator.submit(coordinator.jobFiles().parse("big.yaml", """
          job: big
          rounds: 1
          model:
            hidden: 1024
          local-work:
            steps: 10
          quorum:
            min-sites: 2
          round:
            deadline: 2m
          """.getBytes(StandardCharsets.UTF_8)), "test");
      for (String site : SITES) {
        Path siteDir = federation.enrol(coordinator, site);
        agents.add(TestFederation.startAgentProcess(siteDir, link.port(), dir.resolve(site + ".log"), Map.of()));
      }
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (!link.isDown() && System.nanoTime() < deadline) {
        for (String site : SITES) {
          Path checkpoints = dir.resolve(site).resolve("checkpoints");
          if (Files.isDirectory(checkpoints)) {
            try (var files = Files.list(checkpoints)) {
              if (files.anyMatch(f -> f.toString().endsWith(".part") && f.toFile().length() >= 1 << 20)) {
                link.cutNow();
              }
            }
          }
        }
        Thread.sleep(1);
      }
      assertTrue(link.isDown(), "no checkpoint download was seen midway");
      Thread.sleep(2000);
      link.restore();

      JobStatus done = TestFederation.awaitStatus(coordinator, "big", status -> status.state().equals(JobStatus.FINISHED),
          "the job finished");
      TestFederation.assertLineage(done, 1, SITES);
      String logs = Files.readString(dir.resolve("jupiter.log")) + Files.readString(dir.resolve("leonardo.log"));
      assertTrue(logs.matches("(?s).*resuming the download of checkpoint [0-9a-f]{64} at byte [1-9][0-9]* of .*"),
          "no download resumed: " + logs);
    } finally {
      agents.forEach(Process::destroyForcibly);
    }
  }
}
