package eu.hanse.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.TrainerCommand;
import eu.hanse.agent.slurm.SlurmSettings;
import eu.hanse.config.ConfigFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SiteConfigFileTest {
  @TempDir Path dir;

  private Path write(String text) throws Exception {
    Path file = dir.resolve("site.yaml");
    Files.writeString(file, text);
    return file;
  }

  @Test
  void aSlurmSiteIsReadWithPathsBesideTheFile() throws Exception {
    Files.writeString(dir.resolve("booster.sbatch"), "#!/bin/bash\n#SBATCH --partition={{partition}}\nsrun {{launch}}\n");
    TrainerCommand trainer = SiteConfigFile.read(write("""
        trainer:
          command: python3 "/p/project/hanse/train.py" --bf16
          timeout: 3h
          samples: 1_200_000
        slurm:
          template: booster.sbatch
          partition: booster
          account: hanse-ai
          nodes: 2
          gpus-per-node: 4
          time-limit: 2h30m
          modules: [Stages/2025, PyTorch]
          container: /p/project/hanse/pytorch.sif
          sbatch-options: [--qos=normal]
          work-dir: work
          poll-interval: 30s
        """));
    assertEquals(List.of("python3", "/p/project/hanse/train.py", "--bf16"), trainer.command());
    assertEquals(Duration.ofHours(3), trainer.timeout());
    assertEquals(1_200_000, trainer.samples());
    SlurmSettings slurm = trainer.slurm().orElseThrow();
    assertEquals(Optional.of(dir.resolve("booster.sbatch")), slurm.template());
    assertEquals(Optional.of("booster"), slurm.partition());
    assertEquals(Optional.of("hanse-ai"), slurm.account());
    assertEquals(2, slurm.nodes());
    assertEquals(4, slurm.gpusPerNode());
    assertEquals("02:30:00", slurm.slurmTimeLimit());
    assertEquals(List.of("Stages/2025", "PyTorch"), slurm.modules());
    assertEquals(Optional.of("/p/project/hanse/pytorch.sif"), slurm.container());
    assertEquals(SlurmSettings.DEFAULT_CONTAINER_COMMAND, slurm.containerCommand());
    assertEquals(List.of("--qos=normal"), slurm.sbatchOptions());
    assertEquals(Optional.of(dir.resolve("work")), slurm.workDir());
    assertEquals(Duration.ofSeconds(30), slurm.pollInterval());
  }

  @Test
  void aSlurmSectionMayLeaveThePartitionToTheCluster() throws Exception {
    assertTrue(SiteConfigFile.read(write("trainer:\n  command: ./train.sh\nslurm:\n  gpus-per-node: 4\n"))
        .slurm().orElseThrow().partition().isEmpty());
  }

  @Test
  void aTrainerWithoutSlurmRunsBesideTheAgent() throws Exception {
    TrainerCommand trainer = SiteConfigFile.read(write("trainer:\n  command: ./train.sh\n"));
    assertEquals(Duration.ofHours(2), trainer.timeout());
    assertTrue(trainer.slurm().isEmpty());
  }

  @Test
  void mistakesAreRefusedWithTheLineAndTheReason() throws Exception {
    assertEquals("'trainer' needs 'command': the site's trainer, run each round",
        refused("trainer:\n  timeout: 2h\n").reason());
    ConfigFileException misspelt = refused(
        "trainer:\n  command: ./train.sh\nslurm:\n  partition: booster\n  gpus_per_node: 4\n");
    assertEquals(5, misspelt.line());
    assertTrue(misspelt.reason().contains("gpus-per-node"), misspelt.reason());
    ConfigFileException badPartition = refused(
        "trainer:\n  command: ./train.sh\nslurm:\n  partition: a b\n");
    assertTrue(badPartition.reason().contains("a Slurm partition is a name"), badPartition.reason());
    ConfigFileException badNodes = refused(
        "trainer:\n  command: ./train.sh\nslurm:\n  partition: booster\n  nodes: 0\n");
    assertTrue(badNodes.reason().contains("nodes must be at least 1"), badNodes.reason());
    ConfigFileException noTime = refused(
        "trainer:\n  command: ./train.sh\n  timeout: 0s\n");
    assertEquals(3, noTime.line());
    refused("");
    refused("trainer: [unclosed\n");
  }

  @Test
  void aBadTemplateStopsTheAgentAtItsStart() throws Exception {
    Files.writeString(dir.resolve("bad.sbatch"), "#!/bin/bash\n#SBATCH --qos={{qos}}\n{{launch}}\n");
    ConfigFileException bad = refused(
        "trainer:\n  command: ./train.sh\nslurm:\n  partition: booster\n  template: bad.sbatch\n");
    assertEquals(5, bad.line());
    assertTrue(bad.reason().contains("bad.sbatch:2: unknown placeholder {{qos}}"), bad.reason());
    ConfigFileException absent = refused(
        "trainer:\n  command: ./train.sh\nslurm:\n  partition: booster\n  template: none.sbatch\n");
    assertTrue(absent.reason().contains("cannot read the Slurm template"), absent.reason());
  }

  /** The mistake a site configuration of {@code yaml} is refused for. */
  private ConfigFileException refused(String yaml) {
    return assertThrows(ConfigFileException.class, () -> SiteConfigFile.read(write(yaml)));
  }
}
