package eu.hanse.coordinator;

import eu.hanse.aggregation.ModelState;
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
 * The Hanse coordinator: one gRPC server over mutual TLS that runs one training job.
 *
 * <p>{@link #start()} binds the port and starts the job's thread; the job waits for its quorum of
 * sites, runs its rounds and commits a checkpoint per round. {@link #close()} stops the server and
 * the job. Thread-safe.
 */
public final class Coordinator implements AutoCloseable {
  private final CoordinatorConfig config;
  private final SiteSessions sessions = new SiteSessions();
  private final Consortium consortium;
  private final JobRun job;
  private final AdminService admin;
  private final Server server;
  private final Server enrolmentServer;
  private final java.util.concurrent.ScheduledExecutorService crlWatch =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("hanse-crl-watch").factory());
  private long crlModified;
  private final ExecutorService callExecutor = Executors.newVirtualThreadPerTaskExecutor();
  private final Thread jobThread;

  /**
   * @param initialModel the model round 1 starts from; copied
   * @param progress where per-round progress lines go (standard output for the CLI)
   */
  public Coordinator(CoordinatorConfig config, JobSpec spec, ModelState initialModel, PrintStream progress) {
    this.config = config;
    try {
      Files.createDirectories(config.dataDir());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data directory " + config.dataDir(), e);
    }
    CheckpointStore checkpoints = new CheckpointStore(config.dataDir());
    this.consortium = Consortium.open(config.dataDir(), java.time.Clock.systemUTC());
    this.job = new JobRun(spec, initialModel, sessions, checkpoints, new ProgressPrinter(progress), config.dataDir(),
        consortium);
    this.admin = new AdminService(consortium, job, sessions);
    FederationService service = new FederationService(sessions, job, checkpoints, new UpdateSpool(config.dataDir()),
        consortium);
    // Interceptors run last-added first: identity, then the certificate, then the service.
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(config.listenHost(), config.listenPort()),
            HandshakeAuditingCredentials.of(TlsContexts.forServer(config.tls().requireReadable(), consortium::isRevoked,
                consortium::auditRefusedHandshake), consortium))
        .addService(ServerInterceptors.intercept(service, new PeerCertificateInterceptor(), new PeerIdentityInterceptor()))
        .addService(ServerInterceptors.intercept(admin, new PeerCertificateInterceptor(), new PeerIdentityInterceptor()))
        .executor(callExecutor)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
    this.enrolmentServer = NettyServerBuilder.forAddress(new InetSocketAddress(config.listenHost(), config.enrolPort()))
        .sslContext(EnrolmentTls.forServer(config.tls()))
        .addService(new EnrolmentService(consortium))
        .executor(callExecutor)
        .build();
    this.jobThread = Thread.ofPlatform().name("hanse-job-" + spec.id()).daemon().unstarted(job);
  }

  /** Binds the port and starts the job. */
  public Coordinator start() {
    try {
      server.start();
      enrolmentServer.start();
    } catch (IOException e) {
      server.shutdownNow();
      throw new UncheckedIOException("cannot listen on " + config.listenHost() + ":" + config.listenPort()
          + " and enrolment port " + config.enrolPort() + ": " + e.getMessage(), e);
    }
    crlModified = crlModifiedTime();
    crlWatch.scheduleWithFixedDelay(this::applyCrlChanges, 500, 500, TimeUnit.MILLISECONDS);
    jobThread.start();
    return this;
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
      for (eu.hanse.security.SiteId site : job.openRoundParticipants()) {
        if (consortium.isRevoked(site)) {
          job.revoked(site);
        }
      }
      crlModified = modified;
    } catch (RuntimeException e) {
      // Keep watching (a thrown exception would end the schedule) and try again next time.
      org.slf4j.LoggerFactory.getLogger(Coordinator.class).error("cannot apply the changed CRL: {}", e.getMessage(), e);
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

  /** Waits for the job to finish or fail; false if it is still running after {@code timeout}. */
  public boolean awaitJob(Duration timeout) throws InterruptedException {
    jobThread.join(timeout);
    return !jobThread.isAlive();
  }

  /** A snapshot of the job's state. */
  public JobStatus status() {
    return job.status();
  }

  /** Stops the server and the job, closing every agent's stream. */
  @Override
  public void close() {
    job.stop();
    crlWatch.shutdownNow();
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
      // The job's last words (its final state) go to the audit trail: let it finish first.
      jobThread.join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consortium.close();
  }
}
