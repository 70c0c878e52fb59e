package eu.hanse.agent;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The agent's round loop works on its own records: only the classes that hold the gRPC stubs and
 * {@link AgentWire}, which translates, see a protocol buffer or a gRPC type.
 */
class AgentArchitectureTest {
  private static final JavaClasses CLASSES = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("eu.hanse.agent");

  @Test
  void theRoundLoopAndTheTrainersUseNoWireTypes() {
    noClasses().that().belongToAnyOf(SiteRounds.class, TrainWork.class, EvaluateWork.class, CheckpointAddress.class,
            TrainedUpdate.class, Attack.class, Progress.class)
        .or().resideInAnyPackage("eu.hanse.agent.trainer..", "eu.hanse.agent.data..", "eu.hanse.agent.slurm..")
        .should().dependOnClassesThat().resideInAnyPackage("io.grpc..", "com.google.protobuf..",
            "eu.hanse.protocol.v1..")
        .because("AgentWire translates between the wire and the round loop")
        .check(CLASSES);
  }
}
