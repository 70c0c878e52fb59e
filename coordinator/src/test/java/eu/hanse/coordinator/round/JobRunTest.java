package eu.hanse.coordinator.round;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.job.AsyncRounds;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSchedule;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.UpdateCodec;
import eu.hanse.security.SiteId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The round core (JobRun, its policies, intake, commit and evaluation) with in-process fakes and no
 * sockets: sites are {@link RoundFixture.FakeLink}s, updates go in through the job's intake as the
 * transport hands them over. The outer step is FedAvg's (SGD, learning rate 1), so a committed
 * checkpoint is the last one minus the round's aggregate.
 */
class JobRunTest {
  private static final Duration LONG = Duration.ofSeconds(60);

  @TempDir
  Path folder;

  private static JobSpec spec(int rounds, int minSites, int startSites, Duration deadline, AggregatorSpec aggregator,
      JobSchedule schedule) {
    return new JobSpec(new JobId("core"), rounds, 1, minSites, startSites, deadline, new TrainerSettings(4, 0.01, 0.0),
        OuterOptimizerSpec.fedAvg(), 7, 256, aggregator, PrivacySpec.none(), UpdateCodec.fp32(), schedule);
  }

  private static JobSpec spec(int rounds, int minSites, int startSites, Duration deadline) {
    return spec(rounds, minSites, startSites, deadline, AggregatorSpec.mean(), JobSchedule.OPEN);
  }

  private static JobSchedule schedule(Stragglers stragglers, Set<SiteId> required, AsyncRounds async) {
    return new JobSchedule(List.of(), required, stragglers, null, null, async);
  }

  private static float[] filled(float value) {
    float[] values = new float[RoundFixture.ELEMENTS];
    Arrays.fill(values, value);
    return values;
  }

  private static Refusal refusal(Runnable call) {
    return assertThrows(RefusedException.class, call::run).reason();
  }

  /** Waits for a one-round job to finish; its round took {@code sites}' updates and stepped the model by {@code aggregate}. */
  private static void assertFinishedWith(RoundFixture core, List<String> sites, float aggregate)
      throws InterruptedException {
    JobStatus status = core.awaitState(JobStatus.FINISHED);
    assertEquals(sites, status.rounds().get(0).acceptedSites());
    assertArrayEquals(filled(RoundFixture.INITIAL - aggregate), core.checkpoint(1), 1e-5f);
  }

  /** Brings alpha, beta and gamma online and hands in alpha's (2) and beta's (4) updates for round 1. */
  private static RoundFixture.FakeLink.Task alphaAndBetaDelivered(RoundFixture core) throws InterruptedException {
    RoundFixture.FakeLink alpha = core.connect("alpha");
    core.connect("beta");
    core.connect("gamma");
    RoundFixture.FakeLink.Task task = alpha.nextTask();
    core.deliver(core.update("alpha", task, 2f, 1));
    core.deliver(core.update("beta", task, 4f, 1));
    return task;
  }

  @Test
  void aRoundCommitsTheSampleWeightedMeanOnceEverySiteDelivered() throws Exception {
    try (RoundFixture core = new RoundFixture(folder, spec(1, 2, 2, LONG), "alpha", "beta").start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink beta = core.connect("beta");
      RoundFixture.FakeLink.Task task = alpha.nextTask();
      assertEquals(1, task.round());
      assertEquals(task.base().sha256(), beta.nextTask().base().sha256(), "both train from checkpoint 0");

      core.deliver(core.update("alpha", task, 1f, 1));
      assertEquals(0, core.job.status().roundsCompleted(), "the round waits for beta");
      core.deliver(core.update("beta", task, 5f, 3));

      JobStatus status = core.awaitState(JobStatus.FINISHED);
      assertEquals(List.of("alpha", "beta"), status.rounds().get(0).acceptedSites());
      assertArrayEquals(filled(RoundFixture.INITIAL - 4f), core.checkpoint(1), 1e-5f,
          "100 - (1 x 1 + 5 x 3) / 4");
      assertEquals(1L, alpha.finished.poll(5, TimeUnit.SECONDS), "the sites are told the job finished");
      assertEquals(2, core.store.checkpoints("core").get(1).updateIds().size(), "the lineage names both updates");
    }
  }

  @Test
  void headersThatDoNotFitTheOpenRoundAreRefusedAndChangeNothing() throws Exception {
    try (RoundFixture core = new RoundFixture(folder, spec(1, 2, 2, LONG), "alpha", "beta", "gamma").start()) {
      core.connect("alpha");
      RoundFixture.FakeLink beta = core.connect("beta");
      RoundFixture.FakeLink.Task task = beta.nextTask();
      RoundFixture.FakeLink gamma = core.connect("gamma");
      RoundFixture.Update honest = core.update("alpha", task, 2f, 1);
      String base = task.base().sha256();

      assertEquals(Refusal.NOT_OPEN_ROUND, refusal(() -> core.admit(honest.claiming(2, base, RoundFixture.ELEMENTS))));
      assertEquals(Refusal.STALE_BASE, refusal(() -> core.admit(honest.claiming(1, "ab".repeat(32),
          RoundFixture.ELEMENTS))));
      assertEquals(Refusal.SHAPE_MISMATCH, refusal(() -> core.admit(honest.claiming(1, base, 9))));
      assertEquals(Refusal.NOT_OPEN_ROUND, refusal(() -> core.admit(core.update("gamma", task, 2f, 1))),
          "gamma came online after the round opened: it was not asked");
      assertNull(gamma.tasks.poll(), "and it is not sent the round's work");

      core.deliver(honest);
      assertEquals(Refusal.REPLAYED, refusal(() -> core.admit(honest)));
      assertEquals(Refusal.DUPLICATE_UPDATE, refusal(() -> core.admit(core.update("alpha", task, 3f, 1))));
      core.deliver(core.update("beta", task, 4f, 1));

      assertFinishedWith(core, List.of("alpha", "beta"), 3f);
    }
  }

  @Test
  void quorumPlusGraceClosesTheRoundWithoutTheStraggler() throws Exception {
    JobSpec spec = spec(1, 2, 3, LONG, AggregatorSpec.mean(),
        schedule(Stragglers.quorumPlus(Duration.ofMillis(200)), Set.of(), null));
    try (RoundFixture core = new RoundFixture(folder, spec, "alpha", "beta", "gamma").start()) {
      RoundFixture.FakeLink.Task task = alphaAndBetaDelivered(core);

      // The deadline is a minute away: only the grace period can close the round within awaitRounds' 20 s.
      JobStatus status = core.awaitRounds(1);
      assertEquals(List.of("alpha", "beta"), status.rounds().get(0).acceptedSites());
      assertArrayEquals(filled(RoundFixture.INITIAL - 3f), core.checkpoint(1), 1e-5f);
      assertEquals(Refusal.NOT_OPEN_ROUND, refusal(() -> core.admit(core.update("gamma", task, 2f, 1))));
    }
  }

  @Test
  void aRoundWithoutQuorumAtItsDeadlineOpensAgainKeepingWhatItAccepted() throws Exception {
    try (RoundFixture core = new RoundFixture(folder, spec(1, 2, 2, Duration.ofSeconds(1)), "alpha", "beta")
        .start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink beta = core.connect("beta");
      RoundFixture.FakeLink.Task task = alpha.nextTask();
      beta.nextTask();
      core.deliver(core.update("alpha", task, 2f, 1));

      RoundFixture.FakeLink.Task again = beta.nextTask();
      assertEquals(1, again.round(), "round 1 opens again after its deadline");
      assertNull(alpha.tasks.poll(), "alpha's update was kept: it is not asked again");
      core.deliver(core.update("beta", again, 4f, 1));

      assertFinishedWith(core, List.of("alpha", "beta"), 3f);
    }
  }

  @Test
  void aJobFailsWhenARoundNeverReachesItsQuorum() throws Exception {
    try (RoundFixture core = new RoundFixture(folder, spec(1, 2, 2, Duration.ofMillis(200)), "alpha", "beta")
        .start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      core.connect("beta");
      core.deliver(core.update("alpha", alpha.nextTask(), 2f, 1));

      core.awaitState(JobStatus.FAILED);
      assertEquals(1, core.store.checkpoints("core").size(), "nothing beyond checkpoint 0 was committed");
      assertTrue(core.audit().stream().anyMatch(line -> line.contains("\"type\":\"job.failed\"")
          && line.contains("got fewer than 2 updates in 3 attempts")), String.join("\n", core.audit()));
    }
  }

  @Test
  void aRequiredSiteKeepsTheRoundOpenPastItsQuorum() throws Exception {
    JobSpec spec = spec(1, 2, 3, LONG, AggregatorSpec.mean(),
        schedule(Stragglers.quorumPlus(Duration.ofMillis(100)), Set.of(new SiteId("gamma")), null));
    try (RoundFixture core = new RoundFixture(folder, spec, "alpha", "beta", "gamma").start()) {
      RoundFixture.FakeLink.Task task = alphaAndBetaDelivered(core);
      Thread.sleep(500);
      assertEquals(0, core.job.status().roundsCompleted(), "two updates are a quorum, but not without gamma's");

      core.deliver(core.update("gamma", task, 6f, 1));
      assertFinishedWith(core, List.of("alpha", "beta", "gamma"), 4f);
    }
  }

  @Test
  void asyncRoundsTakeAStaleUpdateWithinTheBoundAndRefuseAStalerOne() throws Exception {
    JobSpec spec = spec(3, 1, 2, LONG, AggregatorSpec.mean(),
        schedule(Stragglers.waitForAll(), Set.of(), new AsyncRounds(1, 1)));
    try (RoundFixture core = new RoundFixture(folder, spec, "alpha", "beta").start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink beta = core.connect("beta");
      RoundFixture.FakeLink.Task first = alpha.nextTask();
      RoundFixture.FakeLink.Task betaFirst = beta.nextTask();
      assertEquals(1, betaFirst.round(), "idle sites train at once");

      core.deliver(core.update("alpha", first, 1f, 1));
      RoundFixture.FakeLink.Task second = alpha.nextTask();
      assertEquals(2, second.round(), "alpha is idle again: it trains for round 2 from checkpoint 1");
      core.deliver(core.update("alpha", second, 1f, 1));
      assertEquals(3, alpha.nextTask().round());

      assertEquals(Refusal.NOT_OPEN_ROUND, refusal(() -> core.admit(core.update("beta", betaFirst, 1f, 1))),
          "trained for round 1, two rounds behind round 3: staler than the bound of 1");
      core.deliver(core.update("beta", second, 4f, 1));

      JobStatus status = core.awaitState(JobStatus.FINISHED);
      RoundRecord third = status.rounds().get(2);
      assertEquals(List.of("beta"), third.acceptedSites());
      assertTrue(third.aggregation().contains("staleness beta 1"), third.aggregation());
      // The mean divides by the fresh weight: one round behind, beta's update counts 1/sqrt(2).
      assertArrayEquals(filled((float) (RoundFixture.INITIAL - 2 - 4 / Math.sqrt(2))), core.checkpoint(3), 1e-4f);
    }
  }

  @Test
  void anUpdateUploadedTwiceAtOnceCountsInOneAsyncRoundOnly() throws Exception {
    JobSpec spec = spec(3, 1, 2, LONG, AggregatorSpec.mean(),
        schedule(Stragglers.waitForAll(), Set.of(), new AsyncRounds(1, 2)));
    try (RoundFixture core = new RoundFixture(folder, spec, "alpha", "beta").start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink beta = core.connect("beta");
      RoundFixture.Update update = core.update("alpha", alpha.nextTask(), 1f, 1);
      OpenRound.Admission first = core.admit(update);
      Path firstFile = core.spool(update, first);
      core.deliver(core.update("beta", beta.nextTask(), 2f, 1)); // Round 1's buffer is full: it commits.
      assertEquals(2, beta.nextTask().round());

      // The same update again (its link broke while its first upload was finishing): admitted to round 2.
      OpenRound.Admission second = core.admit(update);
      core.accept(update, first, firstFile); // The first upload completes: carried into round 2, which commits.
      RoundFixture.FakeLink.Task third = alpha.nextTask();
      assertEquals(3, third.round(), "alpha answered: it trains for round 3");
      Path secondFile = core.spool(update, second);
      assertEquals(Refusal.REPLAYED, refusal(() -> core.accept(update, second, secondFile)),
          "carried into round 3, the second upload of the update is refused: the first used its nonce");
      core.deliver(core.update("beta", third, 2f, 1));

      JobStatus status = core.awaitState(JobStatus.FINISHED);
      assertEquals(List.of("alpha"), status.rounds().get(1).acceptedSites());
      assertEquals(List.of("beta"), status.rounds().get(2).acceptedSites());
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "mean, 3.625",
      "median, 1.75",
      "trimmed-mean:1, 1.75",
      "krum:0, 1.5",
      "multi-krum:0:3, 1.5",
      "norm-bounded-mean:5.656854, 1.625"})
  void aCommitAppliesTheJobsAggregator(String aggregator, float aggregate) throws Exception {
    JobSpec spec = spec(1, 4, 4, LONG, AggregatorSpec.parse(aggregator), JobSchedule.OPEN);
    List<String> sites = List.of("alpha", "beta", "gamma", "delta");
    float[] deltas = {1f, 1.5f, 2f, 10f};
    try (RoundFixture core = new RoundFixture(folder, spec, sites.toArray(String[]::new)).start()) {
      sites.forEach(core::connect);
      RoundFixture.FakeLink.Task task = core.links.get("alpha").nextTask();
      for (int i = 0; i < sites.size(); i++) {
        core.deliver(core.update(sites.get(i), task, deltas[i], 1));
      }
      core.awaitState(JobStatus.FINISHED);
      assertArrayEquals(filled(RoundFixture.INITIAL - aggregate), core.checkpoint(1), 1e-4f);
    }
  }

  @Test
  void anUpdateSentAgainAfterACrashBetweenSpoolingAndRecordingIsTakenOnce() throws Exception {
    RoundFixture core = new RoundFixture(folder, spec(1, 2, 2, LONG), "alpha", "beta").start();
    try {
      RoundFixture.FakeLink first = core.connect("alpha");
      core.connect("beta");
      RoundFixture.FakeLink.Task task = first.nextTask();
      RoundFixture.Update update = core.update("alpha", task, 2f, 1);
      OpenRound.Admission admission = core.admit(update);
      core.spool(update, admission);
      core.restart(); // The coordinator dies after the spool's rename, before the update is recorded.

      core.start();
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink beta = core.connect("beta");
      RoundFixture.FakeLink.Task again = alpha.nextTask();
      assertEquals(task.base().sha256(), again.base().sha256(), "round 1 opens again from the same base");
      core.deliver(update);
      assertEquals(Refusal.REPLAYED, refusal(() -> core.admit(update)), "taken once, it is not taken again");
      core.deliver(core.update("beta", beta.nextTask(), 4f, 1));

      assertFinishedWith(core, List.of("alpha", "beta"), 3f);
      assertEquals(1, core.audit().stream().filter(line -> line.contains("\"type\":\"update.accepted\"")
          && line.contains("\"site\":\"alpha\"")).count());
    } finally {
      core.close();
    }
  }

  @Test
  void aJobPausedMidRoundCommitsThatRoundAndOpensNoOtherUntilResumed() throws Exception {
    try (RoundFixture core = new RoundFixture(folder, spec(2, 1, 1, LONG), "alpha").start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink.Task first = alpha.nextTask();
      core.job.pause("lena");
      assertEquals(JobStatus.PAUSED, core.job.status().state());
      core.deliver(core.update("alpha", first, 2f, 1));
      core.awaitRounds(1);
      assertNull(alpha.tasks.poll(300, TimeUnit.MILLISECONDS), "a paused job opens no round");

      core.job.resume("lena");
      core.deliver(core.update("alpha", alpha.nextTask(), 2f, 1));
      core.awaitState(JobStatus.FINISHED);
      assertArrayEquals(filled(RoundFixture.INITIAL - 4f), core.checkpoint(2), 1e-5f);
    }
  }

  @Test
  void aJobCancelledMidRoundAbandonsTheRound() throws Exception {
    try (RoundFixture core = new RoundFixture(folder, spec(2, 1, 1, LONG), "alpha").start()) {
      RoundFixture.FakeLink alpha = core.connect("alpha");
      RoundFixture.FakeLink.Task task = alpha.nextTask();
      core.job.cancel("lena");

      core.awaitState(JobStatus.CANCELLED);
      assertEquals(Refusal.NOT_OPEN_ROUND, refusal(() -> core.admit(core.update("alpha", task, 2f, 1))));
      assertEquals(1, core.store.checkpoints("core").size(), "nothing beyond checkpoint 0 was committed");
      assertTrue(core.audit().stream().anyMatch(line -> line.contains("\"type\":\"round.abandoned\"")));
      assertEquals("job core was cancelled", core.job.unwantedWork(1).orElseThrow());
    }
  }
}
