package eu.hanse.coordinator;

import eu.hanse.aggregation.ModelState;
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
  private final JobRun job;
  private final Server server;
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
    this.job = new JobRun(spec, initialModel, sessions, checkpoints, new ProgressPrinter(progress), config.dataDir());
    FederationService service = new FederationService(sessions, job, checkpoints, new UpdateSpool(config.dataDir()));
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(config.listenHost(), config.listenPort()))
        .sslContext(TlsContexts.forServer(config.tls().requireReadable()))
        .addService(ServerInterceptors.intercept(service, new PeerIdentityInterceptor()))
        .executor(callExecutor)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
    this.jobThread = Thread.ofPlatform().name("hanse-job-" + spec.id()).daemon().unstarted(job);
  }

  /** Binds the port and starts the job. */
  public Coordinator start() {
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + config.listenHost() + ":" + config.listenPort()
          + ": " + e.getMessage(), e);
    }
    jobThread.start();
    return this;
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
    jobThread.interrupt();
    sessions.online().forEach(AgentLink::close);
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
  }
}
