package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.agent.Enrolment;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.kernels.PeakMemory;
import eu.hanse.security.SiteId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model larger than either process's heap: a coordinator and an agent, real processes each with a
 * heap of 1 GiB, run one round of a synthetic model of 5 GiB (1.34 billion float32 parameters). The
 * checkpoint crosses mutual TLS to the agent twice (to train from, and the committed one to
 * evaluate), in three ranges over three connections at once, and the update once to the
 * coordinator, in three runs over three connections at once; the coordinator verifies it, folds it
 * and commits the next checkpoint, all a chunk at a time. Set {@code -Dhanse.large.bytes=N} for another size; with
 * too little free disk for the files it writes (about six times the model) the test is skipped,
 * saying so.
 */
class LargeModelIT {
  private static final long BYTES = Long.getLong("hanse.large.bytes", 5L << 30);
  private static final String HEAP = "-Xmx1g";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void aModelLargerThanTheHeapCrossesTheFederationInBothDirections() throws Exception {
    long parameters = BYTES / Float.BYTES;
    long free = Files.getFileStore(dir).getUsableSpace();
    Assumptions.assumeTrue(free > 6.5 * BYTES, String.format(Locale.ROOT,
        "LargeModelIT skipped: %.1f GiB free in %s, it needs %.1f GiB", free / 1e9 * 1e9 / (1L << 30), dir,
        6.5 * BYTES / (1L << 30)));
    Path coordinatorDir = dir.resolve("coordinator");
    TestFederation.createCa(coordinatorDir);
    int port = TestFederation.freePort();
    int enrolPort = TestFederation.freePort();
    Path jobFile = Files.writeString(dir.resolve("large.yaml"), """
        job: large
        rounds: 1
        model:
          kind: synthetic
          parameters: %d
        aggregation:
          outer: sgd
        quorum:
          min-sites: 1
        round:
          deadline: 20m
        """.formatted(parameters));
    Path coordinatorMemory = dir.resolve("coordinator-memory.json");
    Path agentMemory = dir.resolve("agent-memory.json");
    ProcessBuilder builder = new ProcessBuilder(TestFederation.hanseCommand(List.of(HEAP), List.of("coordinator",
        "--data-dir", coordinatorDir.toString(), "--listen", "127.0.0.1:" + port, "--enrol-port",
        Integer.toString(enrolPort), "--console", "off", "--job-file", jobFile.toString(), "--exit-when-done")))
        .redirectErrorStream(true).redirectOutput(dir.resolve("coordinator.log").toFile());
    builder.environment().put(PeakMemory.REPORT_VARIABLE, coordinatorMemory.toString());
    Process coordinator = builder.start();
    Process agent = null;
    try {
      TestFederation.awaitLine(coordinator, dir.resolve("coordinator.log"), "coordinator listening on");
      String token;
      try (Consortium consortium = Consortium.open(coordinatorDir, Clock.systemUTC())) {
        token = consortium.invite(new SiteId("jupiter"), Duration.ofMinutes(5), "test");
      }
      Enrolment.enroll("127.0.0.1:" + enrolPort, token, dir.resolve("jupiter"));
      agent = TestFederation.startAgentProcess(dir.resolve("jupiter"), port, dir.resolve("agent.log"),
          Map.of(PeakMemory.REPORT_VARIABLE, agentMemory.toString()), List.of(HEAP), "--connections", "3");

      assertTrue(coordinator.waitFor(20, TimeUnit.MINUTES), "the round did not finish: " + log("coordinator.log"));
      assertEquals(0, coordinator.exitValue(), log("coordinator.log"));
      JobStatus status = JSON.readValue(coordinatorDir.resolve("jobs/large/status.json").toFile(), JobStatus.class);
      assertEquals(JobStatus.FINISHED, status.state(), log("coordinator.log"));
      assertEquals(List.of("jupiter"), status.rounds().get(0).acceptedSites());
      assertEquals(BYTES, status.rounds().get(0).bytesUploaded().get("jupiter"), "the whole update arrived");
      Path committed = coordinatorDir.resolve("checkpoints/" + status.rounds().get(0).checkpoint() + ".safetensors");
      assertTrue(Files.size(committed) > BYTES, "the committed checkpoint holds every parameter");
      awaitFile(agent, dir.resolve("jupiter/checkpoints/" + status.rounds().get(0).checkpoint() + ".safetensors"));
      assertTrue(log("agent.log").contains("as 3 ranges over 3 connections"), "the checkpoint came over three connections");
      assertTrue(log("agent.log").contains("as 3 runs over 3 connections"), "the update went over three connections");
    } finally {
      if (agent != null) {
        agent.destroy();
        agent.waitFor(30, TimeUnit.SECONDS);
      }
      coordinator.destroyForcibly();
    }
    for (Path report : List.of(coordinatorMemory, agentMemory)) {
      JsonNode memory = JSON.readTree(report.toFile());
      long heap = memory.get("peakHeapBytes").asLong();
      System.out.printf(Locale.ROOT, "%s: peak heap %.0f MiB, peak resident %.0f MiB, for a model of %.0f MiB%n",
          report.getFileName(), heap / 1048576.0, memory.get("peakRssBytes").asLong() / 1048576.0, BYTES / 1048576.0);
      assertTrue(heap <= memory.get("maxHeapBytes").asLong(), report + ": peak heap " + heap);
      if (BYTES >= 4 * memory.get("maxHeapBytes").asLong()) {
        assertTrue(heap < BYTES / 4, report + ": peak heap " + heap + " for a model of " + BYTES);
      }
    }
  }

  /** The agent downloads the committed checkpoint to evaluate it; waits for the file to be whole. */
  private void awaitFile(Process agent, Path file) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (!Files.isRegularFile(file) && System.nanoTime() < deadline) {
      assertTrue(agent.isAlive(), "the agent exited: " + log("agent.log"));
      Thread.sleep(200);
    }
    assertTrue(Files.isRegularFile(file), "the agent did not fetch the committed checkpoint: " + log("agent.log"));
  }

  private String log(String name) throws Exception {
    String text = Files.readString(dir.resolve(name));
    return text.length() > 20_000 ? text.substring(text.length() - 20_000) : text;
  }
}
