package eu.hanse.coordinator.jobfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.config.ConfigFileException;
import eu.hanse.coordinator.job.JobSite;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.coordinator.job.ModelShape;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.model.ModelState;
import eu.hanse.model.UpdateCodec;
import eu.hanse.security.SiteId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobFileTest {
  /** Refuses shapes the way the built-in model does, for the model section's errors. */
  private static final ModelFactory MODELS = new ModelFactory() {
    @Override
    public void check(ModelShape shape) {
      if (shape.context() < 1 || shape.context() > 256) {
        throw new IllegalArgumentException("context must be 1-256 characters, was " + shape.context());
      }
    }

    @Override
    public ModelState create(ModelShape shape, long seed) {
      throw new UnsupportedOperationException();
    }
  };

  private static final JobFile FILES = new JobFile(MODELS);

  private static JobDefinition parse(String yaml) {
    return FILES.parse("job.yaml", yaml.getBytes(StandardCharsets.UTF_8));
  }

  private static ConfigFileException refused(String yaml) {
    return assertThrows(ConfigFileException.class, () -> parse(yaml));
  }

  @Test
  void aSyntheticModelIsNamedByItsParametersAndWrittenBackAsItWasRead() {
    JobDefinition definition = parse("job: big\nmodel:\n  kind: synthetic\n  parameters: 1e9\n");
    assertEquals(ModelShape.synthetic(1_000_000_000L), definition.model());
    assertEquals(definition.model(), parse(JobFileWriter.write(definition.spec(), definition.model())).model());
    assertEquals(ModelShape.synthetic(5_000_000_000L),
        parse("job: big\nmodel:\n  kind: synthetic\n  parameters: 5_000_000_000\n").model());
    org.junit.jupiter.api.Assertions.assertTrue(refused("job: big\nmodel:\n  kind: synthetic\n").getMessage()
        .contains("a synthetic model needs 'parameters', e.g. 1e9"));
    org.junit.jupiter.api.Assertions.assertTrue(refused("job: big\nmodel:\n  kind: synthetic\n  parameters: 2.5\n")
        .getMessage().contains("must be a whole number"));
    org.junit.jupiter.api.Assertions.assertTrue(refused("job: big\nmodel:\n  kind: synthetic\n  parameters: 0\n")
        .getMessage().contains("1 to 2^40 parameters"));
    ConfigFileException unknown = refused("job: big\nmodel:\n  kind: llama\n");
    org.junit.jupiter.api.Assertions.assertTrue(unknown.getMessage().contains("job.yaml:3: unknown model kind 'llama'"),
        unknown.getMessage());
    org.junit.jupiter.api.Assertions.assertTrue(refused("job: big\nmodel:\n  kind: synthetic\n  parameters: 9\n"
        + "  hidden: 3\n").getMessage().contains("hidden"), "a character model's key does not fit a synthetic model");
  }

  @Test
  void theExampleInTheRepositoryReadsAsWritten() throws Exception {
    JobDefinition definition = FILES.read(Path.of("..", "examples", "jobs", "pilot.yaml"));
    JobSpec spec = definition.spec();
    assertEquals("pilot-char-lm", spec.id().value());
    assertEquals(Instant.parse("2026-12-01T08:00:00Z"), spec.schedule().start());
    assertEquals(40, spec.rounds());
    assertEquals(200, spec.localSteps());
    assertNull(spec.schedule().localTime());
    assertEquals(new ModelShape(8, 32, 256), definition.model());
    assertEquals(0.01, spec.trainer().proximalMu());
    assertEquals(OuterOptimizerSpec.diloco(), spec.outer());
    assertEquals(UpdateCodec.parse("int8"), spec.codec());
    assertEquals(2, spec.minSites());
    assertEquals(Set.of(new SiteId("jupiter")), spec.schedule().requiredSites());
    assertEquals(Stragglers.quorumPlus(Duration.ofMinutes(5)), spec.stragglers());
    assertEquals(Duration.ofMinutes(45), spec.roundDeadline());
    assertEquals(3, spec.schedule().sites().size());
    JobSite jupiter = spec.schedule().find(new SiteId("jupiter")).orElseThrow();
    assertEquals(500.0, jupiter.gpuHours());
    assertTrue(jupiter.inMaintenance(Instant.parse("2026-12-01T07:59:00Z")), "a Tuesday at 07:59 UTC");
    assertFalse(jupiter.inMaintenance(Instant.parse("2026-12-01T10:00:00Z")), "the window ends at 10:00");
    assertTrue(spec.schedule().find(new SiteId("leonardo")).orElseThrow()
        .inMaintenance(Instant.parse("2026-12-25T12:00:00Z")));
    assertEquals(0.5, spec.schedule().weight(new SiteId("marenostrum")));
    assertEquals(1.0, spec.schedule().weight(new SiteId("jupiter")));
    assertFalse(spec.schedule().admits(new SiteId("elsewhere")), "a job that names its sites admits no other");
  }

  @Test
  void aWrittenJobReadsBackToTheSameJob() throws Exception {
    JobDefinition example = FILES.read(Path.of("..", "examples", "jobs", "pilot.yaml"));
    for (String yaml : java.util.List.of(JobFileWriter.write(example.spec(), example.model()),
        JobFileWriter.write(parse("job: a\nlocal-work:\n  time: 90s\naggregation:\n  aggregator: multi-krum:1:2\n"
            + "codec: topk:0.1\n").spec(), ModelShape.DEFAULT))) {
      JobDefinition again = parse(yaml);
      assertEquals(again.spec(), parse(JobFileWriter.write(again.spec(), again.model())).spec(), yaml);
    }
    JobDefinition again = parse(JobFileWriter.write(example.spec(), example.model()));
    assertEquals(example.spec(), again.spec());
    assertEquals(example.model(), again.model());
  }

  @Test
  void aFileWithOnlyAnIdGetsTheDefaults() {
    JobSpec spec = parse("job: tiny\n").spec();
    assertEquals(20, spec.rounds());
    assertEquals(100, spec.localSteps());
    assertEquals(AggregatorSpec.mean(), spec.aggregator());
    assertEquals(OuterOptimizerSpec.diloco(), spec.outer());
    assertEquals(1, spec.minSites());
    assertEquals(Duration.ofMinutes(10), spec.roundDeadline());
    assertEquals(Stragglers.waitForAll(), spec.stragglers());
    assertTrue(spec.schedule().admits(new SiteId("anyone")), "a job that names no sites takes every site");
    assertNull(spec.schedule().start());
  }

  @Test
  void aRobustAggregatorGetsFedAvgsOuterStepUnlessTheFileSaysOtherwise() {
    assertEquals(OuterOptimizerSpec.fedAvg(), parse("job: a\naggregation:\n  aggregator: median\n").spec().outer());
    assertEquals(OuterOptimizerSpec.diloco(),
        parse("job: a\naggregation:\n  aggregator: median\n  outer: nesterov\n").spec().outer());
  }

  @Test
  void aTimeBudgetReplacesTheSteps() {
    JobSpec spec = parse("job: a\nlocal-work:\n  time: 1h30m\n").spec();
    assertEquals(Duration.ofMinutes(90), spec.schedule().localTime());
    assertEquals(Duration.ofMinutes(20), parse("job: a\nlocal-work:\n  time: PT20M\n").spec().schedule().localTime());
  }

  @Test
  void asynchronousRoundsHaveABufferAndAStalenessBound() throws Exception {
    JobSpec spec = parse("job: a\nround:\n  mode: async\n  buffer: 2\n  max-staleness: 3\n").spec();
    assertEquals(new eu.hanse.coordinator.job.AsyncRounds(2, 3), spec.schedule().async());
    assertEquals(spec, parse(JobFileWriter.write(spec, ModelShape.DEFAULT)).spec());
    assertNull(parse("job: a\n").spec().schedule().async(), "rounds are synchronous unless the file says");
    assertEquals(1.0, eu.hanse.coordinator.job.AsyncRounds.stalenessWeight(0));
    assertEquals(0.5, eu.hanse.coordinator.job.AsyncRounds.stalenessWeight(3), 1e-12);
  }

  @Test
  void requiredSitesRaiseTheQuorumToTheirNumber() {
    JobSpec spec = parse("job: a\nquorum:\n  required: [x, y]\n").spec();
    assertEquals(2, spec.minSites());
    assertEquals(2, spec.startSites());
  }

  /** Each bad file, the line the error must name, and a piece of its reason. */
  @ParameterizedTest(name = "{2}")
  @CsvSource(delimiter = '|', textBlock = """
      job: a\\nrounds: [1, 2                                  | 2 | not valid YAML
      ''                                                      | 1 | the file is empty
      - just\\n- a list                                       | 1 | a job file must be a mapping
      rounds: 3                                               | 1 | 'job' is required
      job: Not_An_Id                                          | 1 | job id 'Not_An_Id' must be
      job: a\\nrouns: 3                                       | 2 | unknown key 'rouns' (did you mean 'rounds'?)
      job: a\\nrounds: 0                                      | 2 | 'rounds' must be at least 1
      job: a\\nrounds: many                                   | 2 | 'rounds' must be a whole number, was 'many'
      job: a\\nrounds: 2\\nrounds: 3                          | 3 | appears twice
      job: a\\ntrainer:\\n  lr: -1                            | 3 | 'lr' must be positive
      job: a\\ntrainer:\\n  lr: .nan                          | 3 | 'lr' must be a finite number
      job: a\\ntrainer:\\n  batch: [1]                        | 3 | 'batch' must be a single value
      job: a\\nmodel:\\n  context: 999                        | 3 | context must be 1-256
      job: a\\nlocal-work:\\n  steps: 10\\n  time: 5m         | 4 | give 'steps' or 'time', not both
      job: a\\nlocal-work:\\n  time: soon                     | 3 | 'time' must be a duration such as 30m
      job: a\\naggregation:\\n  aggregator: average           | 3 | unknown aggregator
      job: a\\naggregation:\\n  outer: adamax                 | 3 | unknown outer optimizer 'adamax'
      job: a\\naggregation:\\n  dp-noise: 1                   | 3 | needs
      job: a\\ncodec: int3                                    | 2 | 'codec'
      job: a\\nsites:\\n  Jupiter: {}                         | 3 | site name
      job: a\\nsites:\\n  jupiter:\\n    weight: 0            | 3 | weight must be positive
      job: a\\nsites:\\n  jupiter:\\n    gpu-hours: -5        | 3 | gpu-hours must be positive
      job: a\\nsites:\\n  jupiter:\\n    maintenance: [someday] | 4 | cannot read the window 'someday'
      job: a\\nsites:\\n  jupiter:\\n    maintenance: [weekly xyz 01:00-02:00] | 4 | unknown day 'xyz'
      job: a\\nsites:\\n  jupiter:\\n    maintenance: [2026-12-02T00:00Z/2026-12-01T00:00Z] | 4 | window ends
      job: a\\nsites:\\n  jupiter:\\n    colour: red          | 4 | unknown key 'colour'
      job: a\\nsites:\\n  x: {}\\nquorum:\\n  required: [y]   | 5 | required site 'y' is not under 'sites'
      job: a\\nsites:\\n  x: {}\\nquorum:\\n  min-sites: 2    | 5 | 'min-sites' is 2 but the job names 1 sites
      job: a\\nquorum:\\n  min-sites: 1\\n  required: [x, y]  | 3 | 2 sites are required
      job: a\\nquorum:\\n  min-sites: 3\\n  start-sites: 2    | 4 | 'start-sites' (2) must be at least 'min-sites' (3)
      job: a\\nround:\\n  deadline: 0s                        | 3 | 'deadline' must be at least 1s
      job: a\\nround:\\n  stragglers: whenever                | 3 | 'stragglers' must be wait-for-all or quorum-plus-grace
      job: a\\nround:\\n  grace: 5m                           | 3 | 'grace' needs 'stragglers: quorum-plus-grace'
      job: a\\nround:\\n  stragglers: quorum-plus-grace\\n  grace: 1h | 4 | must be shorter than the deadline
      job: a\\nstart: tomorrow                                | 2 | 'start'
      job: a\\nround:\\n  mode: later                         | 3 | 'mode' must be sync or async
      job: a\\nround:\\n  buffer: 3                           | 3 | 'buffer' and 'max-staleness' need 'mode: async'
      job: a\\nround:\\n  mode: async\\n  buffer: 0           | 3 | buffer must hold at least 1
      job: a\\naggregation:\\n  aggregator: median\\nround:\\n  mode: async | 1 | asynchronous rounds fold updates
      """)
  void aBadFileIsRefusedWithItsLineAndReason(String yaml, int line, String reason) {
    ConfigFileException error = refused(yaml.replace("\\n", "\n"));
    assertEquals(line, error.line(), error.getMessage());
    assertTrue(error.reason().contains(reason), error.getMessage());
    assertTrue(error.getMessage().startsWith("job.yaml:" + line + ": "), error.getMessage());
  }

  @Test
  void bytesThatAreNotUtf8AreRefused() {
    ConfigFileException error = assertThrows(ConfigFileException.class,
        () -> FILES.parse("job.yaml", new byte[] {'j', 'o', 'b', ':', ' ', (byte) 0xff}));
    assertEquals("the file is not UTF-8 text", error.reason());
  }

  @Test
  void aliasBombsAreRefused() {
    StringBuilder yaml = new StringBuilder("job: a\nx0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
    for (int i = 1; i < 12; i++) {
      yaml.append("x").append(i).append(": &a").append(i).append(" [*a").append(i - 1).append(", *a")
          .append(i - 1).append(", *a").append(i - 1).append("]\n");
    }
    ConfigFileException error = refused(yaml.toString());
    assertTrue(error.reason().contains("not valid YAML") || error.reason().contains("unknown key"), error.getMessage());
  }
}
