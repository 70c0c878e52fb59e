package eu.hanse.agent.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SlurmSettingsTest {
  private static SlurmSettings settings(String partition, Duration limit, List<String> modules, List<String> options) {
    return new SlurmSettings(Optional.empty(), Optional.of(partition), Optional.empty(), 1, 4, limit, modules, Optional.empty(),
        SlurmSettings.DEFAULT_CONTAINER_COMMAND, options, Optional.empty(), Optional.empty(),
        SlurmSettings.DEFAULT_POLL_INTERVAL);
  }

  @Test
  void theTimeLimitIsWrittenAsSlurmReadsIt() {
    assertEquals("02:00:00", settings("booster", Duration.ofHours(2), List.of(), List.of()).slurmTimeLimit());
    assertEquals("1-06:30:05", settings("booster", Duration.parse("P1DT6H30M5S"), List.of(), List.of()).slurmTimeLimit());
  }

  @Test
  void namesThatCouldBreakTheScriptAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> settings("boost er", Duration.ofHours(1), List.of(), List.of()));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> settings("booster", Duration.ofHours(1),
        List.of("PyTorch; rm -rf /"), List.of())).getMessage().contains("a module is a name"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> settings("booster", Duration.ofHours(1), List.of(),
        List.of("--qos=$(whoami)"))).getMessage().contains("an sbatch option"));
    assertThrows(IllegalArgumentException.class, () -> settings("booster", Duration.ofSeconds(30), List.of(), List.of()));
    settings("boost_usr_prod", Duration.ofHours(1), List.of("Stages/2025", "PyTorch/2.1.2-foss-2023a"),
        List.of("--qos=normal", "--exclusive"));
  }

  @Test
  void aWorkFolderABatchScriptCannotCarryIsRefused() {
    for (String folder : java.util.List.of("/p/scratch/my project", "/p/scratch/100%", "/p/scratch/$USER")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SlurmSettings(Optional.empty(),
          Optional.of("booster"), Optional.empty(), 1, 4, Duration.ofHours(1), List.of(), Optional.empty(),
          SlurmSettings.DEFAULT_CONTAINER_COMMAND, List.of(), Optional.of(java.nio.file.Path.of(folder)), Optional.empty(),
          SlurmSettings.DEFAULT_POLL_INTERVAL));
      assertTrue(e.getMessage().contains("cannot carry"), e.getMessage());
    }
  }
}
