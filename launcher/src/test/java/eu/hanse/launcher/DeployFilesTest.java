package eu.hanse.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The deployment files run 'hanse' command lines an operator copies; each one must still parse
 * with today's command line, or the files have drifted from the code.
 */
class DeployFilesTest {
  /** "hanse SUBCOMMAND ..." up to the end or a shell operator. */
  private static final Pattern HANSE = Pattern.compile("(?:^|[\\s(])(?:/opt/hanse/|%h/hanse/)?hanse\\s+([a-z][^&|;)>]*)");

  @Test
  void everyHanseCommandInTheDeployFilesParses() throws Exception {
    List<String> commands = new ArrayList<>();
    for (String file : List.of("../deploy/kafka/compose.yaml", "../deploy/coordinator/compose.yaml")) {
      commands.addAll(composeCommands(Path.of(file)));
    }
    for (String unit : List.of("hanse-agent.service", "hanse-coordinator.service", "hanse-site-agent@.service")) {
      for (String line : Files.readAllLines(Path.of("../deploy/systemd").resolve(unit))) {
        if (line.startsWith("ExecStart=")) {
          commands.addAll(hanseCommands(line.substring("ExecStart=".length())));
        }
      }
    }

    assertTrue(commands.size() >= 8, "found " + commands);
    for (String command : commands) {
      String[] args = Arrays.stream(command.split("\\s+")).map(a -> a.replaceAll("^\"|\"$", "")).toArray(String[]::new);
      CommandLine commandLine = Hanse.commandLine();
      try {
        commandLine.parseArgs(args);
      } catch (CommandLine.ParameterException e) {
        throw new AssertionError("'hanse " + command + "' no longer parses: " + e.getMessage(), e);
      }
    }
    assertTrue(commands.stream().anyMatch(c -> c.startsWith("coordinator") && c.contains("--kafka-bootstrap kafka:9092")),
        commands.toString());
    assertTrue(commands.stream().anyMatch(c -> c.startsWith("agent") && c.contains("--site-config")),
        commands.toString());
    assertEquals(1, commands.stream().filter(c -> c.startsWith("agent enroll")).count(), commands.toString());
  }

  @SuppressWarnings("unchecked")
  private static List<String> composeCommands(Path file) throws Exception {
    List<String> commands = new ArrayList<>();
    Map<String, Object> compose = new org.yaml.snakeyaml.Yaml().load(Files.readString(file));
    for (Object service : ((Map<String, Object>) compose.get("services")).values()) {
      Map<String, Object> settings = (Map<String, Object>) service;
      Object command = settings.get("command");
      if (command == null) {
        continue;
      }
      String text = command instanceof List<?> list ? String.join(" ", list.stream().map(Object::toString).toList())
          : command.toString();
      if (settings.containsKey("entrypoint")) {
        commands.addAll(hanseCommands(text));
      } else {
        commands.add(text.strip()); // Arguments to the image's entry point, 'hanse'.
      }
    }
    return commands;
  }

  private static List<String> hanseCommands(String text) {
    List<String> found = new ArrayList<>();
    // A shell substitution, "$(cat FILE)", stands for one argument.
    String words = text.replaceAll("\"?\\$\\$?\\([^)]*\\)\"?", "VALUE").replaceAll("\\s+", " ");
    Matcher matcher = HANSE.matcher(words);
    while (matcher.find()) {
      found.add(matcher.group(1).strip());
    }
    return found;
  }

  /**
   * Each centre's site configuration reads, its template renders a round's batch script that bash
   * can parse, with the centre's partition (or QoS), account and GPUs, and the trainer launched on
   * every node.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"jupiter", "leonardo", "marenostrum5"})
  void eachCentresSiteConfigurationRendersAScriptBashCanRun(String centre,
      @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path folder = Path.of("../deploy").resolve(centre).toAbsolutePath().normalize();
    eu.hanse.agent.TrainerCommand trainer = SiteConfigFile.read(folder.resolve("site.yaml"));
    eu.hanse.agent.slurm.SlurmSettings slurm = trainer.slurm().orElseThrow();
    assertTrue(slurm.template().isPresent() && slurm.template().get().startsWith(folder), slurm.template().toString());
    Path round = Files.createDirectories(dir.resolve("pilot/round-3"));
    List<String> command = new ArrayList<>(trainer.command());
    command.add(round.resolve("round.json").toString());
    String script = new eu.hanse.agent.slurm.SlurmLauncher(slurm).script(new eu.hanse.agent.trainer.TrainerLauncher.Run(
        command, round, Map.of("HANSE_ROUND_FILE", round.resolve("round.json").toString()), round.resolve("trainer.log"),
        java.time.Duration.ofHours(1), new eu.hanse.agent.trainer.StopSignal(), phase -> {}, java.util.Optional.empty()));
    Path file = round.resolve("job.sbatch");
    Files.writeString(file, script);
    Process bash = new ProcessBuilder("bash", "-n", file.toString()).redirectErrorStream(true).start();
    String complaints = new String(bash.getInputStream().readAllBytes());
    assertEquals(0, bash.waitFor(), "bash -n " + centre + ": " + complaints + "\n" + script);
    assertTrue(script.contains("#SBATCH --job-name=hanse-pilot-round-3\n"), script);
    assertTrue(script.contains("#SBATCH --account=" + slurm.account().orElseThrow() + "\n"), script);
    assertEquals(slurm.partition().isPresent(), script.contains("#SBATCH --partition="), script);
    assertTrue(script.contains("gpu" + (script.contains("--gres=") ? ":" : "s-per-node=") + "4\n"), script);
    assertTrue(script.contains("#SBATCH --output=" + round.resolve("trainer.log") + "\n"), script);
    assertTrue(script.contains("module load " + String.join(" ", slurm.modules()) + "\n"), script);
    assertTrue(script.contains("export HANSE_ROUND_FILE="), script);
    assertTrue(script.lines().anyMatch(line -> line.startsWith("srun ") && line.endsWith(" " + round.resolve("round.json"))
        && line.contains("torchrun")), script);
    assertFalse(script.contains("{{"), script);
    slurm.container().ifPresent(image -> assertTrue(script.contains(slurm.containerCommand() + " " + image), script));
    for (String option : slurm.sbatchOptions()) {
      assertTrue(script.contains("#SBATCH " + option + "\n"), script);
    }
    if (slurm.binDir().isPresent()) {
      for (String tool : List.of("sbatch", "squeue", "sacct", "scancel")) {
        Path wrapper = slurm.binDir().get().resolve(tool);
        assertTrue(Files.isExecutable(wrapper), wrapper.toString());
        Process sh = new ProcessBuilder("sh", "-n", wrapper.toString()).redirectErrorStream(true).start();
        assertEquals(0, sh.waitFor(), new String(sh.getInputStream().readAllBytes()));
      }
    }
  }
}
