package eu.hanse.launcher;

import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.security.TlsFiles;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Runs a site agent: connects out to the coordinator (no inbound port), trains on this site's data when asked and uploads its update. The site's name comes from its certificate in DATA-DIR/tls (see 'hanse ca issue-site'). Reconnects with backoff if the link drops.")
final class AgentCommand implements Runnable {
  @Option(names = "--data-dir", required = true, paramLabel = "DIR",
      description = "The site's directory: tls/ and downloaded checkpoints.")
  Path dataDir;

  @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT",
      description = "The coordinator's address; its certificate must name HOST.")
  String coordinator;

  @Option(names = "--corpus", paramLabel = "DIR",
      description = "Train on the UTF-8 text files in DIR instead of the site's synthetic language.")
  Path corpus;

  @Option(names = "--threads", paramLabel = "N",
      description = "CPU threads for training (default: all available processors).")
  Integer threads;

  @Option(names = "--synthetic-chars", defaultValue = "200000", paramLabel = "N",
      description = "Length of the synthetic corpus when no --corpus is given (default: ${DEFAULT-VALUE}).")
  int syntheticChars;

  @Option(names = "--eval-positions", defaultValue = "" + LocalTrainer.DEFAULT_EVAL_POSITIONS, paramLabel = "N",
      description = "Held-out characters evaluated at most per checkpoint (default: ${DEFAULT-VALUE}).")
  int evalPositions;

  @Option(names = "--exit-when-finished",
      description = "Exit once the coordinator reports the job finished, instead of waiting for more work.")
  boolean exitWhenFinished;

  @Option(names = "--parent-pid", hidden = true, description = "Exit when this process exits (used by the demo).")
  Long parentPid;

  @Override
  public void run() {
    ParentWatch.start(parentPid);
    int cores = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    AgentConfig config = new AgentConfig(dataDir, coordinator, TlsFiles.in(dataDir.resolve("tls")), cores,
        Optional.ofNullable(corpus), syntheticChars, evalPositions, exitWhenFinished);
    try (SiteAgent agent = new SiteAgent(config)) {
      Runtime.getRuntime().addShutdownHook(new Thread(agent::close));
      agent.run();
    }
  }
}
