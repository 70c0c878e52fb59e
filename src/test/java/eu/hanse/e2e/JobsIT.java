package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training lead's jobs on one coordinator: job files submitted, listed, shown, paused and resumed
 * with the 'hanse job' commands (separate processes, mutual TLS with a lead's certificate), two
 * jobs running at once, and a coordinator stopped mid-job that resumes it on its data directory.
 */
class JobsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> SITES = List.of("jupiter", "leonardo");
  private static final ModelFactory MODELS = new CharModels();

  @TempDir Path dir;

  private static String jobFile(String id, int rounds) {
    return """
        job: %s
        rounds: %d
        model:
          context: 4
          embed: 8
          hidden: 32
        local-work:
          steps: 20
        quorum:
          min-sites: 2
        round:
          deadline: 2m
        """.formatted(id, rounds);
  }

  @Test
  void aLeadRunsTwoJobsAtOnceAndPausesAndResumesOne() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(MODELS, 0)) {
      Path lead = federation.leadCredential("lead");
      String address = "127.0.0.1:" + coordinator.port();
      Path first = Files.writeString(dir.resolve("first.yaml"), jobFile("first", 3));
      Path second = Files.writeString(dir.resolve("second.yaml"), jobFile("second", 2));
      Path bad = Files.writeString(dir.resolve("bad.yaml"), "job: third\nrounds: 2\nquorum:\n  min-sites: 0\n");

      Cli submitted = hanse("job", "submit", first.toString(), "--coordinator", address, "--credential", lead.toString());
      assertEquals(0, submitted.exit(), submitted.err());
      assertTrue(submitted.out().contains("job first submitted"), submitted.out());
      Cli refused = hanse("job", "submit", bad.toString(), "--coordinator", address, "--credential", lead.toString());
      assertEquals(2, refused.exit());
      assertTrue(refused.err().contains(bad + ":4: 'min-sites' must be at least 1"), refused.err());
      assertEquals(0, hanse("job", "submit", second.toString(), "--coordinator", address, "--credential",
          lead.toString()).exit());
      Cli paused = hanse("job", "pause", "second", "--coordinator", address, "--credential", lead.toString());
      assertTrue(paused.out().contains("job second: PAUSED"), paused.out() + paused.err());

      federation.enrolAndStartAgents(coordinator, SITES, Map.of(), false);
      TestFederation.awaitStatus(coordinator, "first", status -> status.state().equals(JobStatus.FINISHED), "finished");
      assertEquals(JobStatus.PAUSED, coordinator.status("second").orElseThrow().state(),
          "a paused job opens no round while another job runs");
      Cli list = hanse("job", "list", "--coordinator", address, "--credential", lead.toString());
      assertTrue(list.out().matches("(?s).*first\\s+FINISHED\\s+3/3.*second\\s+PAUSED\\s+0/2.*"), list.out());
      assertEquals(0, hanse("job", "resume", "second", "--coordinator", address, "--credential", lead.toString())
          .exit());
      TestFederation.awaitStatus(coordinator, "second", status -> status.state().equals(JobStatus.FINISHED), "finished");

      Cli status = hanse("job", "status", "first", "--json", "--coordinator", address, "--credential",
          lead.toString());
      JsonNode json = JSON.readTree(status.out());
      assertEquals("FINISHED", json.get("state").asText());
      assertEquals(3, json.get("roundsCompleted").asInt());
      for (int r = 0; r < 3; r++) {
        JsonNode round = json.get("rounds").get(r);
        assertEquals(r + 1, round.get("round").asInt());
        assertEquals("COMMITTED", round.get("state").asText());
        assertEquals(SITES, JSON.convertValue(round.get("acceptedSites"), List.class));
        assertEquals(0, round.get("refusedSites").size());
        assertEquals(64, round.get("checkpoint").asText().length());
      }
      Cli unknown = hanse("job", "status", "fourth", "--coordinator", address, "--credential", lead.toString());
      assertEquals(2, unknown.exit());
      assertTrue(unknown.err().contains("no job 'fourth' here"), unknown.err());
      TestFederation.assertLineage(coordinator.status("second").orElseThrow(), 2, SITES);
    }
  }

  @Test
  void aSiteThatSpentItsGpuHoursIsLeftOutOfLaterRounds() throws Exception {
    try (TestFederation federation = new TestFederation(dir, new PrintStream(new ByteArrayOutputStream(), true));
        Coordinator coordinator = federation.startCoordinator(MODELS, 0)) {
      // One second of training a round; jupiter may spend 1.44 s, so it trains in rounds 1 and 2 only.
      coordinator.submit(coordinator.jobFiles().parse("budget.yaml", """
          job: budget
          rounds: 4
          model:
            context: 4
            embed: 8
            hidden: 32
          local-work:
            time: 1s
          sites:
            jupiter:
              gpu-hours: 0.0004
            leonardo:
          quorum:
            min-sites: 1
            start-sites: 2
          """.getBytes(StandardCharsets.UTF_8)), "test");
      federation.enrolAndStartAgents(coordinator, SITES, Map.of(), true);
      JobStatus done = TestFederation.awaitStatus(coordinator, "budget",
          status -> status.state().equals(JobStatus.FINISHED), "finished");
      List<List<String>> accepted = done.rounds().stream().map(round -> round.acceptedSites()).toList();
      assertEquals(List.of(SITES, SITES, List.of("leonardo"), List.of("leonardo")), accepted);
      assertTrue(done.deviceHours().get("jupiter") >= 0.0004, done.deviceHours().toString());
      assertTrue(done.deviceHours().get("leonardo") > done.deviceHours().get("jupiter"), done.deviceHours().toString());
    }
  }

  @Test
  void aJobWaitsForItsStartTimeAndASiteInMaintenanceIsNotAsked() throws Exception {
    try (TestFederation federation = new TestFederation(dir, new PrintStream(new ByteArrayOutputStream(), true));
        Coordinator coordinator = federation.startCoordinator(MODELS, 0)) {
      java.time.Instant start = java.time.Instant.now().plusSeconds(4).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
      java.time.LocalTime now = java.time.LocalTime.now(java.time.ZoneOffset.UTC);
      // A daily window around now for leonardo: it stays out of every round of this short job.
      String window = "daily " + now.minusMinutes(5).withSecond(0).withNano(0) + "-"
          + now.plusMinutes(10).withSecond(0).withNano(0);
      coordinator.submit(coordinator.jobFiles().parse("later.yaml", """
          job: later
          start: %s
          rounds: 2
          model:
            context: 4
            embed: 8
            hidden: 32
          local-work:
            steps: 10
          sites:
            jupiter:
            leonardo:
              maintenance: [%s]
          """.formatted(start, window).getBytes(StandardCharsets.UTF_8)), "test");
      federation.enrolAndStartAgents(coordinator, SITES, Map.of(), true);
      JobStatus before = TestFederation.awaitStatus(coordinator, "later", status -> status.waiting() != null,
          "the job waiting for its start");
      assertEquals("starts at " + start, before.waiting());
      assertEquals(0, before.roundsCompleted());
      JobStatus done = TestFederation.awaitStatus(coordinator, "later",
          status -> status.state().equals(JobStatus.FINISHED), "finished");
      for (String line : Files.readAllLines(eu.hanse.coordinator.consortium.Consortium.auditFile(dir.resolve("coordinator")))) {
        JsonNode event = JSON.readTree(line);
        if (event.get("type").asText().equals("checkpoint.committed")
            && event.get("fields").get("job").asText().equals("later")
            && event.get("fields").get("round").asText().equals("1")) {
          assertTrue(!java.time.Instant.parse(event.get("time").asText()).isBefore(start),
              "round 1 committed at " + event.get("time") + ", before the start at " + start);
        }
      }
      for (var round : done.rounds()) {
        assertEquals(List.of("jupiter"), round.acceptedSites(), "leonardo is in maintenance");
      }
    }
  }

  @Test
  void aCoordinatorStoppedMidJobResumesItOnItsDataDirectory() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true))) {
      Coordinator first = federation.startCoordinator(MODELS, port);
      first.submit(first.jobFiles().parse("job.yaml", jobFile("long", 5).getBytes(StandardCharsets.UTF_8)), "test");
      federation.enrolAndStartAgents(first, SITES, Map.of(), false);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (first.status("long").orElseThrow().roundsCompleted() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      first.close();
      int before = first.status("long").orElseThrow().roundsCompleted();
      assertTrue(before >= 2 && before < 5, "stopped after " + before + " rounds");

      try (Coordinator second = federation.startCoordinator(MODELS, port)) {
        assertEquals(before, second.status("long").orElseThrow().roundsCompleted(), "the state keeps every round");
        TestFederation.awaitStatus(second, "long", status -> status.state().equals(JobStatus.FINISHED), "finished");
        TestFederation.assertLineage(second.status("long").orElseThrow(), 5, SITES);
        assertTrue(progress.toString().contains("job long resumes after round " + before), progress.toString());
      }
    }
  }

  record Cli(int exit, String out, String err) {}

  /** Runs 'hanse ARGS' in a process of its own. */
  private Cli hanse(String... args) throws Exception {
    List<String> command = TestFederation.hanseCommand(List.of(args));
    Path out = Files.createTempFile(dir, "cli", ".out");
    Path err = Files.createTempFile(dir, "cli", ".err");
    Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "hanse " + String.join(" ", args) + " did not end");
    return new Cli(process.exitValue(), Files.readString(out), Files.readString(err));
  }
}
