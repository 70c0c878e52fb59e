package eu.hanse.launcher;

import eu.hanse.agent.trainer.CharModel;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.CoordinatorConfig;
import eu.hanse.coordinator.JobSpec;
import eu.hanse.coordinator.JobStatus;
import eu.hanse.security.TlsFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "coordinator", mixinStandardHelpOptions = true,
    description = "Runs a coordinator: listens for site agents over mutual TLS and runs one training job of the built-in character model. Its certificate, key and the consortium CA are read from DATA-DIR/tls (see 'hanse ca init'). Checkpoints go to DATA-DIR/checkpoints, the job's status to DATA-DIR/jobs/JOB/status.json. Exits when the job has finished.")
final class CoordinatorCommand implements Callable<Integer> {
  /** Name of the file, in the data directory, where a started coordinator writes HOST:PORT. */
  static final String ADDRESS_FILE = "coordinator.address";
  /** Name of the file, in the data directory, where a started coordinator writes its enrolment HOST:PORT. */
  static final String ENROL_ADDRESS_FILE = "coordinator.enrol-address";

  @Option(names = "--data-dir", required = true, paramLabel = "DIR",
      description = "The coordinator's directory: tls/, checkpoints, spooled updates, job status.")
  Path dataDir;

  @Option(names = "--listen", defaultValue = "127.0.0.1:7443", paramLabel = "HOST:PORT",
      description = "Address to listen on; port 0 picks a free one (default: ${DEFAULT-VALUE}). "
          + "Use the machine's address or 0.0.0.0 for sites on other machines.")
  String listen;

  @Option(names = "--enrol-port", defaultValue = "7444", paramLabel = "PORT",
      description = "Port on the --listen host where invited sites enrol (TLS without client certificates; the "
          + "token authenticates them); 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int enrolPort;

  @Mixin JobOptions job = new JobOptions();

  @Mixin ModelOptions model = new ModelOptions();

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process exits (used by the demo).")
  Long parentPid;

  @Override
  public Integer call() throws Exception {
    ParentWatch.start(parentPid);
    HostPort address = HostPort.parse(listen);
    JobSpec spec = job.spec();
    CoordinatorConfig config = new CoordinatorConfig(dataDir, address.host(), address.port(), enrolPort,
        TlsFiles.in(dataDir.resolve("tls")));
    try (Coordinator coordinator = new Coordinator(config, spec, CharModel.initialize(model.config(), spec.seed()),
        System.out)) {
      coordinator.start();
      String bound = address.host() + ":" + coordinator.port();
      String enrol = address.host() + ":" + coordinator.enrolPort();
      Files.writeString(dataDir.resolve(ENROL_ADDRESS_FILE), enrol + "\n", StandardCharsets.UTF_8);
      Files.writeString(dataDir.resolve(ADDRESS_FILE), bound + "\n", StandardCharsets.UTF_8);
      System.out.println("coordinator listening on " + bound + " (mutual TLS), enrolment on " + enrol + "; job "
          + spec.id() + " starts when " + spec.startSites() + " site" + (spec.startSites() == 1 ? " is" : "s are")
          + " online");
      Runtime.getRuntime().addShutdownHook(new Thread(coordinator::close));
      while (!coordinator.awaitJob(Duration.ofHours(1))) {
        // A job may run for days; keep waiting.
      }
      return coordinator.status().state().equals(JobStatus.FINISHED) ? 0 : 1;
    }
  }
}
