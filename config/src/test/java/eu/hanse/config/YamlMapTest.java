package eu.hanse.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A configuration file's mistakes are refused at their own line, with the reason. */
class YamlMapTest {
  @TempDir Path dir;

  private static YamlMap read(String yaml) {
    return YamlMap.of("site.yaml", YamlMap.compose("site.yaml", yaml, 10_000), "a site configuration");
  }

  @Test
  void valuesAreReadWithTheirTypes() {
    YamlMap site = read("name: jupiter\nslots: 4\ntimeout: 1h30m\ntrainer:\n  command: train.sh\n");
    assertEquals("jupiter", site.requiredString("name"));
    assertEquals(4, site.integer("slots", 1));
    assertEquals(Duration.ofMinutes(90), YamlMap.duration(site.string("timeout", "")));
    assertEquals("train.sh", site.map("trainer").requiredString("command"));
  }

  @Test
  void anUnknownKeyIsRefusedAtItsLineWithTheNearestKnownOne() {
    YamlMap site = read("name: jupiter\ntimeuot: 1h\n");
    site.string("name", "");
    site.string("timeout", "");
    ConfigFileException error = assertThrows(ConfigFileException.class, site::requireNoOthers);
    assertEquals("site.yaml", error.file());
    assertEquals(2, error.line());
    assertTrue(error.reason().contains("unknown key 'timeuot'") && error.reason().contains("'timeout'"),
        error.reason());
  }

  @Test
  void malformedYamlAndWrongValuesSayWhere() {
    ConfigFileException broken = assertThrows(ConfigFileException.class,
        () -> YamlMap.compose("site.yaml", "name: [jupiter\n", 10_000));
    assertTrue(broken.reason().startsWith("not valid YAML"), broken.reason());
    ConfigFileException notNumber = assertThrows(ConfigFileException.class,
        () -> read("name: jupiter\nslots: four\n").integer("slots", 1));
    assertEquals(2, notNumber.line());
    ConfigFileException twice = assertThrows(ConfigFileException.class, () -> read("name: a\nname: b\n"));
    assertEquals(2, twice.line());
  }

  @Test
  void aFileOverItsLimitIsRefusedBeforeItIsRead() throws Exception {
    Path file = Files.writeString(dir.resolve("big.yaml"), "x".repeat(2_000), StandardCharsets.UTF_8);
    ConfigFileException error = assertThrows(ConfigFileException.class,
        () -> YamlMap.readBounded(file, 1_000, "a site configuration"));
    assertEquals(1, error.line());
    assertTrue(error.reason().contains("at most"), error.reason());
  }
}
