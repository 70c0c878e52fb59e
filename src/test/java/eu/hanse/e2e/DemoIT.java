package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code hanse demo} as a real process, which starts a coordinator and three agents as further
 * processes: the summary must be complete and federation must win; Ctrl-C must stop everything.
 */
class DemoIT {
  @TempDir Path dir;

  private Process startDemo(List<String> args, Path output) throws Exception {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
        "-cp", System.getProperty("java.class.path"), "eu.hanse.launcher.Hanse", "demo",
        "--work-dir", dir.resolve("work").toString(), "--synthetic-chars", "60000"));
    command.addAll(args);
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
  }

  @Test
  void demoWritesItsSummaryAndFederationBeatsEverySiteAlone() throws Exception {
    Path json = dir.resolve("summary.json");
    Path output = dir.resolve("demo.out");
    Process demo = startDemo(List.of("--rounds", "3", "--local-steps", "40", "--json", json.toString()), output);
    assertTrue(demo.waitFor(4, TimeUnit.MINUTES), "demo did not finish");
    String printed = Files.readString(output);
    assertEquals(0, demo.exitValue(), printed);

    JsonNode summary = new ObjectMapper().readTree(json.toFile());
    assertEquals(List.of("jupiter", "leonardo", "marenostrum"),
        List.of(summary.get("sites").get(0).asText(), summary.get("sites").get(1).asText(), summary.get("sites").get(2).asText()));
    assertEquals(3, summary.get("roundsCompleted").asInt());
    JsonNode heldOut = summary.get("heldOutLoss");
    assertEquals(4, heldOut.size());
    assertTrue(heldOut.get(3).asDouble() < heldOut.get(0).asDouble(), heldOut.toString());
    assertTrue(summary.get("mtls").asBoolean());
    assertTrue(summary.get("bytesUploaded").asLong() > 0);
    double federated = summary.get("federatedHeldOutLoss").asDouble();
    assertEquals(heldOut.get(3).asDouble(), federated, 1e-9, "the sites' evaluation and the demo's agree");
    JsonNode alone = summary.get("siteAloneHeldOutLoss");
    assertEquals(3, alone.size());
    alone.fields().forEachRemaining(site -> assertTrue(federated < site.getValue().asDouble(),
        "federated " + federated + " is not better than " + site.getKey() + " alone " + site.getValue()));

    Path checkpoint = Path.of(summary.get("checkpoint").asText());
    ModelState model = Safetensors.read(checkpoint);
    assertEquals("3", model.metadata().get("hanse.round"));
    assertReadableByAnIndependentReader(checkpoint, model);
    assertTrue(printed.contains("round  3/3"), printed);
    assertTrue(printed.contains(checkpoint.toString()), "final checkpoint is named in the output");
  }

  /** Reads the checkpoint with a stdlib-only Python reader and compares every tensor with Hanse's reading. */
  private void assertReadableByAnIndependentReader(Path checkpoint, ModelState model) throws Exception {
    Path python = Path.of("/usr/bin/python3");
    Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3: independent safetensors check skipped");
    Path script = dir.resolve("read_safetensors.py");
    try (var in = getClass().getResourceAsStream("/read_safetensors.py")) {
      Files.copy(in, script);
    }
    Process reader = new ProcessBuilder(python.toString(), script.toString(), checkpoint.toString())
        .redirectErrorStream(true).start();
    String json = new String(reader.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, reader.waitFor(), json);
    JsonNode read = new ObjectMapper().readTree(json);
    assertEquals("3", read.get("metadata").get("hanse.round").asText());
    assertEquals(model.tensorCount(), read.get("tensors").size());
    for (int t = 0; t < model.tensorCount(); t++) {
      JsonNode tensor = read.get("tensors").get(model.specs().get(t).name());
      assertEquals(model.specs().get(t).shape().toString(), tensor.get("shape").toString().replace(",", ", "));
      double sum = 0;
      for (float value : model.data(t)) {
        sum += value;
      }
      assertEquals(sum, tensor.get("sum").asDouble(), 1e-9 * (1 + Math.abs(sum)), model.specs().get(t).name());
    }
  }

  @Test
  void interruptingTheDemoStopsEveryProcessItStarted() throws Exception {
    Path output = dir.resolve("demo.out");
    Process demo = startDemo(List.of("--rounds", "50", "--skip-site-alone"), output);
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (!Files.readString(output).contains("round  1/50") && System.nanoTime() < deadline && demo.isAlive()) {
      Thread.sleep(200);
    }
    assertTrue(Files.readString(output).contains("round  1/50"), Files.readString(output));
    List<ProcessHandle> children = demo.descendants().toList();
    assertTrue(children.size() == 4 || children.size() == 5,
        "a coordinator, three agents, and maybe the lead's 'hanse job pause' under way: " + children);

    new ProcessBuilder("kill", "-INT", Long.toString(demo.pid())).start().waitFor();
    assertTrue(demo.waitFor(30, TimeUnit.SECONDS), "demo ignored Ctrl-C");
    for (ProcessHandle child : children) {
      assertTrue(child.onExit().get(15, TimeUnit.SECONDS) != null && !child.isAlive(), "left running: " + child);
    }
  }
}
