package eu.hanse.agent.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class SlurmCommandsTest {
  @Test
  void theJobIdIsSbatchsLastLineThatIsOneEvenBehindABanner() {
    assertEquals(Optional.of("4242"), SlurmCommands.submittedId("4242\n"));
    assertEquals(Optional.of("4242"), SlurmCommands.submittedId("4242;jupiter\n"));
    assertEquals(Optional.of("17_3"), SlurmCommands.submittedId("Welcome to the login node\nquota: 80%\n17_3\n"));
    assertEquals(Optional.empty(), SlurmCommands.submittedId("sbatch: error: Batch job submission failed\n"));
    assertEquals(Optional.empty(), SlurmCommands.submittedId(""));
  }
}
