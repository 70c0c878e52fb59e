package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.TrainerCommand;
import eu.hanse.agent.slurm.SlurmSettings;
import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.coordinator.jobfile.JobFileWriter;
import eu.hanse.model.ModelState;
import eu.hanse.model.UpdateCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sites whose training runs as Slurm batch jobs, on a real single-node Slurm (slurmctld, slurmd,
 * slurmdbd with MariaDB, munge) that the test starts on 127.0.0.1 and stops afterwards. Skipped,
 * saying why, where those packages are not installed or the tests do not run as root.
 */
class SlurmIT {
  private static final Path SCRIPT = Path.of("../site-agent/src/test/resources/trainers/scripted_trainer.py")
      .toAbsolutePath().normalize();

  @TempDir static Path clusterDir;
  @TempDir Path dir;
  private static SlurmCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    String missing = SlurmCluster.missing();
    Assumptions.assumeTrue(missing == null, "no Slurm cluster for this test: " + missing);
    cluster = SlurmCluster.start(clusterDir);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** A site trainer that runs scripted_trainer.py in {@code mode} as a batch job with one GPU. */
  private static TrainerCommand onSlurm(String mode) {
    SlurmSettings slurm = new SlurmSettings(Optional.empty(), Optional.of(SlurmCluster.PARTITION), Optional.of(SlurmCluster.ACCOUNT),
        1, 1, Duration.ofMinutes(10), List.of(), Optional.empty(), SlurmSettings.DEFAULT_CONTAINER_COMMAND, List.of(),
        Optional.empty(), Optional.of(cluster.binDir()), Duration.ofMillis(500));
    return new TrainerCommand(List.of("/usr/bin/python3", SCRIPT.toString(), mode), Duration.ofMinutes(5), 0,
        Optional.of(slurm));
  }

  private static JobSpec job(String id, int rounds, int sites) {
    return new JobSpec(new JobId(id), rounds, 20, sites, sites, Duration.ofMinutes(3), new TrainerSettings(16, 0.01, 0.0),
        OuterOptimizerSpec.fedAvg(), 5, JobSpec.DEFAULT_CHUNK_BYTES, AggregatorSpec.mean(), PrivacySpec.none(),
        UpdateCodec.fp32());
  }

  private Path roundFolder(String site, String job, long round) {
    return dir.resolve(site + "/trainer-work/" + job + "/round-" + round);
  }

  @Test
  void aRoundWhoseTrainingRunsAsASlurmJobCompletesAndItsGpuTimeAndQueueWaitAreCounted() throws Exception {
    for (Map.Entry<String, Integer> daemon : cluster.ports().entrySet()) {
      assertEquals(List.of("127.0.0.1"), Listeners.addresses(daemon.getValue()), daemon.getKey()
          + " listens on loopback only");
    }
    ModelState initial = CharModel.initialize(new CharModelConfig(97, 4, 8, 32), 5);
    JobSpec spec = job("on-slurm", 2, 2);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(spec, initial)) {
      federation.enrolAndStartAgents(coordinator, List.of("jupiter", "leonardo"), Map.of(),
          Map.of("leonardo", onSlurm("slow")), false);
      assertTrue(coordinator.awaitJob(Duration.ofMinutes(4)), "the job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      long gpuSeconds = 0;
      for (RoundRecord round : status.rounds()) {
        assertEquals(List.of("jupiter", "leonardo"), round.acceptedSites().stream().sorted().toList(),
            "round " + round.round() + ": " + progress);
        String id = Files.readString(roundFolder("leonardo", "on-slurm", round.round()).resolve("slurm-job-id")).strip();
        String[] accounting = cluster.slurm("sacct", "-X", "-n", "-P", "-j", id,
            "--format=State,AllocTRES,ElapsedRaw,Submit,Start").strip().split("\\|");
        assertEquals("COMPLETED", accounting[0], "Slurm job " + id);
        assertTrue(accounting[1].contains("gres/gpu=1"), accounting[1]);
        gpuSeconds += Long.parseLong(accounting[2]);
        double queued = Duration.between(LocalDateTime.parse(accounting[3]), LocalDateTime.parse(accounting[4]))
            .toSeconds();
        SitePhases phases = round.phases().get("leonardo");
        assertEquals(queued, phases.queue(), 1e-9, "round " + round.round() + " reports the queue wait sacct shows");
        assertEquals(0, round.phases().get("jupiter").queue(), "a site training at once waits in no queue");
        assertTrue(Files.readString(roundFolder("leonardo", "on-slurm", round.round()).resolve("job.sbatch"))
            .contains("#SBATCH --gpus-per-node=1"));
      }
      assertTrue(gpuSeconds >= 6, "each job slept 3 s on its GPU: " + gpuSeconds);
      assertEquals(gpuSeconds / 3600.0, status.deviceHours().get("leonardo"), 1e-9,
          "the GPU-hours counted against leonardo's budget are those of Slurm's accounting");
    }
  }

  @Test
  void cancellingTheJobCancelsTheSitesSlurmJobAndCountsTheGpuTimeItTook() throws Exception {
    ModelState initial = CharModel.initialize(new CharModelConfig(97, 4, 8, 32), 5);
    JobSpec spec = job("slurm-pilot", 3, 1);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinatorWithConsole(null, Duration.ofSeconds(1))) {
      coordinator.submit(spec, JobFileWriter.write(spec, null), initial, "test");
      federation.enrolAndStartAgents(coordinator, List.of("leonardo"), Map.of(), Map.of("leonardo", onSlurm("sleep")),
          false);
      Path idFile = roundFolder("leonardo", "slurm-pilot", 1).resolve("slurm-job-id");
      String id = awaitValue(() -> Files.exists(idFile) ? Files.readString(idFile).strip() : null, "a Slurm job");
      awaitValue(() -> cluster.slurm("squeue", "-h", "-j", id, "-o", "%T").strip().equals("RUNNING") ? "" : null,
          "Slurm job " + id + " running");
      Thread.sleep(2000);

      HttpClient lead = HttpClient.newBuilder().sslContext(eu.hanse.security.TlsContexts.forHttpsClient(
          eu.hanse.security.TlsFiles.in(federation.leadCredential("lena")))).build();
      HttpResponse<String> cancel = lead.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
          + coordinator.consolePort() + "/api/v1/jobs/slurm-pilot/cancel")).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, cancel.statusCode(), cancel.body());

      assertTrue(coordinator.awaitJob(Duration.ofSeconds(30)), "the cancelled job did not end: " + progress);
      assertEquals(JobStatus.CANCELLED, coordinator.status().state());
      // Its trainer sleeps 60 s: gone well before that, it was cancelled.
      awaitValue(() -> cluster.slurm("squeue", "-h", "-j", id).isBlank() ? "" : null, "Slurm job " + id + " gone",
          Duration.ofSeconds(20));
      String state = awaitValue(() -> {
        String line = cluster.slurm("sacct", "-X", "-n", "-P", "-j", id, "--format=State,ElapsedRaw").strip();
        return line.startsWith("CANCELLED") ? line : null;
      }, "Slurm's accounting of job " + id + " as cancelled");
      long ran = Long.parseLong(state.split("\\|")[1]);
      assertTrue(ran >= 2 && ran < 60, "the job ran until it was cancelled, not its 60 s: " + state);
      Double hours = awaitValue(() -> {
        Double counted = coordinator.status().deviceHours().get("leonardo");
        return counted != null && counted > 0 ? counted : null;
      }, "the cancelled job's GPU time counted");
      assertEquals(ran / 3600.0, hours, 1e-9);
      String trail = Files.readString(Consortium.auditFile(dir.resolve("coordinator")));
      assertTrue(trail.contains("\"type\":\"round.abandoned\""), trail);
      assertTrue(Files.readString(dir.resolve("leonardo/trainer-work/slurm-pilot/round-1/trainer.log"))
          .contains("round 1 of slurm-pilot mode sleep"));
    }
  }

  @Test
  void anAgentKilledWhileItsSlurmJobRunsFollowsThatJobWhenItStartsAgain() throws Exception {
    ModelState initial = CharModel.initialize(new CharModelConfig(97, 4, 8, 32), 5);
    JobSpec spec = job("slurm-restart", 1, 1);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    List<Process> agents = new java.util.ArrayList<>();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(spec, initial)) {
      Path site = federation.enrol(coordinator, "leonardo");
      Path config = site.resolve("site.yaml");
      Files.writeString(config, String.join("\n",
          "trainer:",
          "  command: /usr/bin/python3 " + SCRIPT + " nap",
          "slurm:",
          "  partition: " + SlurmCluster.PARTITION,
          "  account: " + SlurmCluster.ACCOUNT,
          "  gpus-per-node: 1",
          "  time-limit: 10m",
          "  bin-dir: " + cluster.binDir(),
          "  poll-interval: 1s", ""));
      Process first = TestFederation.startAgentProcess(site, coordinator.port(), dir.resolve("leonardo-1.log"), Map.of(),
          List.of(), "--site-config", config.toString());
      agents.add(first);
      Path idFile = site.resolve("trainer-work/slurm-restart/round-1/slurm-job-id");
      String id = awaitValue(() -> Files.exists(idFile) ? Files.readString(idFile).strip() : null, "a Slurm job");
      awaitValue(() -> cluster.slurm("squeue", "-h", "-j", id, "-o", "%T").strip().equals("RUNNING") ? "" : null,
          "Slurm job " + id + " running");

      first.destroyForcibly();
      assertTrue(first.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals("RUNNING", cluster.slurm("squeue", "-h", "-j", id, "-o", "%T").strip(),
          "a killed agent cannot cancel its job: it runs on");
      Process second = TestFederation.startAgentProcess(site, coordinator.port(), dir.resolve("leonardo-2.log"),
          Map.of(), List.of(), "--site-config", config.toString());
      agents.add(second);

      assertTrue(coordinator.awaitJob(Duration.ofMinutes(2)), "the job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      assertEquals(List.of("leonardo"), status.rounds().get(0).acceptedSites());
      assertTrue(Files.readString(dir.resolve("leonardo-2.log")).contains("Slurm job " + id + " for this round, "
          + "submitted before the agent restarted, is queued, running or done; following it"),
          Files.readString(dir.resolve("leonardo-2.log")));
      assertEquals(id, Files.readString(idFile).strip());
      String jobs = cluster.slurm("sacct", "-X", "-n", "-P", "--name=hanse-slurm-restart-round-1", "--format=JobID,State",
          "-S", "now-1hour");
      assertEquals(List.of(id + "|COMPLETED"), jobs.strip().lines().toList(), "one Slurm job for the round, not two");
    } finally {
      agents.forEach(Process::destroyForcibly);
    }
  }

  @Test
  void aJobLeftForAnotherRoundIsCancelledWhenTheAgentStartsItsNext() throws Exception {
    Path work = dir.resolve("trainer-work");
    Path earlier = Files.createDirectories(work.resolve("pilot/round-1"));
    Path sleeper = earlier.resolve("job.sbatch");
    Files.writeString(sleeper, "#!/bin/bash\nsleep 300\n");
    String left = cluster.slurm("sbatch", "--parsable", "--partition=" + SlurmCluster.PARTITION,
        "--account=" + SlurmCluster.ACCOUNT, "--output=" + earlier.resolve("trainer.log"), sleeper.toString()).strip();
    Files.writeString(earlier.resolve("slurm-job-id"), left + "\n");
    awaitValue(() -> cluster.slurm("squeue", "-h", "-j", left, "-o", "%T").strip().equals("RUNNING") ? "" : null,
        "Slurm job " + left + " running");

    Path round = Files.createDirectories(work.resolve("pilot/round-2"));
    eu.hanse.agent.slurm.SlurmLauncher launcher = new eu.hanse.agent.slurm.SlurmLauncher(onSlurm("slow").slurm()
        .orElseThrow());
    assertTrue(launcher.earlierRun(round).isEmpty(), "nothing was submitted for round 2 yet");
    eu.hanse.agent.trainer.TrainerLauncher.Usage usage = launcher.run(new eu.hanse.agent.trainer.TrainerLauncher.Run(
        List.of("/bin/true", round.resolve("round.json").toString()), round, Map.of(), round.resolve("trainer.log"),
        Duration.ofMinutes(5), new eu.hanse.agent.trainer.StopSignal(), phase -> {}, Optional.empty()));
    assertTrue(usage.deviceSeconds() >= 0);
    String leftState = cluster.slurm("sacct", "-X", "-n", "-P", "-j", left, "--format=State").strip();
    assertTrue(leftState.startsWith("CANCELLED"), "the orphan of round 1 was cancelled: " + leftState);
    String id = Files.readString(round.resolve("slurm-job-id")).strip();
    assertEquals(java.util.Optional.of(id), launcher.earlierRun(round), "a completed job is worth following again");
  }

  private interface Probe<T> {
    T value() throws Exception;
  }

  /** Waits up to 60 s for {@code probe} to give a value. */
  private static <T> T awaitValue(Probe<T> probe, String what) throws Exception {
    return awaitValue(probe, what, Duration.ofSeconds(60));
  }

  private static <T> T awaitValue(Probe<T> probe, String what, Duration limit) throws Exception {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      T value = probe.value();
      if (value != null) {
        return value;
      }
      Thread.sleep(250);
    }
    throw new AssertionError("no " + what + " after " + limit.toSeconds() + " s");
  }
}
