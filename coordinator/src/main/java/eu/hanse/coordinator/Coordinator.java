package eu.hanse.coordinator;

import eu.hanse.aggregation.ModelSource;
import eu.hanse.aggregation.ModelState;
import eu.hanse.aggregation.SyntheticModel;
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
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
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
  private final CheckpointStore optimizerStates;
  private final ProgressPrinter progress;
  private final java.time.Clock clock = java.time.Clock.systemUTC();
  private final Jobs jobs = new Jobs();
  private final SiteTraffic traffic = new SiteTraffic();
  private final SiteBoard siteBoard = new SiteBoard(clock);
  private final LiveEvents liveEvents = new LiveEvents();
  private final FederationMetrics metrics = new FederationMetrics(clock);
  private String consoleHost;
  private int consolePort = -1;
  private HttpConsole console;
  private final eu.hanse.coordinator.jobfile.JobFile jobFiles;
  private final ModelFactory models;

  private final AdminService admin;
  private final Server server;
  private final Server enrolmentServer;
  private final java.util.concurrent.ScheduledExecutorService crlWatch =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("hanse-crl-watch").factory());
  private long crlModified;
  private final ExecutorService callExecutor = Executors.newVirtualThreadPerTaskExecutor();
  private final java.util.Map<String, Thread> jobThreads = new java.util.LinkedHashMap<>();
  private boolean started;
  /** Whether the sites' server requires a client certificate on every connection, read from its TLS context. */
  private final boolean mutualTls;

  /**
   * A coordinator with one job whose initial model is given, as tests and embedders use it: the job
   * is added to the data directory's state unless it is there already, and resumes from it if so.
   *
   * @param initialModel the model round 1 starts from; copied
   * @param progress where per-round progress lines go (standard output for the CLI)
   */
  public Coordinator(CoordinatorConfig config, JobSpec spec, ModelState initialModel, PrintStream progress) {
    this(config, null, progress);
    submit(spec, eu.hanse.coordinator.jobfile.JobFileWriter.write(spec, null), initialModel, "coordinator");
  }

  /**
   * A coordinator with the jobs its data directory holds; more come with {@link #submit}.
   *
   * @param models makes the initial model of submitted jobs; null if jobs come with their model
   * @param progress where per-round progress lines go (standard output for the CLI)
   */
  public Coordinator(CoordinatorConfig config, ModelFactory models, PrintStream progress) {
    this.config = config;
    this.models = models;
    try {
      Files.createDirectories(config.dataDir());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data directory " + config.dataDir(), e);
    }
    this.checkpoints = new CheckpointStore(config.dataDir());
    this.optimizerStates = new CheckpointStore(config.dataDir(), "optimizer-state");
    this.progress = new ProgressPrinter(progress);
    this.jobFiles = new eu.hanse.coordinator.jobfile.JobFile(models);
    this.consortium = Consortium.open(config.dataDir(), clock);
    consortium.publishTo(siteBoard);
    consortium.publishTo(metrics);
    consortium.publishTo(liveEvents);
    this.sessions = new SiteSessions(consortium::announce);
    this.store = StateStore.open(config.dataDir());
    io.netty.handler.ssl.SslContext serverTls = TlsContexts.forServer(config.tls().requireReadable(),
        consortium::isRevoked, consortium::auditRefusedHandshake);
    this.mutualTls = TlsContexts.requiresClientCertificates(serverTls);
    for (StateStore.StoredJob stored : store.jobs()) {
      jobs.add(load(stored));
    }
    this.admin = new AdminService(consortium, this, sessions);
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

  private JobRun load(StateStore.StoredJob stored) {
    JobSpec spec = jobFiles.parse("job " + stored.id(), stored.definition().getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .spec();
    return new JobRun(spec, store, sessions, checkpoints, optimizerStates, progress, config.dataDir(), consortium, clock,
        mutualTls);
  }

  /**
   * Adds a job from its file; its initial model comes from the model factory. Submitting a job
   * whose id this coordinator has already is refused, unless the file is the same one (a restart
   * that submits its jobs again), which changes nothing.
   *
   * @return the job's status
   * @throws IllegalArgumentException if a different job of the same id exists
   */
  public JobStatus submit(eu.hanse.coordinator.jobfile.JobDefinition definition, String by) {
    java.util.Optional<JobRun> existing = jobs.find(definition.spec().id().value());
    if (existing.isPresent()) {
      return same(existing.get(), definition.source());
    }
    return submit(definition.spec(), definition.source(), initialModel(definition), by);
  }

  /** A job's initial model: a synthetic one made here, the built-in kind from the model factory. */
  private ModelSource initialModel(eu.hanse.coordinator.jobfile.JobDefinition definition) {
    ModelShape shape = definition.model();
    if (shape.kind() == ModelShape.Kind.SYNTHETIC) {
      return SyntheticModel.create(shape.parameters(), definition.spec().seed());
    }
    if (models == null) {
      throw new IllegalStateException("this coordinator has no model factory; submit the initial model with the job");
    }
    return ModelSource.of(models.create(shape, definition.spec().seed()));
  }

  /** Adds a job with its definition's text and initial model; see {@link #submit(JobDefinition, String)}. */
  public JobStatus submit(JobSpec spec, String definition, ModelState initialModel, String by) {
    return submit(spec, definition, ModelSource.of(initialModel), by);
  }

  /** Adds a job with its definition's text and initial model, written a block at a time. */
  public synchronized JobStatus submit(JobSpec spec, String definition, ModelSource initialModel, String by) {
    java.util.Optional<JobRun> existing = jobs.find(spec.id().value());
    if (existing.isPresent()) {
      return same(existing.get(), definition);
    }
    JobRun.create(spec, definition, initialModel, by, store, checkpoints, consortium);
    JobRun run = load(store.job(spec.id().value()).orElseThrow());
    jobs.add(run);
    if (started) {
      startJob(run);
    }
    return run.status();
  }

  private JobStatus same(JobRun run, String definition) {
    String stored = store.job(run.id().value()).orElseThrow().definition();
    if (!stored.equals(definition)) {
      throw new IllegalArgumentException("job " + run.id() + " exists already with another definition; choose "
          + "another id for the new job");
    }
    return run.status();
  }

  private void startJob(JobRun run) {
    Thread thread = Thread.ofPlatform().name("hanse-job-" + run.id()).daemon().unstarted(run);
    jobThreads.put(run.id().value(), thread);
    thread.start();
  }

  /** The jobs, in the order they were submitted. */
  public java.util.List<JobStatus> jobs() {
    return jobs.all().stream().map(JobRun::status).toList();
  }

  /** A job's status, if this coordinator has the job. */
  public java.util.Optional<JobStatus> status(String job) {
    return jobs.find(job).map(JobRun::status);
  }

  Jobs jobRuns() {
    return jobs;
  }

  /** Reads job files as this coordinator's model factory allows. */
  public eu.hanse.coordinator.jobfile.JobFile jobFiles() {
    return jobFiles;
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
        console = HttpConsole.start(this, consortium, config.tls(), consoleHost, consolePort);
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
    started = true;
    jobs.all().forEach(this::startJob);
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

  /** The federation's events for watchers that come and go. */
  LiveEvents liveEvents() {
    return liveEvents;
  }

  /** Every site the coordinator knows of, with its state now. */
  java.util.List<SiteBoard.Row> siteRows() {
    return siteRows(jobs());
  }

  /** Every site the coordinator knows of, including those the jobs of {@code statuses} name. */
  java.util.List<SiteBoard.Row> siteRows(java.util.List<JobStatus> statuses) {
    java.util.Set<String> jobSites = new java.util.TreeSet<>();
    statuses.forEach(job -> jobSites.addAll(job.sites()));
    return siteBoard.rows(sessions.online(), jobSites, site -> consortium.isRevoked(new eu.hanse.security.SiteId(site)));
  }

  /** The metrics in Prometheus' text format. */
  String metricsText() {
    java.util.List<FederationMetrics.JobView> views = jobs.all().stream()
        .map(job -> new FederationMetrics.JobView(job.status(), job.roundDeadline())).toList();
    return metrics.scrape(views, siteRows(views.stream().map(FederationMetrics.JobView::status).toList()),
        traffic.sentBySite());
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
  public java.util.List<java.math.BigInteger> revoke(eu.hanse.security.SiteId site, String reason, String by) {
    java.util.List<java.math.BigInteger> serials = consortium.revoke(site, reason, by);
    admin.cutOff(site);
    return serials;
  }

  /** Picks up a CRL written by another process ('hanse site revoke' run offline) and cuts off who it names. */
  private void applyCrlChanges() {
    long modified = crlModifiedTime();
    if (modified == crlModified) {
      return;
    }
    try {
      consortium.reloadRevocations();
      for (AgentLink link : sessions.online()) {
        if (consortium.isRevoked(link.certificate())) {
          admin.cutOff(link.site());
        }
      }
      // A revoked site that already went away may still have an update in the open round.
      for (JobRun job : jobs.all()) {
        for (eu.hanse.security.SiteId site : job.intake().openRoundParticipants()) {
          if (consortium.isRevoked(site)) {
            job.intake().revoked(site);
          }
        }
      }
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
    long end = System.nanoTime() + timeout.toNanos();
    for (Thread thread : threads()) {
      long left = end - System.nanoTime();
      if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
        return false;
      }
    }
    return true;
  }

  private synchronized java.util.List<Thread> threads() {
    return java.util.List.copyOf(jobThreads.values());
  }

  /** The status of the first job submitted: the only one, for a coordinator built with one. */
  public JobStatus status() {
    return jobs.all().get(0).status();
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
    try {
      // The jobs' last words (their final state) go to the audit trail and the state: let them finish first.
      for (Thread thread : threads()) {
        thread.join(Duration.ofSeconds(10));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consortium.close();
    store.close();
  }
}
