package eu.hanse.launcher;

import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.CoordinatorConfig;
import eu.hanse.coordinator.events.FederationEvents;
import eu.hanse.coordinator.events.KafkaEvents;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.jobfile.JobDefinition;
import eu.hanse.coordinator.jobfile.JobFile;
import eu.hanse.coordinator.jobfile.JobFileWriter;
import eu.hanse.security.TlsFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

@Command(name = "coordinator", mixinStandardHelpOptions = true,
    description = "Runs a coordinator: listens for site agents over mutual TLS and runs training jobs of the built-in "
        + "character model, several at once. Its certificate, key and the consortium CA are read from DATA-DIR/tls "
        + "(see 'hanse ca init'). Its state (jobs, rounds, accepted updates, checkpoint lineage) is kept in "
        + "DATA-DIR/state.db, checkpoints in DATA-DIR/checkpoints; started again on the same directory it resumes "
        + "every job. Jobs come from --job-file, from the job options below (when any is given), or later from "
        + "'hanse job submit'.")
final class CoordinatorCommand implements Callable<Integer> {
  /** Name of the file, in the data directory, where a started coordinator writes HOST:PORT. */
  static final String ADDRESS_FILE = "coordinator.address";
  /** Name of the file, in the data directory, where a started coordinator writes its enrolment HOST:PORT. */
  static final String ENROL_ADDRESS_FILE = "coordinator.enrol-address";
  /** Where the coordinator writes its console's HOST:PORT once it listens. */
  static final String CONSOLE_ADDRESS_FILE = "coordinator.console-address";

  @Option(names = "--data-dir", required = true, paramLabel = "DIR",
      description = "The coordinator's directory: tls/, state.db, checkpoints, spooled updates, job status.")
  Path dataDir;

  @Option(names = "--listen", defaultValue = "127.0.0.1:7443", paramLabel = "HOST:PORT",
      description = "Address to listen on; port 0 picks a free one (default: ${DEFAULT-VALUE}). "
          + "Use the machine's address or 0.0.0.0 for sites on other machines.")
  String listen;

  @Option(names = "--enrol-port", defaultValue = "7444", paramLabel = "PORT",
      description = "Port on the --listen host where invited sites enrol (TLS without client certificates; the "
          + "token authenticates them); 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int enrolPort;

  @Option(names = "--console", defaultValue = "127.0.0.1:7445", paramLabel = "HOST:PORT|off",
      description = "Where to serve the HTTP console (HTTPS with the coordinator's certificate): the JSON API, the "
          + "live dashboard and /metrics, for operators', leads' and viewers' certificates and the sessions they "
          + "open; port 0 picks a free one, written to DATA-DIR/" + "coordinator.console-address; off serves none "
          + "(default: ${DEFAULT-VALUE}).")
  String console;

  @Option(names = "--job-file", paramLabel = "FILE",
      description = "Submit this job file (YAML, docs/jobs.md) at start; repeatable. A job the directory has "
          + "already is resumed, not submitted again.")
  List<Path> jobFiles = new ArrayList<>();

  @Option(names = "--exit-when-done",
      description = "Exit once every job has finished (exit 0) or failed or been cancelled (exit 1), instead of "
          + "serving until stopped; with no job yet, wait for the first to be submitted.")
  boolean exitWhenDone;

  @Option(names = "--kafka-bootstrap", paramLabel = "HOST:PORT[,HOST:PORT...]",
      description = "Publish every federation event to Kafka at these brokers (kafka.bootstrap): topics "
          + "PREFIX.jobs (keyed by job) and PREFIX.sites (keyed by site), JSON as docs/events.md describes. "
          + "Events wait while the brokers are unreachable; the coordinator goes on meanwhile.")
  String kafkaBootstrap;

  @Option(names = "--kafka-topic-prefix", defaultValue = "hanse", paramLabel = "PREFIX",
      description = "The event topics' prefix (default: ${DEFAULT-VALUE}).")
  String kafkaTopicPrefix;

  @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
      description = "A Kafka producer setting, e.g. security.protocol=SSL or ssl.truststore.location=FILE; "
          + "repeatable.")
  java.util.Map<String, String> kafkaProperties = new java.util.LinkedHashMap<>();

  @Mixin JobOptions job = new JobOptions();

  @Mixin ModelOptions model = new ModelOptions();

  @Spec CommandSpec command;

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process exits (used by the demo).")
  Long parentPid;

  @Override
  public Integer call() throws Exception {
    ParentWatch.start(parentPid);
    HostPort address = HostPort.parse(listen);
    HostPort consoleAddress = console.equals("off") ? null : HostPort.parse(console);
    CoordinatorConfig config = new CoordinatorConfig(dataDir, address.host(), address.port(), enrolPort,
        TlsFiles.in(dataDir.resolve("tls")));
    // Every job is checked before anything starts: a bad file or option changes nothing.
    List<JobDefinition> definitions = new ArrayList<>();
    for (Path file : jobFiles) {
      definitions.add(new JobFile(new CharModels()).read(file));
    }
    if (jobOptionsGiven()) {
      JobSpec spec = job.spec();
      model.config();
      definitions.add(new JobDefinition(spec, model.shape(), JobFileWriter.write(spec, model.shape())));
    }
    if (kafkaBootstrap == null && !kafkaProperties.isEmpty()) {
      throw new IllegalArgumentException("--kafka-property needs --kafka-bootstrap");
    }
    try (FederationEvents events = kafkaBootstrap == null ? FederationEvents.NONE
            : new KafkaEvents(kafkaBootstrap, kafkaTopicPrefix, kafkaProperties);
        Coordinator coordinator = new Coordinator(config, new CharModels(), System.out)) {
      coordinator.publishTo(events);
      if (consoleAddress != null) {
        coordinator.serveConsole(consoleAddress.host(), consoleAddress.port());
      }
      for (JobDefinition definition : definitions) {
        coordinator.submit(definition, "coordinator command line");
      }
      coordinator.start();
      String bound = address.host() + ":" + coordinator.port();
      String enrol = address.host() + ":" + coordinator.enrolPort();
      Files.writeString(dataDir.resolve(ENROL_ADDRESS_FILE), enrol + "\n", StandardCharsets.UTF_8);
      String consoleBound = consoleAddress == null ? null : consoleAddress.host() + ":" + coordinator.consolePort();
      if (consoleBound != null) {
        Files.writeString(dataDir.resolve(CONSOLE_ADDRESS_FILE), consoleBound + "\n", StandardCharsets.UTF_8);
      }
      Files.writeString(dataDir.resolve(ADDRESS_FILE), bound + "\n", StandardCharsets.UTF_8);
      List<JobStatus> jobs = coordinator.jobs();
      System.out.println("coordinator listening on " + bound + " (mutual TLS), enrolment on " + enrol
          + (consoleBound == null ? "" : ", console on https://" + consoleBound + "/") + "; "
          + (jobs.isEmpty() ? "no jobs yet ('hanse job submit FILE' adds one)"
              : "jobs: " + String.join(", ", jobs.stream().map(j -> j.job() + " (" + j.state().toLowerCase(
                  java.util.Locale.ROOT) + ", " + j.roundsCompleted() + "/" + j.roundsPlanned() + " rounds)").toList())));
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        coordinator.close();
        events.close();
      }));
      if (!exitWhenDone) {
        Thread.currentThread().join(); // Serves until stopped; Ctrl-C runs the shutdown hook.
      }
      while (coordinator.jobs().isEmpty()) {
        Thread.sleep(200); // No job yet: wait for the first 'hanse job submit'.
      }
      while (!coordinator.awaitJob(Duration.ofHours(1))) {
        // A job may run for weeks; keep waiting.
      }
      return coordinator.jobs().stream().allMatch(j -> j.state().equals(JobStatus.FINISHED)) ? 0 : 1;
    }
  }

  /** Whether any job or model option was given: then they describe a job to run. */
  private boolean jobOptionsGiven() {
    ParseResult parsed = command.commandLine().getParseResult();
    return command.mixins().entrySet().stream()
        .filter(mixin -> mixin.getKey().equals("job") || mixin.getKey().equals("model"))
        .flatMap(mixin -> mixin.getValue().options().stream())
        .anyMatch(parsed::hasMatchedOption);
  }
}
