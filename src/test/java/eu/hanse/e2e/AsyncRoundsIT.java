package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Asynchronous rounds (FedBuff): three sites train without waiting for each other; each round
 * commits as soon as it holds an update, and the updates that come later, trained from an older
 * checkpoint, are taken into the following rounds with a staleness weight instead of being refused.
 */
class AsyncRoundsIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo", "marenostrum");
  private static final Pattern STALE = Pattern.compile("staleness .*[a-z]+ [1-9]");

  @TempDir Path dir;

  @Test
  void staleUpdatesCountWithAStalenessWeightAndTheJobFinishes() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), 0)) {
      coordinator.submit(coordinator.jobFiles().parse("async.yaml", """
          job: async
          rounds: 8
          model:
            context: 4
            embed: 16
            hidden: 64
          local-work:
            time: 1s
          quorum:
            start-sites: 3
          round:
            deadline: 1m
            mode: async
            buffer: 1
            max-staleness: 4
          """.getBytes(StandardCharsets.UTF_8)), "test");
      federation.enrolAndStartAgents(coordinator, SITES, Map.of(), true);
      JobStatus done = TestFederation.awaitStatus(coordinator, "async",
          status -> status.state().equals(JobStatus.FINISHED), "the job finished");
      TestFederation.assertLineage(done, 8, null);
      assertEquals(8, done.rounds().size());
      for (RoundRecord round : done.rounds()) {
        assertTrue(round.acceptedSites().size() >= 1, "a buffer of one: " + round);
        assertEquals(List.of(), round.refusedSites(), "nothing refused: " + round);
      }
      assertTrue(done.rounds().stream().anyMatch(r -> STALE.matcher(r.aggregation()).find()),
          "some round took an update trained rounds before: " + done.rounds().stream()
              .map(RoundRecord::aggregation).toList());
      assertTrue(done.heldOutLoss().get(done.heldOutLoss().size() - 1) < done.heldOutLoss().get(0),
          "the model learned: " + done.heldOutLoss());
    }
  }
}
