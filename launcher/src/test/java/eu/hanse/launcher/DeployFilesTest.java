package eu.hanse.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
  private static final Pattern HANSE = Pattern.compile("(?:^|[\\s(])(?:/opt/hanse/)?hanse\\s+([a-z][^&|;)>]*)");

  @Test
  @SuppressWarnings("unchecked")
  void everyHanseCommandInTheDeployFilesParses() throws Exception {
    List<String> commands = new ArrayList<>();
    Map<String, Object> compose = new org.yaml.snakeyaml.Yaml().load(Files.readString(Path.of("../deploy/kafka/compose.yaml")));
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
    for (String unit : List.of("hanse-agent.service", "hanse-coordinator.service")) {
      for (String line : Files.readAllLines(Path.of("../deploy/systemd").resolve(unit))) {
        if (line.startsWith("ExecStart=")) {
          commands.addAll(hanseCommands(line.substring("ExecStart=".length())));
        }
      }
    }

    assertTrue(commands.size() >= 6, "found " + commands);
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
    assertEquals(1, commands.stream().filter(c -> c.startsWith("agent enroll")).count(), commands.toString());
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
}
