package eu.hanse.launcher;

import eu.hanse.agent.TrainerCommand;
import eu.hanse.agent.slurm.SlurmLauncher;
import eu.hanse.agent.slurm.SlurmSettings;
import eu.hanse.config.ConfigFileException;
import eu.hanse.config.YamlMap;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a site configuration: the YAML a site writes to say how its agent trains (docs/slurm.md):
 * its own trainer command, and, in a {@code slurm} section, how that command runs as a batch job.
 * Every problem is refused with the file, the line and the reason; a Slurm template is read and
 * checked here too, so a bad one stops the agent at its start, not in its first round.
 */
final class SiteConfigFile {
  /** A site configuration is a page; anything this large is not one. */
  static final int MAX_BYTES = 64 << 10;

  private SiteConfigFile() {}

  /** The trainer the file describes. */
  static TrainerCommand read(Path path) {
    String name = path.toString();
    String text;
    try {
      text = YamlMap.utf8(name, YamlMap.readBounded(path, MAX_BYTES, "a site configuration"), MAX_BYTES,
          "a site configuration");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the site configuration " + path + ": " + e.getMessage(), e);
    }
    Node root = YamlMap.compose(name, text, MAX_BYTES);
    if (root == null) {
      throw new ConfigFileException(name, 1, "the file is empty; a site configuration needs at least a 'trainer' "
          + "section with its 'command'");
    }
    YamlMap site = YamlMap.of(name, root, "a site configuration");
    YamlMap trainer = site.map("trainer");
    if (!trainer.has("command")) {
      throw trainer.error(trainer.node(), "'trainer' needs 'command': the site's trainer, run each round");
    }
    String command = trainer.requiredString("command");
    Duration timeout = trainer.duration("timeout", Duration.ofHours(2));
    if (timeout.isNegative() || timeout.isZero()) {
      throw trainer.error(trainer.lineOf("timeout"), "'timeout' must be positive, was " + timeout);
    }
    long samples = trainer.count("samples", 0);
    trainer.requireNoOthers();
    Optional<SlurmSettings> slurm = site.has("slurm") ? Optional.of(slurm(site.map("slurm"), path)) : Optional.empty();
    site.requireNoOthers();
    try {
      return new TrainerCommand(TrainerCommand.words(command), timeout, samples, slurm);
    } catch (IllegalArgumentException e) {
      throw trainer.error(trainer.lineOf("command"), e.getMessage());
    }
  }

  private static SlurmSettings slurm(YamlMap slurm, Path file) {
    Path folder = file.toAbsolutePath().getParent();
    Optional<Path> template = slurm.value("template").map(node -> folder.resolve(slurm.scalar(node, "template")));
    SlurmSettings settings;
    try {
      settings = new SlurmSettings(template, Optional.ofNullable(slurm.string("partition", null)),
          Optional.ofNullable(slurm.string("account", null)), slurm.integer("nodes", 1), slurm.integer("gpus-per-node", 0),
          slurm.duration("time-limit", Duration.ofHours(2)), strings(slurm, "modules"),
          Optional.ofNullable(slurm.string("container", null)),
          slurm.string("container-command", SlurmSettings.DEFAULT_CONTAINER_COMMAND), strings(slurm, "sbatch-options"),
          slurm.value("work-dir").map(node -> folder.resolve(slurm.scalar(node, "work-dir"))),
          slurm.value("bin-dir").map(node -> folder.resolve(slurm.scalar(node, "bin-dir"))),
          slurm.duration("poll-interval", SlurmSettings.DEFAULT_POLL_INTERVAL));
    } catch (IllegalArgumentException e) {
      throw slurm.error(slurm.node(), "'slurm': " + e.getMessage());
    }
    slurm.requireNoOthers();
    try {
      new SlurmLauncher(settings);
    } catch (IllegalArgumentException e) {
      throw slurm.error(slurm.lineOf("template"), e.getMessage());
    }
    return settings;
  }

  private static List<String> strings(YamlMap map, String key) {
    return map.list(key).stream().map(node -> map.scalar(node, key)).toList();
  }
}
