package eu.hanse.coordinator;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's packages as docs/architecture.md draws them, checked on its compiled classes.
 * The round core (jobs, rounds, commit) and storage know nothing of the transport, the console or
 * Kafka, so a new scheduling policy, model source or update transform can be written and tested
 * without a socket; only the composition root sees every part.
 */
class ArchitectureTest {
  private static final JavaClasses CLASSES = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("eu.hanse.coordinator");

  private static final String[] TRANSPORTS = {"io.grpc..", "com.google.protobuf..", "eu.hanse.protocol.v1..",
      "io.netty..", "io.vertx..", "org.apache.kafka.."};

  @Test
  void theRoundCoreAndStorageUseNoTransportConsoleOrKafka() {
    noClasses().that().resideInAnyPackage("eu.hanse.coordinator.round..", "eu.hanse.coordinator.job..",
            "eu.hanse.coordinator.jobfile..", "eu.hanse.coordinator.storage..")
        .should().dependOnClassesThat().resideInAnyPackage(TRANSPORTS)
        .because("the round core is driven through AgentLink and UpdateIntake, and tested without sockets")
        .check(CLASSES);
  }

  @Test
  void theRoundCoreDoesNotReachIntoTheEdgeOrTheConsole() {
    noClasses().that().resideInAnyPackage("eu.hanse.coordinator.round..", "eu.hanse.coordinator.job..",
            "eu.hanse.coordinator.jobfile..", "eu.hanse.coordinator.storage..", "eu.hanse.coordinator.consortium..",
            "eu.hanse.coordinator.events..")
        .should().dependOnClassesThat().resideInAnyPackage("eu.hanse.coordinator.grpc..",
            "eu.hanse.coordinator.console..")
        .check(CLASSES);
  }

  @Test
  void onlyTheCompositionRootBuildsOnEverything() {
    noClasses().that().resideOutsideOfPackage("eu.hanse.coordinator")
        .should().dependOnClassesThat().resideInAPackage("eu.hanse.coordinator")
        .because("Coordinator builds and starts the parts; none of them calls back into it")
        .check(CLASSES);
  }

  @Test
  void thePackagesDependOnEachOtherWithoutCycles() {
    slices().matching("eu.hanse.coordinator.(*)..").should().beFreeOfCycles().check(CLASSES);
  }
}
