package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.Attack;
import eu.hanse.agent.Enrolment;
import eu.hanse.agent.SiteAgent;
import eu.hanse.agent.SiteCredentials;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.CoordinatorConfig;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.kernels.Device;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.Digests;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.IssuedCertificates;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A coordinator and real site agents in this JVM, over gRPC with mutual TLS on 127.0.0.1: a
 * throw-away CA, one-time invitations, and each site making its own keys. Closing it stops the
 * agents; the caller closes the coordinator.
 */
final class TestFederation implements AutoCloseable {
  /** Characters of each site's synthetic language. */
  static final int SYNTHETIC_CHARACTERS = 30_000;

  private final Path dir;
  private final PrintStream progress;
  private CertificateAuthority ca;
  private TlsFiles tls;
  final List<SiteAgent> agents = new ArrayList<>();
  final List<Thread> threads = new ArrayList<>();

  TestFederation(Path dir, PrintStream progress) {
    this.dir = dir;
    this.progress = progress;
  }

  Coordinator startCoordinator(JobSpec spec, ModelState initial) {
    return new Coordinator(config(0), spec, initial, progress).start();
  }

  /** A coordinator with the jobs its directory holds, on {@code port} (0: any free one). */
  Coordinator startCoordinator(ModelFactory models, int port) {
    return new Coordinator(config(port), models, progress).start();
  }

  /** A coordinator on any free port that publishes its federation events to {@code events} from the start. */
  Coordinator startCoordinator(ModelFactory models, eu.hanse.coordinator.events.FederationEvents events) {
    Coordinator coordinator = new Coordinator(config(0), models, progress);
    coordinator.publishTo(events);
    return coordinator.start();
  }

  /** A coordinator on any free port with its HTTP console on another, agents beating every {@code interval}. */
  Coordinator startCoordinatorWithConsole(ModelFactory models, Duration interval) {
    CoordinatorConfig base = config(0);
    Coordinator coordinator = new Coordinator(new CoordinatorConfig(base.dataDir(), base.listenHost(), 0, 0, base.tls(),
        interval, 20), models, progress);
    coordinator.serveConsole("127.0.0.1", 0);
    return coordinator.start();
  }

  /** As above, with agents beating every {@code interval} and offline after {@code missed} missed beats. */
  Coordinator startCoordinator(ModelFactory models, Duration interval, int missed) {
    CoordinatorConfig base = config(0);
    return new Coordinator(new CoordinatorConfig(base.dataDir(), base.listenHost(), 0, 0, base.tls(), interval, missed),
        models, progress).start();
  }

  /** Enrols a site with a one-time invitation, its keys made in {@code dir/SITE}; returns that folder. */
  Path enrol(Coordinator coordinator, String site) {
    String token = coordinator.consortium().invite(new SiteId(site), Duration.ofMinutes(5), "test");
    assertEquals(new SiteId(site), Enrolment.enroll("127.0.0.1:" + coordinator.enrolPort(), token, dir.resolve(site)));
    return dir.resolve(site);
  }

  /** The coordinator's directory, with a CA and a certificate made the first time. */
  private CoordinatorConfig config(int port) {
    Path coordinatorDir = dir.resolve("coordinator");
    if (ca == null) {
      ca = createCa(coordinatorDir);
      tls = TlsFiles.in(coordinatorDir.resolve("tls"));
    }
    return new CoordinatorConfig(coordinatorDir, "127.0.0.1", port, 0, tls);
  }

  /** A throw-away consortium CA in {@code coordinatorDir}, and the coordinator's certificate in its tls/. */
  static CertificateAuthority createCa(Path coordinatorDir) {
    CertificateAuthority authority = CertificateAuthority.create(coordinatorDir.resolve("ca"), "e2e", false,
        Clock.systemUTC());
    TlsFiles files = authority.issue(NodeIdentity.coordinator("coordinator"), List.of("127.0.0.1"), Duration.ofDays(1),
        coordinatorDir.resolve("tls"));
    new IssuedCertificates(coordinatorDir.resolve("ca")).record(EnrolmentTls.readCertificate(files.certificate()));
    return authority;
  }

  /**
   * A small job for two sites: a model of 12,017 parameters (48 KB in fp32) sent in chunks of
   * 4 KB, ten local steps a round, both sites needed, a two-minute deadline.
   */
  static String twoSiteJob(String id, int rounds) {
    return """
        job: %s
        rounds: %d
        model:
          context: 4
          embed: 16
          hidden: 64
        local-work:
          steps: 10
        chunk-bytes: 4096
        quorum:
          min-sites: 2
        round:
          deadline: 2m
        """.formatted(id, rounds);
  }

  /** A port free on the loopback address now. */
  static int freePort() throws Exception {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  /** Waits up to two minutes for {@code text} in a process's log; fails if the process exits first. */
  static void awaitLine(Process process, Path log, String text) throws Exception {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      if (java.nio.file.Files.readString(log).contains(text)) {
        return;
      }
      if (!process.isAlive()) {
        throw new AssertionError("the process exited before '" + text + "': " + java.nio.file.Files.readString(log));
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no '" + text + "' in two minutes: " + java.nio.file.Files.readString(log));
  }

  /** The command line that runs 'hanse ARGS' in a JVM of its own, with this test's classpath. */
  static List<String> hanseCommand(List<String> args) {
    return hanseCommand(List.of(), args);
  }

  /** As {@link #hanseCommand(List)}, with options for the JVM (a heap cap, say). */
  static List<String> hanseCommand(List<String> jvmOptions, List<String> args) {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow()));
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "eu.hanse.launcher.Hanse"));
    command.addAll(args);
    return command;
  }

  /** Starts 'hanse agent' for an enrolled site as a process of its own, its output in {@code log}. */
  static Process startAgentProcess(Path siteDir, int port, Path log, Map<String, String> environment)
      throws java.io.IOException {
    return startAgentProcess(siteDir, port, log, environment, List.of());
  }

  /** As above, with options for the agent's JVM. */
  static Process startAgentProcess(Path siteDir, int port, Path log, Map<String, String> environment,
      List<String> jvmOptions, String... moreArgs) throws java.io.IOException {
    List<String> args = new ArrayList<>(List.of("agent", "--data-dir", siteDir.toString(), "--coordinator",
        "127.0.0.1:" + port, "--device", "cpu", "--threads", "1",
        "--synthetic-chars", Integer.toString(SYNTHETIC_CHARACTERS)));
    args.addAll(List.of(moreArgs));
    List<String> command = hanseCommand(jvmOptions, args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(environment);
    return builder.start();
  }

  /** Waits up to two minutes for a job's status to satisfy {@code condition}; that status. */
  static JobStatus awaitStatus(Coordinator coordinator, String job, java.util.function.Predicate<JobStatus> condition,
      String what) throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
    JobStatus status = coordinator.status(job).orElseThrow();
    while (!condition.test(status) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      status = coordinator.status(job).orElseThrow();
    }
    assertTrue(condition.test(status), "no " + what + " in two minutes: " + status);
    return status;
  }

  /**
   * Rounds 1..n of a finished job, each checkpoint whole, naming its round and the one before as its
   * parent, and each round with {@code sites}' updates (any, when null).
   */
  static void assertLineage(JobStatus status, int rounds, List<String> sites) throws java.io.IOException {
    assertEquals(rounds, status.rounds().size(), "rounds committed");
    assertEquals("0", Safetensors.read(Path.of(status.initialCheckpoint())).metadata().get("hanse.round"));
    String previous = Path.of(status.initialCheckpoint()).getFileName().toString().replace(".safetensors", "");
    for (int r = 0; r < rounds; r++) {
      RoundRecord round = status.rounds().get(r);
      assertEquals(r + 1, round.round(), "round numbers are continuous");
      if (sites != null) {
        assertEquals(sites, round.acceptedSites(), "round " + (r + 1) + "'s updates");
      }
      Map<String, String> metadata = Safetensors.read(Path.of(round.checkpointPath())).metadata();
      assertEquals(Long.toString(r + 1), metadata.get("hanse.round"));
      assertEquals(previous, metadata.get("hanse.parent"), "round " + (r + 1) + "'s parent");
      assertEquals(round.checkpoint(), Digests.sha256Hex(Path.of(round.checkpointPath())), "checkpoint intact");
      previous = round.checkpoint();
    }
  }

  /** A training lead's credential folder, as 'hanse ca issue-admin --role lead' writes it. */
  Path leadCredential(String name) {
    return credential(NodeIdentity.lead(name));
  }

  /** A viewer's (read-only operator's) credential folder, as 'hanse ca issue-admin --role viewer' writes it. */
  Path viewerCredential(String name) {
    return credential(NodeIdentity.viewer(name));
  }

  private Path credential(NodeIdentity person) {
    Path folder = dir.resolve(person.role().uriLabel() + "-" + person.name());
    TlsFiles files = ca.issue(person, List.of(), Duration.ofDays(1), folder);
    new IssuedCertificates(dir.resolve("coordinator/ca")).record(EnrolmentTls.readCertificate(files.certificate()));
    return folder;
  }

  /** Each site enrols with its own invitation, then its agent starts; sites in attacks misbehave. */
  void enrolAndStartAgents(Coordinator coordinator, List<String> sites, Map<String, Attack> attacks) {
    enrolAndStartAgents(coordinator, sites, attacks, true);
  }

  /** As above; agents that do not exit when a job finishes stay for the next job or a restarted coordinator. */
  void enrolAndStartAgents(Coordinator coordinator, List<String> sites, Map<String, Attack> attacks,
      boolean exitWhenFinished) {
    enrolAndStartAgents(coordinator, sites, attacks, Map.of(), exitWhenFinished);
  }

  /** As above, and the sites in {@code trainers} train with their own command instead of the built-in trainer. */
  void enrolAndStartAgents(Coordinator coordinator, List<String> sites, Map<String, Attack> attacks,
      Map<String, eu.hanse.agent.TrainerCommand> trainers, boolean exitWhenFinished) {
    for (String site : sites) {
      enrol(coordinator, site);
      AgentConfig config = new AgentConfig(dir.resolve(site), "127.0.0.1:" + coordinator.port(),
          new SiteCredentials(dir.resolve(site + "/tls")), Device.CPU, 1, Optional.empty(), SYNTHETIC_CHARACTERS,
          2048, exitWhenFinished, attacks.getOrDefault(site, Attack.none()));
      SiteAgent agent = new SiteAgent(trainers.containsKey(site) ? config.withTrainer(trainers.get(site)) : config);
      agents.add(agent);
      threads.add(Thread.ofPlatform().name("agent-" + site).start(agent));
    }
  }

  /** Runs a whole job with these sites in a fresh federation under {@code dir}; its final status. */
  static JobStatus runJob(Path dir, JobSpec spec, ModelState initial, List<String> sites, Map<String, Attack> attacks)
      throws InterruptedException {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    try (TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(spec, initial)) {
      federation.enrolAndStartAgents(coordinator, sites, attacks);
      assertTrue(coordinator.awaitJob(Duration.ofMinutes(3)), "job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      return status;
    }
  }

  @Override
  public void close() {
    agents.forEach(SiteAgent::close);
  }
}
