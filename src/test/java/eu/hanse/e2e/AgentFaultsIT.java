package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sites misbehaving as real processes: one stalls in the middle of its upload past the round's
 * deadline (the round commits without it), is then killed with SIGKILL and started again (it
 * takes part in the later rounds), and a third site joins the running job (it takes part from the
 * next round opened after it connects). Each round's local work is a 1 s time budget, so the job
 * runs long enough for the new processes to start.
 */
class AgentFaultsIT {
  @TempDir Path dir;

  @Test
  void aStalledSiteIsLeftBehindAKilledOneComesBackAndANewOneJoins() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<Process> processes = new ArrayList<>();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), 0)) {
      coordinator.submit(coordinator.jobFiles().parse("faults.yaml", """
          job: faults
          rounds: 10
          model:
            context: 4
            embed: 16
            hidden: 64
          local-work:
            time: 1s
          chunk-bytes: 4096
          quorum:
            min-sites: 1
            start-sites: 2
          round:
            deadline: 4s
          """.getBytes(StandardCharsets.UTF_8)), "test");
      int port = coordinator.port();
      Path jupiter = federation.enrol(coordinator, "jupiter");
      Path leonardo = federation.enrol(coordinator, "leonardo");
      processes.add(TestFederation.startAgentProcess(jupiter, port, dir.resolve("jupiter.log"), Map.of()));
      // Leonardo stops dead after the first chunk of its round-2 update.
      Process stalled = TestFederation.startAgentProcess(leonardo, port, dir.resolve("leonardo-1.log"),
          Map.of("HANSE_TEST_PAUSE_AT", "send@2"));
      processes.add(stalled);

      JobStatus afterRound2 = TestFederation.awaitStatus(coordinator, "faults", s -> s.roundsCompleted() >= 2,
          "round 2");
      assertTrue(Files.readString(dir.resolve("leonardo-1.log")).contains("hanse: paused at send@2"));
      assertEquals(List.of("jupiter", "leonardo"), afterRound2.rounds().get(0).acceptedSites());
      assertEquals(List.of("jupiter"), afterRound2.rounds().get(1).acceptedSites(),
          "round 2 closed at its deadline without the stalled site");

      stalled.destroyForcibly();
      assertTrue(stalled.waitFor(10, TimeUnit.SECONDS));
      processes.add(TestFederation.startAgentProcess(leonardo, port, dir.resolve("leonardo-2.log"), Map.of()));
      Path marenostrum = federation.enrol(coordinator, "marenostrum");
      processes.add(TestFederation.startAgentProcess(marenostrum, port, dir.resolve("marenostrum.log"), Map.of()));

      JobStatus done = TestFederation.awaitStatus(coordinator, "faults",
          s -> s.state().equals(JobStatus.FINISHED), "the job finished");

      TestFederation.assertLineage(done, 10, null);
      List<RoundRecord> rounds = done.rounds();
      assertEquals(10, rounds.size());
      assertTrue(rounds.get(9).acceptedSites().containsAll(List.of("jupiter", "leonardo", "marenostrum")),
          "leonardo, killed and started again, and marenostrum, joined mid-job, are in the last round: " + rounds);
      assertFalse(rounds.get(0).acceptedSites().contains("marenostrum"));
    } finally {
      processes.forEach(Process::destroyForcibly);
    }
  }

  /** With quorum plus grace a round closes soon after its quorum, not at its deadline, leaving the straggler. */
  @Test
  void quorumPlusGraceClosesARoundWithoutWaitingForAStraggler() throws Exception {
    List<Process> processes = new ArrayList<>();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(new ByteArrayOutputStream(), true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), 0)) {
      coordinator.submit(coordinator.jobFiles().parse("grace.yaml", """
          job: grace
          rounds: 1
          model:
            context: 4
            embed: 8
            hidden: 32
          local-work:
            steps: 10
          quorum:
            min-sites: 1
            start-sites: 2
          round:
            deadline: 2m
            stragglers: quorum-plus-grace
            grace: 2s
          """.getBytes(StandardCharsets.UTF_8)), "test");
      int port = coordinator.port();
      processes.add(TestFederation.startAgentProcess(federation.enrol(coordinator, "jupiter"), port,
          dir.resolve("jupiter.log"), Map.of()));
      processes.add(TestFederation.startAgentProcess(federation.enrol(coordinator, "leonardo"), port,
          dir.resolve("leonardo.log"), Map.of("HANSE_TEST_PAUSE_AT", "send@1")));
      // The stalled site gets the grace period, not the two-minute deadline, for its update and its evaluation.
      JobStatus done = TestFederation.awaitStatus(coordinator, "grace", s -> s.state().equals(JobStatus.FINISHED),
          "the job finished");
      RoundRecord round = done.rounds().get(0);
      assertEquals(List.of("jupiter"), round.acceptedSites());
      assertTrue(round.seconds() < 60, "the round took " + round.seconds() + " s, not about 2 s past its quorum");
    } finally {
      processes.forEach(Process::destroyForcibly);
    }
  }
}
