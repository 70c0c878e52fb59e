package eu.hanse.launcher;

import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.Attack;
import eu.hanse.agent.Enrolment;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.SiteCredentials;
import eu.hanse.agent.TrainerCommand;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.kernels.Device;
import eu.hanse.security.SiteId;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Runs a site agent: connects out to the coordinator (no inbound port), trains on this site's data "
        + "when asked and uploads its signed update. The site's name comes from its certificate in DATA-DIR/tls, "
        + "obtained with 'hanse agent enroll'. Reconnects with backoff if the link drops.",
    subcommands = {AgentCommand.Enroll.class, AgentCommand.Renew.class})
final class AgentCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "The site's directory: tls/ (its keys and certificate) and downloaded checkpoints. Required.")
  Path dataDir;

  @Option(names = "--coordinator", paramLabel = "HOST:PORT",
      description = "The coordinator's address; its certificate must name HOST. Required.")
  String coordinator;

  @Option(names = "--corpus", paramLabel = "DIR",
      description = "Train on the UTF-8 text files in DIR instead of the site's synthetic language.")
  Path corpus;

  @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu", converter = DeviceConverter.class,
      description = DeviceConverter.DESCRIPTION)
  Device device;

  @Option(names = "--threads", paramLabel = "N",
      description = "CPU threads for training on the CPU (default: all available processors).")
  Integer threads;

  @Option(names = "--synthetic-chars", defaultValue = "200000", paramLabel = "N",
      description = "Length of the synthetic corpus when no --corpus is given (default: ${DEFAULT-VALUE}).")
  int syntheticChars;

  @Option(names = "--eval-positions", defaultValue = "" + LocalTrainer.DEFAULT_EVAL_POSITIONS, paramLabel = "N",
      description = "Held-out characters evaluated at most per checkpoint (default: ${DEFAULT-VALUE}).")
  int evalPositions;

  @Option(names = "--connections", paramLabel = "N",
      description = "Connections to the coordinator that a large checkpoint is fetched over, and a large update "
          + "sent over, at once, 64 MiB or more per connection, one TLS stream each (default: one per two cores, at "
          + "most 4).")
  Integer connections;

  @Option(names = "--trainer-command", paramLabel = "COMMAND",
      description = "The site's own trainer, run each round instead of the built-in model's: the command (split on "
          + "spaces; quote words that hold one) gets the round file's path as its last argument, reads the global "
          + "checkpoint and writes the trained one and a metrics file (docs/external-trainer.md). A trainer that "
          + "fails, times out or writes a bad model fails the round for this site, with the reason.")
  String trainerCommand;

  @Option(names = "--trainer-timeout", defaultValue = "PT2H", paramLabel = "DURATION",
      description = "How long a round's training may take (ISO-8601; with a job's time budget, the budget plus this; "
          + "default: ${DEFAULT-VALUE}).")
  java.time.Duration trainerTimeout;

  @Option(names = "--trainer-samples", defaultValue = "0", paramLabel = "N",
      description = "Training examples the site's own trainer holds, declared to the coordinator when the agent "
          + "connects and shown to operators (default: the built-in corpus's count).")
  long trainerSamples;

  @Option(names = "--site-config", paramLabel = "FILE",
      description = "A site configuration (YAML; docs/slurm.md): the site's own trainer ('trainer': command, timeout, "
          + "samples) and, in a 'slurm' section, how it runs as a Slurm batch job (template, partition, account, "
          + "nodes, GPUs per node, time limit, modules, container). Instead of the --trainer-* options.")
  Path siteConfig;

  @Option(names = "--exit-when-finished",
      description = "Exit once the coordinator reports the job finished, instead of waiting for more work.")
  boolean exitWhenFinished;

  @Option(names = "--attack", hidden = true, paramLabel = "KIND",
      description = "Testing only: send a malicious update (sign-flip, scale:F, random) instead of the trained one.")
  String attack;

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process exits (used by the demo).")
  Long parentPid;

  @Override
  public void run() {
    if (dataDir == null || coordinator == null) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "hanse agent needs --data-dir and --coordinator (or a subcommand: enroll, renew)");
    }
    ParentWatch.start(parentPid);
    int cores = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    AgentConfig config = new AgentConfig(dataDir, coordinator, new SiteCredentials(dataDir.resolve("tls")), device, cores,
        Optional.ofNullable(corpus), syntheticChars, evalPositions, exitWhenFinished,
        attack == null ? Attack.none() : Attack.parse(attack),
        connections == null ? AgentConfig.DEFAULT_CONNECTIONS : connections);
    if (siteConfig != null) {
      if (trainerCommand != null || spec.commandLine().getParseResult().hasMatchedOption("--trainer-timeout")
          || spec.commandLine().getParseResult().hasMatchedOption("--trainer-samples")) {
        throw new CommandLine.ParameterException(spec.commandLine(), "give the trainer in the site configuration ("
            + "--site-config) or with the --trainer-* options, not both");
      }
      config = config.withTrainer(SiteConfigFile.read(siteConfig));
    } else if (trainerCommand != null) {
      config = config.withTrainer(new TrainerCommand(TrainerCommand.words(trainerCommand), trainerTimeout,
          trainerSamples));
    }
    try (SiteAgent agent = new SiteAgent(config)) {
      Runtime.getRuntime().addShutdownHook(new Thread(agent::close));
      agent.run();
    }
  }

  @Command(name = "enroll", mixinStandardHelpOptions = true,
      description = "Joins this site to the consortium with an invitation token: generates the site's TLS key and "
          + "Ed25519 signing key in DATA-DIR/tls, sends only a certificate request and the public key, and stores "
          + "the issued certificate. The private keys never leave DATA-DIR.")
  static final class Enroll implements Runnable {
    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT",
        description = "The coordinator's enrolment address (its --enrol-port; 7444 by default).")
    String coordinator;

    @Option(names = "--token", required = true, paramLabel = "TOKEN", description = "The token from 'hanse site invite'.")
    String token;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The site's directory.")
    Path dataDir;

    @Option(names = "--attack", hidden = true, paramLabel = "KIND",
      description = "Testing only: send a malicious update (sign-flip, scale:F, random) instead of the trained one.")
  String attack;

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process exits (used by the demo).")
    Long parentPid;

    @Override
    public void run() {
      ParentWatch.start(parentPid);
      SiteId site = Enrolment.enroll(coordinator, token, dataDir);
      System.out.println("site " + site + " enrolled; credentials in " + dataDir.resolve("tls"));
    }
  }

  @Command(name = "renew", mixinStandardHelpOptions = true,
      description = "Rotates this site's keys and certificate before the old one expires, over its current "
          + "mutual-TLS link. A running agent keeps its job and uses the new certificate when it next connects.")
  static final class Renew implements Runnable {
    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's address.")
    String coordinator;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The site's directory.")
    Path dataDir;

    @Override
    public void run() {
      X509Certificate renewed = Enrolment.renew(coordinator, dataDir);
      System.out.println("certificate renewed: serial " + renewed.getSerialNumber().toString(16) + ", valid until "
          + renewed.getNotAfter().toInstant());
    }
  }
}
