package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.launcher.CharModels;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 'hanse job watch' and 'hanse status' as an operator runs them, in processes of their own, with a
 * viewer's certificate, while a real federation of two sites runs a job: plain lines when not on a
 * terminal, JSON lines with --json, and progress bars redrawn in place on a terminal (a
 * pseudo-terminal from script(1)).
 */
class WatchIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> SITES = List.of("jupiter", "leonardo");
  private static final ModelFactory MODELS = new CharModels();
  /** Rounds of about three seconds each (the sites train for 3 s), so that a terminal redraws its bars in them. */
  private static final int ROUNDS = 3;

  @TempDir Path dir;

  record Cli(int exit, String out, String err) {}

  @Test
  void anOperatorWatchesAJobToItsEndAndSeesTheFederationsStatus() throws Exception {
    try (TestFederation federation = new TestFederation(dir, new PrintStream(OutputStream.nullOutputStream()));
        Coordinator coordinator = federation.startCoordinatorWithConsole(MODELS, Duration.ofMillis(300))) {
      Path viewer = federation.viewerCredential("vera");
      String console = "127.0.0.1:" + coordinator.consolePort();
      coordinator.submit(coordinator.jobFiles().parse("watched.yaml", """
          job: watched
          rounds: %d
          model:
            context: 4
            embed: 8
            hidden: 64
          local-work:
            time: 3s
          quorum:
            min-sites: 2
          round:
            deadline: 2m
          """.formatted(ROUNDS).getBytes(StandardCharsets.UTF_8)), "test");
      List<String> watch = List.of("job", "watch", "watched", "--console", console, "--credential", viewer.toString());
      Process plain = start("plain", watch);
      Process json = start("json", concat(watch, "--json"));
      Process terminal = startOnTerminal("terminal", watch);
      for (String name : List.of("plain", "json", "terminal")) {
        awaitOutput(name); // Each has read the job's state; events after it reach it whenever it subscribes.
      }

      federation.enrolAndStartAgents(coordinator, SITES, Map.of(), false);

      Cli plainRun = finish("plain", plain);
      assertEquals(0, plainRun.exit(), plainRun.err());
      String out = plainRun.out();
      assertTrue(out.startsWith("job watched: RUNNING, 0 of " + ROUNDS + " rounds committed"), out);
      assertTrue(out.contains("round 1 opened for jupiter, leonardo") || out.contains("round 1 opened for leonardo, "
          + "jupiter"), out);
      assertTrue(out.contains("round 2: update from leonardo accepted ("), out);
      assertTrue(out.contains("round " + ROUNDS + " committed in "), out);
      assertTrue(out.strip().endsWith("job watched finished after " + ROUNDS + " rounds"), out);
      assertTrue(!out.contains("\033["), "no terminal control sequences when not on a terminal");

      Cli jsonRun = finish("json", json);
      assertEquals(0, jsonRun.exit(), jsonRun.err());
      List<JsonNode> lines = new ArrayList<>();
      for (String line : jsonRun.out().strip().split("\n")) {
        lines.add(JSON.readTree(line));
      }
      assertEquals("watched", lines.get(0).get("job").asText(), "the job's status first");
      long previous = 0;
      for (JsonNode event : lines.subList(1, lines.size())) {
        assertEquals("watched", event.get("job").asText());
        assertTrue(event.get("seq").asLong() > previous, "events in order");
        previous = event.get("seq").asLong();
      }
      assertEquals("job.finished", lines.getLast().get("type").asText());
      assertEquals(ROUNDS, lines.stream().filter(event -> event.path("type").asText().equals("round.committed"))
          .count());

      Cli terminalRun = finish("terminal", terminal);
      assertEquals(0, terminalRun.exit(), terminalRun.out());
      String screen = terminalRun.out();
      assertTrue(screen.contains("\033[") && screen.contains("F\033[J"), "redrawn in place: " + screen);
      assertTrue(screen.matches("(?s).*round \\d open for \\d+ s.*"), screen);
      assertTrue(screen.matches("(?s).*  (jupiter|leonardo) +\\[[#-]{30}\\] +\\d+%.*"), "a bar per site: " + screen);
      assertTrue(screen.contains("round " + ROUNDS + " committed in "), screen);

      Cli status = hanse(List.of("status", "--console", console, "--credential", viewer.toString()));
      assertEquals(0, status.exit(), status.err());
      assertTrue(status.out().contains("Sites: 2 of 2 online"), status.out());
      assertTrue(status.out().matches("(?s).*  watched +FINISHED +" + ROUNDS + "/" + ROUNDS + " .*"), status.out());
      assertTrue(status.out().contains("Audit trail: audit trail intact"), status.out());
      Cli statusJson = hanse(List.of("status", "--console", console, "--credential", viewer.toString(), "--json"));
      assertEquals(2, JSON.readTree(statusJson.out()).get("sites").size());

      Cli unknown = hanse(List.of("job", "watch", "nope", "--console", console, "--credential", viewer.toString()));
      assertEquals(2, unknown.exit());
      assertTrue(unknown.err().contains("no job 'nope' at this coordinator; jobs: [watched]"), unknown.err());
    }
  }

  private void awaitOutput(String name) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (Files.size(dir.resolve(name + ".out")) == 0) {
      assertTrue(System.nanoTime() < deadline, name + " printed nothing: " + Files.readString(dir.resolve(name + ".err")));
      Thread.sleep(100);
    }
  }

  private static List<String> concat(List<String> args, String... more) {
    List<String> all = new ArrayList<>(args);
    all.addAll(List.of(more));
    return all;
  }

  private Process start(String name, List<String> args) throws Exception {
    return new ProcessBuilder(TestFederation.hanseCommand(args)).redirectOutput(dir.resolve(name + ".out").toFile())
        .redirectError(dir.resolve(name + ".err").toFile()).start();
  }

  /** Runs the command under script(1), which gives it a pseudo-terminal and copies what it draws. */
  private Process startOnTerminal(String name, List<String> args) throws Exception {
    String command = String.join(" ", TestFederation.hanseCommand(args).stream().map(WatchIT::quoted).toList());
    return new ProcessBuilder("script", "-qec", command, "/dev/null").redirectOutput(dir.resolve(name + ".out")
        .toFile()).redirectError(dir.resolve(name + ".err").toFile()).start();
  }

  private static String quoted(String arg) {
    return "'" + arg.replace("'", "'\\''") + "'";
  }

  private Cli finish(String name, Process process) throws Exception {
    assertTrue(process.waitFor(3, TimeUnit.MINUTES), name + " did not end");
    return new Cli(process.exitValue(), Files.readString(dir.resolve(name + ".out")),
        Files.readString(dir.resolve(name + ".err")));
  }

  private Cli hanse(List<String> args) throws Exception {
    Path out = Files.createTempFile(dir, "cli", ".out");
    Path err = Files.createTempFile(dir, "cli", ".err");
    Process process = new ProcessBuilder(TestFederation.hanseCommand(args)).redirectOutput(out.toFile())
        .redirectError(err.toFile()).start();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "hanse " + String.join(" ", args) + " did not end");
    return new Cli(process.exitValue(), Files.readString(out), Files.readString(err));
  }
}
