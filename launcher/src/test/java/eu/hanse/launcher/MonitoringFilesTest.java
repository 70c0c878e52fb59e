package eu.hanse.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * deploy/monitoring is what operators copy into Prometheus and Grafana: promtool must accept the
 * configuration and the rules, the rules' own tests (alerts-test.yaml) must pass, and the dashboard
 * must be a Grafana dashboard whose every panel queries something.
 */
class MonitoringFilesTest {
  private static final Path DIR = Path.of("../deploy/monitoring");

  private static Path promtool() {
    Path found = Stream.of(System.getenv("PATH").split(File.pathSeparator)).map(dir -> Path.of(dir, "promtool"))
        .filter(Files::isExecutable).findFirst().orElse(null);
    Assumptions.assumeTrue(found != null,
        "promtool is not installed (Debian's prometheus package; .ci/run installs it): the rules were not checked");
    return found;
  }

  private static void promtoolAccepts(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(promtool().toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, process.exitValue(), String.join(" ", args) + ":\n" + output);
  }

  @Test
  void promtoolAcceptsTheConfigurationAndTheRules() throws Exception {
    promtoolAccepts("check", "config", "--syntax-only", "prometheus.yaml");
    promtoolAccepts("check", "rules", "alerts.yaml");
  }

  @Test
  void eachAlertFiresWhenItShouldAndNotBefore() throws Exception {
    promtoolAccepts("test", "rules", "alerts-test.yaml");
  }

  @Test
  void theDashboardIsAGrafanaDashboardWhosePanelsAllQuery() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(DIR.resolve("grafana-dashboard.json").toFile());
    assertEquals("hanse-federation", dashboard.get("uid").asText());
    assertTrue(dashboard.get("panels").size() >= 10);
    for (JsonNode panel : dashboard.get("panels")) {
      assertTrue(panel.get("targets").size() > 0, panel.get("title").asText());
      for (JsonNode target : panel.get("targets")) {
        assertTrue(target.get("expr").asText().contains("hanse_"), panel.get("title").asText());
      }
    }
  }
}
