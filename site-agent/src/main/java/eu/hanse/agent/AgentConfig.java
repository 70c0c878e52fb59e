package eu.hanse.agent;

import eu.hanse.kernels.Device;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How to start a site agent.
 *
 * @param dataDir the site's own folder: its TLS files under {@code tls/}, downloaded checkpoints
 * @param coordinator host:port of the coordinator
 * @param credentials the site's keys and certificate; the certificate names the site
 * @param device where training runs: {@code auto} takes the GPU when one works
 * @param threads CPU threads for training on the CPU
 * @param corpus a folder of UTF-8 text to train on; empty for the site's synthetic language
 * @param syntheticCharacters length of the synthetic corpus
 * @param evalPositions held-out positions evaluated at most
 * @param exitWhenFinished stop when the coordinator says the job finished, instead of waiting for more work
 * @param attack what this site sends instead of its honest update, for testing; {@link Attack#none()} normally
 * @param connections connections to the coordinator that a large checkpoint is fetched over, and a large
 *     update sent over, at once
 * @param trainer the site's own trainer, run each round instead of the built-in one; empty for the built-in
 */
public record AgentConfig(
    Path dataDir,
    String coordinator,
    SiteCredentials credentials,
    Device device,
    int threads,
    Optional<Path> corpus,
    int syntheticCharacters,
    int evalPositions,
    boolean exitWhenFinished,
    Attack attack,
    int connections,
    Optional<TrainerCommand> trainer) {
  public static final int DEFAULT_SYNTHETIC_CHARACTERS = 200_000;

  /** One connection per two cores, up to four: one connection's TLS keeps about one core busy. */
  public static final int DEFAULT_CONNECTIONS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));

  /** An agent with the default number of connections. */
  public AgentConfig(Path dataDir, String coordinator, SiteCredentials credentials, Device device, int threads,
      Optional<Path> corpus, int syntheticCharacters, int evalPositions, boolean exitWhenFinished, Attack attack) {
    this(dataDir, coordinator, credentials, device, threads, corpus, syntheticCharacters, evalPositions,
        exitWhenFinished, attack, DEFAULT_CONNECTIONS);
  }

  /** An agent with the built-in trainer. */
  public AgentConfig(Path dataDir, String coordinator, SiteCredentials credentials, Device device, int threads,
      Optional<Path> corpus, int syntheticCharacters, int evalPositions, boolean exitWhenFinished, Attack attack,
      int connections) {
    this(dataDir, coordinator, credentials, device, threads, corpus, syntheticCharacters, evalPositions,
        exitWhenFinished, attack, connections, Optional.empty());
  }

  /** The same agent with the site's own trainer. */
  public AgentConfig withTrainer(TrainerCommand command) {
    return new AgentConfig(dataDir, coordinator, credentials, device, threads, corpus, syntheticCharacters,
        evalPositions, exitWhenFinished, attack, connections, Optional.of(command));
  }

  public AgentConfig {
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(attack, "attack");
    Objects.requireNonNull(trainer, "trainer");
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, was " + threads);
    }
    if (!coordinator.matches("[^\\s:]+:\\d{1,5}") && !coordinator.matches("\\[[0-9a-fA-F:]+\\]:\\d{1,5}")) {
      throw new IllegalArgumentException("coordinator must be HOST:PORT, was '" + coordinator + "'");
    }
    if (connections < 1 || connections > 64) {
      throw new IllegalArgumentException("connections must be 1 to 64, was " + connections);
    }
    if (syntheticCharacters < 1000) {
      throw new IllegalArgumentException("synthetic corpus must be at least 1000 characters, was " + syntheticCharacters);
    }
  }
}
