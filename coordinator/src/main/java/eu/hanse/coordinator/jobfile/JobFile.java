package eu.hanse.coordinator.jobfile;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.config.ConfigFileException;
import eu.hanse.config.YamlMap;
import eu.hanse.coordinator.job.AsyncRounds;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSchedule;
import eu.hanse.coordinator.job.JobSite;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.MaintenanceWindow;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.coordinator.job.ModelShape;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.UpdateCodec;
import eu.hanse.security.SiteId;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a job file: the YAML a training lead writes to describe a job (docs/jobs.md). Every
 * problem, from a YAML syntax error to a quorum larger than the list of sites, is refused with the
 * file's name, the line and the reason, and nothing is half-read: a file either gives a whole job
 * or an error.
 */
public final class JobFile {
  /** Job files are a page or two; anything this large is not one. */
  public static final int MAX_BYTES = 1 << 20;

  private final ModelFactory models;

  /** @param models checks the model section's shape; null to take any shape */
  public JobFile(ModelFactory models) {
    this.models = models;
  }

  /** Reads and checks a job file. */
  public JobDefinition read(Path path) throws IOException {
    return parse(path.toString(), YamlMap.readBounded(path, MAX_BYTES, "a job file"));
  }

  /** Checks a job file's bytes, named {@code name} in errors. */
  public JobDefinition parse(String name, byte[] bytes) {
    String text = YamlMap.utf8(name, bytes, MAX_BYTES, "a job file");
    Node root = compose(name, text);
    YamlMap job = YamlMap.of(name, root, "a job file");
    JobDefinition definition = new Reader(job, text).read();
    return definition;
  }

  private static Node compose(String name, String text) {
    Node root = YamlMap.compose(name, text, MAX_BYTES);
    if (root == null) {
      throw new ConfigFileException(name, 1, "the file is empty; a job needs at least 'job: ID'");
    }
    return root;
  }

  /** One file's reading, section by section. */
  private final class Reader {
    private final YamlMap job;
    private final String source;

    Reader(YamlMap job, String source) {
      this.job = job;
      this.source = source;
    }

    JobDefinition read() {
      JobId id = at(job.value("job").orElseThrow(() -> job.error(job.node(), "'job' is required: the job's id")),
          () -> new JobId(job.requiredString("job")));
      int rounds = job.integer("rounds", 20);
      requireAt(job.lineOf("rounds"), rounds >= 1, "'rounds' must be at least 1, was " + rounds);
      long seed = job.integer("seed", 42);
      Instant start = job.value("start").map(node -> job.convert(node, "start", MaintenanceWindow::instant))
          .orElse(null);
      ModelShape model = model(job.map("model"));
      TrainerSettings trainer = trainer(job.map("trainer"));
      YamlMap work = job.map("local-work");
      int steps = work.integer("steps", 100);
      Duration time = work.duration("time", null);
      work.requireNoOthers();
      requireAt(work.lineOf("steps"), steps >= 1, "'steps' must be at least 1, was " + steps);
      if (work.has("steps") && time != null) {
        throw work.error(work.lineOf("time"), "give 'steps' or 'time', not both: a round's local work is one or "
            + "the other");
      }
      requireAt(work.lineOf("time"), time == null || time.compareTo(Duration.ofSeconds(1)) >= 0,
          "'time' must be at least 1s, was " + time);
      YamlMap round = job.map("round");
      Duration deadline = round.duration("deadline", Duration.ofMinutes(10));
      requireAt(round.lineOf("deadline"), deadline.compareTo(Duration.ofSeconds(1)) >= 0,
          "'deadline' must be at least 1s, was " + deadline);
      Stragglers stragglers = stragglers(round, deadline);
      AsyncRounds asyncRounds = async(round);
      round.requireNoOthers();
      YamlMap aggregation = job.map("aggregation");
      AggregatorSpec aggregator = aggregation.value("aggregator")
          .map(node -> aggregation.convert(node, "aggregator", AggregatorSpec::parse)).orElse(AggregatorSpec.mean());
      // Asynchronous rounds step with FedBuff's plain SGD unless the file names another optimizer.
      OuterOptimizerSpec outer = outer(aggregation,
          asyncRounds != null ? "sgd" : OuterOptimizerSpec.defaultName(aggregator));
      PrivacySpec privacy = privacy(aggregation);
      aggregation.requireNoOthers();
      UpdateCodec codec = job.value("codec").map(node -> job.convert(node, "codec", UpdateCodec::parse))
          .orElse(UpdateCodec.fp32());
      int chunkBytes = job.integer("chunk-bytes", JobSpec.DEFAULT_CHUNK_BYTES);
      List<JobSite> sites = sites(job.map("sites"));
      YamlMap quorum = job.map("quorum");
      int askedMinSites = quorum.integer("min-sites", 1);
      Set<SiteId> required = required(quorum, sites);
      requireAt(quorum.lineOf("min-sites"), askedMinSites >= 1, "'min-sites' must be at least 1, was " + askedMinSites);
      requireAt(quorum.lineOf("min-sites"), sites.isEmpty() || askedMinSites <= sites.size(),
          "'min-sites' is " + askedMinSites + " but the job names " + sites.size() + " sites");
      requireAt(quorum.lineOf("min-sites"), required.size() <= askedMinSites || !quorum.has("min-sites"),
          "'min-sites' is " + askedMinSites + " but " + required.size() + " sites are required");
      // Required sites are part of every round, so the quorum is at least their number.
      int minSites = Math.max(askedMinSites, required.size());
      int startSites = quorum.integer("start-sites", minSites);
      quorum.requireNoOthers();
      requireAt(quorum.lineOf("start-sites"), startSites >= minSites,
          "'start-sites' (" + startSites + ") must be at least 'min-sites' (" + minSites + ")");
      requireAt(quorum.lineOf("start-sites"), sites.isEmpty() || startSites <= sites.size(),
          "'start-sites' is " + startSites + " but the job names " + sites.size() + " sites");
      job.requireNoOthers();
      JobSchedule schedule = at(job.node(), () -> new JobSchedule(sites, required, stragglers, start, time, asyncRounds));
      JobSpec spec = at(job.node(), () -> new JobSpec(id, rounds, steps, minSites, startSites, deadline, trainer,
          outer, seed, chunkBytes, aggregator, privacy, codec, schedule));
      return new JobDefinition(spec, model, source);
    }

    private ModelShape model(YamlMap section) {
      String kind = section.string("kind", ModelShape.Kind.CHAR.key());
      if (kind.equals(ModelShape.Kind.SYNTHETIC.key())) {
        long parameters = section.count("parameters", 0);
        section.requireNoOthers();
        at(section.node(), () -> {
          if (!section.has("parameters")) {
            throw new IllegalArgumentException("a synthetic model needs 'parameters', e.g. 1e9");
          }
          eu.hanse.model.SyntheticModel.requireParameters(parameters);
          return parameters;
        });
        return ModelShape.synthetic(parameters);
      }
      requireAt(section.lineOf("kind"), kind.equals(ModelShape.Kind.CHAR.key()),
          "unknown model kind '" + kind + "': use char (the built-in character model) or synthetic");
      ModelShape shape = new ModelShape(section.integer("context", ModelShape.DEFAULT.context()),
          section.integer("embed", ModelShape.DEFAULT.embed()), section.integer("hidden", ModelShape.DEFAULT.hidden()));
      section.requireNoOthers();
      if (models != null) {
        at(section.node(), () -> {
          models.check(shape);
          return shape;
        });
      }
      return shape;
    }

    private TrainerSettings trainer(YamlMap section) {
      int batch = section.integer("batch", 32);
      double lr = section.number("lr", 0.003);
      double weightDecay = section.number("weight-decay", 0.0001);
      double mu = section.number("fedprox-mu", 0);
      section.requireNoOthers();
      requireAt(section.lineOf("batch"), batch >= 1, "'batch' must be at least 1, was " + batch);
      requireAt(section.lineOf("lr"), lr > 0, "'lr' must be positive, was " + lr);
      return at(section.node(), () -> new TrainerSettings(batch, lr, weightDecay, mu));
    }

    private OuterOptimizerSpec outer(YamlMap section, String defaultName) {
      String name = section.string("outer", defaultName);
      Double lr = section.optionalNumber("outer-lr");
      Double momentum = section.optionalNumber("outer-momentum");
      int line = section.lineOf(section.has("outer") ? "outer" : "outer-lr");
      return at(line, () -> OuterOptimizerSpec.parse(name, lr, momentum));
    }

    private PrivacySpec privacy(YamlMap section) {
      double clip = section.number("clip", 0);
      double noise = section.number("dp-noise", 0);
      double delta = section.number("dp-delta", 1e-5);
      return at(section.lineOf(section.has("dp-noise") ? "dp-noise" : "clip"), () -> new PrivacySpec(clip, noise, delta));
    }

    private List<JobSite> sites(YamlMap section) {
      List<JobSite> sites = new ArrayList<>();
      for (String name : section.keys()) {
        int line = section.lineOf(name);
        SiteId site = at(line, () -> new SiteId(name));
        YamlMap entry = section.value(name).map(node -> YamlMap.of(section.file(), node, "site " + name))
            .orElse(null);
        if (entry == null) {
          sites.add(JobSite.plain(site));
          continue;
        }
        double weight = entry.number("weight", 1.0);
        Double gpuHours = entry.optionalNumber("gpu-hours");
        List<MaintenanceWindow> windows = new ArrayList<>();
        for (Node window : entry.list("maintenance")) {
          windows.add(entry.convert(window, "maintenance", MaintenanceWindow::parse));
        }
        entry.requireNoOthers();
        sites.add(at(line, () -> new JobSite(site, weight, gpuHours, windows)));
      }
      return sites;
    }

    private Set<SiteId> required(YamlMap quorum, List<JobSite> sites) {
      Set<SiteId> required = new LinkedHashSet<>();
      for (Node node : quorum.list("required")) {
        SiteId site = quorum.convert(node, "required", SiteId::new);
        if (!sites.isEmpty() && sites.stream().noneMatch(entry -> entry.site().equals(site))) {
          throw quorum.error(node, "required site '" + site + "' is not under 'sites'");
        }
        if (!required.add(site)) {
          throw quorum.error(node, "required site '" + site + "' is listed twice");
        }
      }
      return required;
    }

    private Stragglers stragglers(YamlMap round, Duration deadline) {
      String policy = round.string("stragglers", "wait-for-all");
      Duration grace = round.duration("grace", null);
      int line = round.lineOf("stragglers");
      return switch (policy) {
        case "wait-for-all" -> {
          if (grace != null) {
            throw round.error(round.lineOf("grace"), "'grace' needs 'stragglers: quorum-plus-grace'; wait-for-all "
                + "waits for every site until the deadline");
          }
          yield Stragglers.waitForAll();
        }
        case "quorum-plus-grace" -> {
          Duration g = grace == null ? Duration.ZERO : grace;
          requireAt(round.lineOf("grace"), g.compareTo(deadline) < 0,
              "'grace' (" + g + ") must be shorter than the deadline (" + deadline + ")");
          yield Stragglers.quorumPlus(g);
        }
        default -> throw round.error(line, "'stragglers' must be wait-for-all or quorum-plus-grace, was '"
            + policy + "'");
      };
    }

    /** {@code mode: async} with its buffer and staleness bound; null for {@code mode: sync}, the default. */
    private AsyncRounds async(YamlMap round) {
      String mode = round.string("mode", "sync");
      int buffer = round.integer("buffer", 1);
      int maxStaleness = round.integer("max-staleness", 4);
      switch (mode) {
        case "sync" -> {
          if (round.has("buffer") || round.has("max-staleness")) {
            throw round.error(round.lineOf(round.has("buffer") ? "buffer" : "max-staleness"),
                "'buffer' and 'max-staleness' need 'mode: async'");
          }
          return null;
        }
        case "async" -> {
          return at(round.lineOf("mode"), () -> new AsyncRounds(buffer, maxStaleness));
        }
        default -> throw round.error(round.lineOf("mode"), "'mode' must be sync or async, was '" + mode + "'");
      }
    }

    private void requireAt(int line, boolean condition, String reason) {
      if (!condition) {
        throw job.error(line, reason);
      }
    }

    private <T> T at(Node node, Supplier<T> make) {
      return at(YamlMap.line(node), make);
    }

    /** Runs a constructor's own checks; what they refuse is reported at {@code line}. */
    private <T> T at(int line, Supplier<T> make) {
      try {
        return make.get();
      } catch (IllegalArgumentException e) {
        throw job.error(line, e.getMessage());
      }
    }
  }
}
