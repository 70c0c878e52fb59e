package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Heartbeats with real agent processes: a site that trains for longer than the heartbeat timeout
 * stays online because its heartbeats go on; a site whose process is frozen (SIGSTOP) is marked
 * offline, the job says what it waits for, and when the process is thawed (SIGCONT) the site comes
 * back and the job completes with it.
 */
class SiteLivenessIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo");

  @TempDir Path dir;

  @Test
  void aFrozenSiteGoesOfflineAndComesBackWhileALongTrainingOneStaysOnline() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    Map<String, Process> agents = new LinkedHashMap<>();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), Duration.ofMillis(200), 5)) {
      // Each round's local work takes 2 s, twice the heartbeat timeout of 1 s. A round waits for an
      // offline participant until its deadline, then the job waits for the quorum.
      coordinator.submit(coordinator.jobFiles().parse("live.yaml", """
          job: live
          rounds: 3
          model:
            context: 4
            embed: 8
            hidden: 32
          local-work:
            time: 2s
          quorum:
            min-sites: 2
          round:
            deadline: 6s
          """.getBytes(StandardCharsets.UTF_8)), "test");
      for (String site : SITES) {
        Path siteDir = federation.enrol(coordinator, site);
        agents.put(site, TestFederation.startAgentProcess(siteDir, coordinator.port(), dir.resolve(site + ".log"), Map.of()));
      }
      TestFederation.awaitStatus(coordinator, "live", status -> status.roundsCompleted() >= 1, "round 1");
      JobStatus afterRound1 = coordinator.status("live").orElseThrow();
      assertEquals(SITES, afterRound1.rounds().get(0).acceptedSites(),
          "both sites trained 2 s, past the 1 s timeout, and stayed in: " + progress);

      signal("STOP", agents.get("leonardo"));
      JobStatus waiting = TestFederation.awaitStatus(coordinator, "live", status -> !status.sites().contains("leonardo")
          && status.waiting() != null, "leonardo offline and the job waiting");
      assertEquals("1 of 2 sites online", waiting.waiting());
      signal("CONT", agents.get("leonardo"));

      JobStatus done = TestFederation.awaitStatus(coordinator, "live", status -> status.state().equals(JobStatus.FINISHED), "the job finished");

      TestFederation.assertLineage(done, 3, SITES);
      for (var round : done.rounds()) {
        assertEquals(SITES, round.acceptedSites(), "round " + round.round());
      }
      assertEquals(null, done.waiting());
    } finally {
      agents.values().forEach(Process::destroyForcibly);
    }
  }

  private static void signal(String signal, Process process) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " failed");
  }
}
