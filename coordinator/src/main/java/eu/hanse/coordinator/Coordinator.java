package eu.hanse.coordinator;

import eu.hanse.coordinator.console.FederationMetrics;
import eu.hanse.coordinator.console.FederationView;
import eu.hanse.coordinator.console.HttpConsole;
import eu.hanse.coordinator.console.SiteBoard;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.events.FederationEvents;
import eu.hanse.coordinator.events.LiveEvents;
import eu.hanse.coordinator.events.SiteTraffic;
import eu.hanse.coordinator.grpc.AdminService;
import eu.hanse.coordinator.grpc.EnrolmentService;
import eu.hanse.coordinator.grpc.FederationService;
import eu.hanse.coordinator.grpc.HandshakeAuditingCredentials;
import eu.hanse.coordinator.grpc.PeerCertificateInterceptor;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.ModelFactory;
import eu.hanse.coordinator.jobfile.JobDefinition;
import eu.hanse.coordinator.jobfile.JobFile;
import eu.hanse.coordinator.jobfile.JobFileWriter;
import eu.hanse.coordinator.round.AgentLink;
import eu.hanse.coordinator.round.JobContext;
import eu.hanse.coordinator.round.JobRun;
import eu.hanse.coordinator.round.Jobs;
import eu.hanse.coordinator.round.ProgressPrinter;
import eu.hanse.coordinator.round.Revocations;
import eu.hanse.coordinator.round.SiteSessions;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.StateStore;
import eu.hanse.coordinator.storage.UpdateSpool;
import eu.hanse.model.ModelSource;
import eu.hanse.model.ModelState;
import eu.hanse.protocol.AliasingMarshaller;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.PeerIdentityInterceptor;
import eu.hanse.security.TlsContexts;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The Hanse coordinator: one gRPC server over mutual TLS that runs any number of training jobs at
 * once, each on its own thread.
 *
 * <p>Its state lives in its data directory: the jobs, their checkpoints and lineage, the updates
 * accepted in open rounds ({@link StateStore}, {@code state.db}), the checkpoint files and the
 * spooled updates. Started again on the same directory after a stop or a crash, it resumes every
 * job where its state says. {@link #start()} binds the ports and starts the jobs; {@link #close()}
 * stops the server and the jobs. Thread-safe.
 */
public final class Coordinator implements AutoCloseable {
  private final CoordinatorConfig config;
  private final SiteSessions sessions;
  private final Consortium consortium;
  private final StateStore store;
  private final CheckpointStore checkpoints;
  private final java.time.Clock clock = java.time.Clock.systemUTC();
  private final Jobs jobs;
  private final Revocations revocations;
  private final SiteTraffic traffic = new SiteTraffic();
  private final SiteBoard siteBoard = new SiteBoard(clock);
  private final LiveEvents liveEvents = new LiveEvents();
  private final FederationMetrics metrics = new FederationMetrics(clock);
  /** The console's address and the console once started; guarded by this. */
  private String consoleHost;
  private int consolePort = -1;
  private HttpConsole console;

  private final Server server;
  private final Server enrolmentServer;
  private final java.util.concurrent.ScheduledExecutorService crlWatch =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("hanse-crl-watch").factory());
  /** The CRL file's time when last applied; only the CRL watch's one thread touches it. */
  private long crlModified;
  private final ExecutorService callExecutor = Executors.newVirtualThreadPerTaskExecutor();

  /**
   * A coordinator with one job whose initial model is given, as tests and embedders use it: the job
   * is added to the data directory's state unless it is there already, and resumes from it if so.
   *
   * @param initialModel the model round 1 starts from; copied
   * @param progress where per-round progress lines go (standard output for the CLI)
   */
  public Coordinator(CoordinatorConfig config, JobSpec spec, ModelState initialModel, PrintStream progress) {
    this(config, null, progress);
    submit(spec, JobFileWriter.write(spec, null), initialModel, "coordinator");
  }

  /**
   * A coordinator with the jobs its data directory holds; more come with {@link #submit}.
   *
   * @param models makes the initial model of submitted jobs; null if jobs come with their model
   * @param progress where per-round progress lines go (standard output for the CLI)
   */
  public Coordinator(CoordinatorConfig config, ModelFactory models, PrintStream progress) {
    this.config = config;
    try {
      Files.createDirectories(config.dataDir());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data directory " + config.dataDir(), e);
    }
    this.checkpoints = new CheckpointStore(config.dataDir());
    this.consortium = Consortium.open(config.dataDir(), clock);
    consortium.publishTo(siteBoard);
    consortium.publishTo(metrics);
    consortium.publishTo(liveEvents);
    this.sessions = new SiteSessions(consortium::announce);
    this.store = StateStore.open(config.dataDir());
    io.netty.handler.ssl.SslContext serverTls = TlsContexts.forServer(config.tls().requireReadable(),
        consortium::isRevoked, consortium::auditRefusedHandshake);
    // What the jobs report as their links' mutual TLS is read from the server's TLS context.
    this.jobs = new Jobs(new JobContext(store, sessions, checkpoints,
        new CheckpointStore(config.dataDir(), "optimizer-state"), new ProgressPrinter(progress), config.dataDir(),
        consortium, clock, TlsContexts.requiresClientCertificates(serverTls)), new JobFile(models), models);
    this.revocations = new Revocations(consortium, sessions, jobs);
    AdminService admin = new AdminService(consortium, jobs, revocations);
    FederationService service = new FederationService(sessions, jobs, checkpoints, new UpdateSpool(config.dataDir()),
        consortium, config.heartbeatInterval(), traffic);
    // Interceptors run last-added first: identity, then the certificate, then the service.
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(config.listenHost(), config.listenPort()),
            HandshakeAuditingCredentials.of(serverTls, consortium))
        .addService(ServerInterceptors.intercept(
            AliasingMarshaller.aliasingRequests(service.bindService(), FederationGrpc.getUploadUpdateMethod(),
                UpdateMessage.parser()),
            new PeerCertificateInterceptor(), new PeerIdentityInterceptor()))
        .addService(ServerInterceptors.intercept(admin, new PeerCertificateInterceptor(), new PeerIdentityInterceptor()))
        .executor(callExecutor)
        .flowControlWindow(eu.hanse.protocol.TransportSettings.FLOW_CONTROL_WINDOW)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
    this.enrolmentServer = NettyServerBuilder.forAddress(new InetSocketAddress(config.listenHost(), config.enrolPort()))
        .sslContext(EnrolmentTls.forServer(config.tls()))
        .addService(new EnrolmentService(consortium))
        .executor(callExecutor)
        .build();
  }

  /**
   * Adds a job from its file; its initial model is synthetic or comes from the model factory.
   * Submitting a job whose id this coordinator has already is refused, unless the file is the same
   * one (a restart that submits its jobs again), which changes nothing.
   *
   * @return the job's status
   * @throws IllegalArgumentException if a different job of the same id exists
   */
  public JobStatus submit(JobDefinition definition, String by) {
    return jobs.submit(definition, by);
  }

  /** Adds a job with its definition's text and initial model; see {@link #submit(JobDefinition, String)}. */
  public JobStatus submit(JobSpec spec, String definition, ModelState initialModel, String by) {
    return jobs.submit(spec, definition, ModelSource.of(initialModel), by);
  }

  /** Adds a job with its definition's text and initial model, written a block at a time. */
  public JobStatus submit(JobSpec spec, String definition, ModelSource initialModel, String by) {
    return jobs.submit(spec, definition, initialModel, by);
  }

  /** The jobs, in the order they were submitted. */
  public List<JobStatus> jobs() {
    return jobs.statuses();
  }

  /** A job's status, if this coordinator has the job. */
  public Optional<JobStatus> status(String job) {
    return jobs.status(job);
  }

  /** Reads job files as this coordinator's model factory allows. */
  public JobFile jobFiles() {
    return jobs.jobFiles();
  }

  /** Binds the port and starts the jobs. */
  public synchronized Coordinator start() {
    try {
      server.start();
      enrolmentServer.start();
    } catch (IOException e) {
      server.shutdownNow();
      throw new UncheckedIOException("cannot listen on " + config.listenHost() + ":" + config.listenPort()
          + " and enrolment port " + config.enrolPort() + ": " + e.getMessage(), e);
    }
    if (consolePort >= 0) {
      try {
        console = HttpConsole.start(new FederationView(jobs, revocations, sessions, consortium, liveEvents, siteBoard,
            metrics, traffic), consortium, config.tls(), consoleHost, consolePort);
      } catch (RuntimeException e) {
        server.shutdownNow();
        enrolmentServer.shutdownNow();
        throw e;
      }
    }
    crlModified = crlModifiedTime();
    crlWatch.scheduleWithFixedDelay(this::applyCrlChanges, 500, 500, TimeUnit.MILLISECONDS);
    long beat = Math.max(10, config.heartbeatInterval().toMillis() / 2);
    crlWatch.scheduleWithFixedDelay(this::expireSilentSites, beat, beat, TimeUnit.MILLISECONDS);
    jobs.start();
    return this;
  }

  /**
   * Serves the HTTP console (the JSON API, the live dashboard and {@code /metrics}) on
   * {@code host:port} once {@link #start()} is called; port 0 picks a free one ({@link #consolePort()}).
   */
  public synchronized void serveConsole(String host, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("console port must be in 0-65535, was " + port);
    }
    this.consoleHost = host;
    this.consolePort = port;
  }

  /** The port the HTTP console listens on; -1 when it does not run. */
  public synchronized int consolePort() {
    return console == null ? -1 : console.port();
  }

  /** The port sites without a certificate enrol on. */
  public int enrolPort() {
    return enrolmentServer.getPort();
  }

  /** The consortium: enrolment, revocation, the audit trail. */
  public Consortium consortium() {
    return consortium;
  }

  /**
   * Revokes a site now: new handshakes fail, its stream is closed, and its update in the open round
   * is discarded if the round has not committed.
   */
  public List<BigInteger> revoke(eu.hanse.security.SiteId site, String reason, String by) {
    return revocations.revoke(site, reason, by);
  }

  /** Picks up a CRL written by another process ('hanse site revoke' run offline) and cuts off who it names. */
  private void applyCrlChanges() {
    long modified = crlModifiedTime();
    if (modified == crlModified) {
      return;
    }
    try {
      revocations.reload();
      crlModified = modified;
    } catch (RuntimeException e) {
      // Keep watching (a thrown exception would end the schedule) and try again next time.
      org.slf4j.LoggerFactory.getLogger(Coordinator.class).error("cannot apply the changed CRL: {}", e.getMessage(), e);
    }
  }

  private void expireSilentSites() {
    try {
      sessions.expireSilent(config.heartbeatTimeout());
    } catch (RuntimeException e) {
      // Keep watching: a thrown exception would end the schedule.
      org.slf4j.LoggerFactory.getLogger(Coordinator.class).error("heartbeat watch: {}", e.getMessage(), e);
    }
  }

  private long crlModifiedTime() {
    try {
      java.nio.file.Path crl = Consortium.crlFile(config.dataDir());
      return Files.exists(crl) ? Files.getLastModifiedTime(crl).toMillis() : 0;
    } catch (IOException e) {
      return crlModified;
    }
  }

  /** The port the server listens on (the chosen one when the config said 0). */
  public int port() {
    return server.getPort();
  }

  /**
   * Waits for every job to finish, fail or be cancelled; false if one still runs after
   * {@code timeout}.
   */
  public boolean awaitJob(Duration timeout) throws InterruptedException {
    return jobs.awaitAll(timeout);
  }

  /** The status of the first job submitted: the only one, for a coordinator built with one. */
  public JobStatus status() {
    return jobs.statuses().get(0);
  }

  /**
   * Sends every federation event (sites enrolled, online, offline, revoked; rounds opened and
   * committed, updates accepted and refused; jobs' state) to {@code events} from now on, besides
   * any destination given before; call before {@link #start()} to miss none.
   */
  public void publishTo(FederationEvents events) {
    consortium.publishTo(events);
  }

  /** Stops the server and the job, closing every agent's stream. */
  @Override
  public void close() {
    jobs.all().forEach(JobRun::stop);
    crlWatch.shutdownNow();
    HttpConsole running;
    synchronized (this) {
      running = console;
    }
    if (running != null) {
      running.close();
    }
    sessions.online().forEach(AgentLink::close);
    enrolmentServer.shutdownNow();
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    callExecutor.shutdownNow();
    // The jobs' last words (their final state) go to the audit trail and the state: let them finish first.
    jobs.stop(Duration.ofSeconds(10));
    consortium.close();
    store.close();
  }
}
