package eu.hanse.agent;

import com.google.protobuf.ByteString;
import eu.hanse.agent.data.SiteData;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.data.TextFolder;
import eu.hanse.agent.slurm.SlurmLauncher;
import eu.hanse.agent.slurm.SlurmSettings;
import eu.hanse.agent.trainer.ExternalTrainer;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.agent.trainer.LocalProcess;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.agent.trainer.TrainerLauncher;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ChunkCodecs;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.Instruction;
import eu.hanse.protocol.v1.JobFinished;
import eu.hanse.protocol.v1.UpdateHeader;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.UpdateClaims;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A site agent: holds one control stream open to the coordinator and does what arrives on it, one
 * instruction at a time: evaluate a checkpoint on the site's held-out text, or train on the site's
 * own data from a checkpoint and upload the update Δ = θ_global − θ_site. Its data never leaves it.
 *
 * <p>A lost connection is retried with exponential backoff and jitter. {@link #run()} returns when
 * the coordinator reports the job finished (if so configured) or when {@link #close()} is called.
 */
public final class SiteAgent implements Runnable, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SiteAgent.class);
  private static final long MAX_BACKOFF_MILLIS = 30_000;

  private final AgentConfig config;
  private final SiteId site;
  private final TensorBackend backend;
  private final LocalTrainer trainer;
  private final SiteCredentials credentials;
  private final SecureRandom nonces = new SecureRandom();
  /** The connection and the credentials it uses; replaced when the site's certificate is renewed. */
  private volatile Link link;
  private volatile boolean closed;
  private volatile JobFinished finished;
  /** An update not yet acknowledged, kept until the coordinator takes or refuses it, to resume it. */
  private record PendingUpload(String job, long round, String base, UpdateUploader.Prepared update) {
    boolean isFor(TrainWork task) {
      return job.equals(task.job()) && round == task.round() && base.equals(task.base().sha256());
    }
  }

  private PendingUpload pending;
  /** What the agent is doing, for its heartbeats. */
  private volatile String activity = "idle";
  /** Runs the site's own trainer, when it has one: here, or as a batch job. */
  private final TrainerLauncher launcher;
  private final Progress progress = new Progress();
  /** The site's part of each round, in the agent's own records: this class only talks to the coordinator. */
  private final SiteRounds rounds;

  public SiteAgent(AgentConfig config) {
    this.config = config;
    this.credentials = config.credentials().requireComplete();
    this.site = siteOf(credentials);
    SiteData data = config.corpus().map(TextFolder::read)
        .orElseGet(() -> SyntheticLanguage.siteData(site.name(), config.syntheticCharacters()));
    this.backend = config.device().open(config.threads(), log::warn);
    this.trainer = new LocalTrainer(backend, data, config.evalPositions());
    trainer.reportProgressTo(progress);
    this.launcher = config.trainer().flatMap(TrainerCommand::slurm).<TrainerLauncher>map(SlurmLauncher::new)
        .orElseGet(LocalProcess::new);
    this.link = Link.open(config, credentials, progress);
    log.info("site {} on {}: {} training and {} held-out characters from {}", site, backend.name(),
        data.train().length, data.heldOut().length, data.source());
    // The site's own trainer; empty for the built-in one.
    java.util.Optional<ExternalTrainer> ownTrainer = config.trainer().map(command -> new ExternalTrainer(
        command.command(), command.workDir(config.dataDir()), command.timeout(), launcher));
    this.rounds = new SiteRounds(site.name(), config.attack(), trainer, ownTrainer, progress);
    config.trainer().ifPresent(command -> log.info("site {} trains with its own command {}, run as {}", site,
        command.command(), launcher.describe()));
    config.trainer().filter(command -> command.slurm().isPresent()).ifPresent(command -> SlurmSettings
        .requireScriptSafe(command.workDir(config.dataDir()).toAbsolutePath(), "the trainer's work folder"));
  }

  public SiteId site() {
    return site;
  }

  /**
   * The connections to the coordinator, with the certificate and signing key they were opened with:
   * a renewed certificate and its new signing key are always used together. The first carries
   * everything; large checkpoints and updates go over all of them at once.
   */
  private record Link(List<ManagedChannel> channels, FederationGrpc.FederationBlockingStub blocking,
      CheckpointFetcher fetcher, UpdateUploader uploader, SigningKey signingKey, long certificateModified) {

    static Link open(AgentConfig config, SiteCredentials credentials, Progress progress) {
      List<ManagedChannel> channels = new java.util.ArrayList<>();
      for (int c = 0; c < config.connections(); c++) {
        channels.add(NettyChannelBuilder.forTarget(config.coordinator())
            .sslContext(TlsContexts.forClient(credentials.tls()))
            .keepAliveTime(30, TimeUnit.SECONDS)
            .maxInboundMessageSize(8 << 20)
            .flowControlWindow(eu.hanse.protocol.TransportSettings.FLOW_CONTROL_WINDOW)
            .build());
      }
      ManagedChannel channel = channels.get(0);
      FederationGrpc.FederationBlockingStub blocking = FederationGrpc.newBlockingStub(channel);
      List<FederationGrpc.FederationBlockingStub> fetchers = new java.util.ArrayList<>(List.of(blocking));
      channels.subList(1, channels.size()).forEach(extra -> fetchers.add(FederationGrpc.newBlockingStub(extra)));
      return new Link(List.copyOf(channels), blocking,
          new CheckpointFetcher(fetchers, config.dataDir(), credentials.checkpointVerifyingKey(), progress),
          new UpdateUploader(channels.stream().map(FederationGrpc::newStub).toList(), blocking, progress),
          credentials.signingKey(), modified(credentials));
    }

    boolean stale(SiteCredentials credentials) {
      return modified(credentials) != certificateModified;
    }

    void close() {
      channels.forEach(ManagedChannel::shutdownNow);
      try {
        for (ManagedChannel channel : channels) {
          channel.awaitTermination(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private static long modified(SiteCredentials credentials) {
      try {
        return java.nio.file.Files.getLastModifiedTime(credentials.tls().certificate()).toMillis();
      } catch (java.io.IOException e) {
        return -1;
      }
    }
  }

  /** Switches to renewed credentials, if 'hanse agent renew' wrote new ones; true if it did. */
  private boolean switchToRenewedCredentials() {
    if (!link.stale(credentials) || !credentials.complete()) {
      return false;
    }
    Link old = link;
    link = Link.open(config, credentials, progress);
    // The old stream stays up until the new one has registered, so the site never looks offline.
    Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(3000);
      } catch (InterruptedException ignored) {
        // Close now, then.
      }
      old.close();
    });
    log.info("site {}: certificate renewed; reconnecting with the new certificate and signing key", site);
    return true;
  }

  /** The job-finished notice, once the coordinator has sent one. */
  public JobFinished finished() {
    return finished;
  }

  @Override
  public void run() {
    long backoff = 500;
    while (!closed) {
      try {
        switchToRenewedCredentials();
        attend();
        backoff = 500;
        if (finished != null && config.exitWhenFinished()) {
          return;
        }
      } catch (StatusRuntimeException e) {
        if (closed) {
          return;
        }
        log.warn("connection to coordinator {} lost or refused: {}", config.coordinator(), HanseErrors.detailOf(e).getMessage());
      }
      if (finished != null && config.exitWhenFinished()) {
        return;
      }
      long sleep = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
      try {
        Thread.sleep(sleep);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      backoff = Math.min(MAX_BACKOFF_MILLIS, backoff * 2);
    }
  }

  private void attend() {
    Iterator<Instruction> instructions = link.blocking().attend(AgentWire.hello(backend.name(), declaredSamples(),
        trainer.data().heldOut().length));
    log.info("connected to coordinator {} as site {}", config.coordinator(), site);
    Heartbeats heartbeats = null;
    try {
      while (!closed && instructions.hasNext()) {
        Instruction instruction = instructions.next();
        if (instruction.hasWelcome()) {
          heartbeats = Heartbeats.start(link.blocking(), java.time.Duration.ofMillis(
              Math.max(10, instruction.getWelcome().getHeartbeatIntervalMillis())),
              this::heartbeat, this::stopWork);
        } else if (!handle(instruction)) {
          return;
        }
      }
    } finally {
      if (heartbeats != null) {
        heartbeats.stop();
      }
    }
  }

  /** What the next heartbeat says: what the agent does, how far it is, and the round it trains for. */
  private eu.hanse.protocol.v1.HeartbeatRequest heartbeat() {
    return AgentWire.heartbeat(activity, progress.phase(), progress.fraction(), rounds.current());
  }

  /** The coordinator no longer wants the round named in {@code beat}: stop that work, if it still goes on. */
  private void stopWork(eu.hanse.protocol.v1.HeartbeatRequest beat, String why) {
    SiteRounds.Work now = rounds.current();
    if (now != null && now.job().equals(beat.getJobId()) && now.round() == beat.getRound()) {
      if (now.stop().reason().isEmpty()) {
        log.info("round {} of job {}: the coordinator no longer wants it ({}); stopping the training", now.round(),
            now.job(), why);
      }
      now.stop().stop(why);
    }
  }

  /** Does one instruction; false when the stream should end here. */
  private boolean handle(Instruction instruction) {
    if (instruction.hasFinished()) {
      finished = instruction.getFinished();
      log.info("job {} finished after {} rounds; final checkpoint {}", finished.getJobId(),
          finished.getRoundsCompleted(), finished.getFinalCheckpoint().getSha256());
      return !config.exitWhenFinished();
    }
    perform(instruction);
    return !link.stale(credentials);
  }

  /** Does one piece of work; a failure is logged and the agent stays up for the next one. */
  private void perform(Instruction instruction) {
    // What the agent logs while it works names the site, the job and the round.
    org.slf4j.MDC.put("site", site.name());
    switch (instruction.getKindCase()) {
      case TRAIN -> working("training", instruction.getTrain().getJobId(), instruction.getTrain().getRound());
      case EVALUATE -> {
        working("evaluating", instruction.getEvaluate().getJobId(), instruction.getEvaluate().getCheckpoint().getRound());
        progress.start("evaluate", 1);
      }
      default -> activity = "idle";
    }
    try {
      switch (instruction.getKindCase()) {
        case TRAIN -> train(AgentWire.train(instruction.getTrain()));
        case EVALUATE -> evaluate(AgentWire.evaluate(instruction.getEvaluate()));
        default -> log.warn("ignoring an instruction this agent does not know: {}", instruction.getKindCase());
      }
    } catch (StatusRuntimeException e) {
      throw e;
    } catch (RuntimeException e) {
      log.error("{} failed: {}", instruction.getKindCase(), e.getMessage(), e);
    } finally {
      activity = "idle";
      progress.idle();
      org.slf4j.MDC.remove("job");
      org.slf4j.MDC.remove("round");
    }
  }

  /**
   * Tells the coordinator the round's training failed, and the device time it took. A report the
   * coordinator refuses (the round closed meanwhile, say) is only logged; a broken link is not.
   */
  private void reportFailure(Link current, TrainWork task, SiteRounds.Failed failed) {
    try {
      current.blocking().withDeadlineAfter(1, TimeUnit.MINUTES).reportTrainingFailure(
          AgentWire.trainingFailure(task, failed.runId(), failed.failure()));
    } catch (StatusRuntimeException e) {
      if (HanseErrors.detailOf(e).getCode() == eu.hanse.protocol.v1.ErrorCode.ERROR_CODE_UNSPECIFIED) {
        throw e;
      }
      log.info("round {}: the coordinator took no report of the failed training: {}", task.round(),
          HanseErrors.detailOf(e).getMessage());
    }
  }

  /** The training examples this site declares: its own trainer's, when it says, else the built-in corpus's. */
  private long declaredSamples() {
    return config.trainer().map(TrainerCommand::samples).filter(samples -> samples > 0)
        .orElse(trainer.trainSamples());
  }

  /** The agent is {@code doing} ("training", "evaluating") a round of a job: for heartbeats and log lines. */
  private void working(String doing, String job, long round) {
    activity = doing + " job " + job + " round " + round;
    org.slf4j.MDC.put("job", job);
    org.slf4j.MDC.put("round", Long.toString(round));
  }

  private void evaluate(EvaluateWork task) {
    Link current = link;
    HeldOutLoss loss = rounds.evaluate(task, current.fetcher());
    try {
      current.blocking().withDeadlineAfter(1, TimeUnit.MINUTES).reportEvaluation(AgentWire.evaluation(task, loss));
    } catch (StatusRuntimeException e) {
      log.warn("coordinator refused the evaluation: {}", HanseErrors.detailOf(e).getMessage());
    }
  }

  private void train(TrainWork task) {
    Link current = link;
    if (pending != null && pending.isFor(task)) {
      resumePending(current);
      return;
    }
    pending = null;
    long fetchStarted = System.nanoTime();
    java.nio.file.Path base = current.fetcher().fetchFile(task.base());
    double download = (System.nanoTime() - fetchStarted) / 1e9;
    switch (rounds.train(task, base, current.fetcher(), download)) {
      case SiteRounds.Trained trained -> prepareAndSend(current, trained.update());
      case SiteRounds.Failed failed -> reportFailure(current, task, failed);
    }
  }

  /**
   * Hashes and signs the update, then sends it with the site's part of the round's time; it is
   * kept as pending until it is taken or refused.
   */
  private void prepareAndSend(Link current, TrainedUpdate update) {
    long started = System.nanoTime();
    byte[] nonce = new byte[16];
    nonces.nextBytes(nonce);
    UpdateUploader.Prepared prepared = current.uploader().prepare(AgentWire.header(update, nonce), update.delta(),
        update.work().maxChunkBytes(), new ChunkCodecs(update.codec(), backend), update.residual(),
        h -> sign(h, current.signingKey()));
    TrainWork task = update.work();
    pending = new PendingUpload(task.job(), task.round(), task.base().sha256(),
        prepared.withTimings(AgentWire.timings(update, (System.nanoTime() - started) / 1e9)));
    sendPending(current, 0);
  }

  /** The coordinator asked again for a round whose update broke off: send the rest of it. */
  private void resumePending(Link current) {
    long held;
    try {
      held = current.uploader().chunksHeld(pending.update());
    } catch (StatusRuntimeException e) {
      log.warn("round {}: cannot ask where to resume ({}); sending the update whole", pending.round(),
          HanseErrors.detailOf(e).getMessage());
      held = 0;
    }
    log.info("round {}: resuming the interrupted upload at chunk {} of {}", pending.round(), held,
        pending.update().chunks());
    sendPending(current, held);
  }

  /**
   * Sends the pending update from chunk {@code firstChunk}. Taken or refused, it is done with; cut
   * off on the way, it is kept, and resumes when the coordinator asks for the round again.
   */
  private void sendPending(Link current, long firstChunk) {
    long round = pending.round();
    try {
      UploadReceipt receipt = current.uploader().send(pending.update(), firstChunk);
      log.info("round {}: uploaded {} bytes", round, receipt.getBytesReceived());
      pending = null;
    } catch (StatusRuntimeException e) {
      var detail = HanseErrors.detailOf(e);
      if (detail.getCode() != eu.hanse.protocol.v1.ErrorCode.ERROR_CODE_UNSPECIFIED) {
        log.warn("round {}: coordinator refused the update: {}", round, detail.getMessage());
        pending = null;
      } else {
        log.warn("round {}: upload cut off ({}); it resumes when the coordinator is back", round, detail.getMessage());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while uploading", e);
    }
  }

  /** The site's signature over the update's canonical claims. */
  private byte[] sign(UpdateHeader header, SigningKey signingKey) {
    UpdateClaims claims = new UpdateClaims(header.getJobId(), header.getRound(), site,
        header.getBaseCheckpointSha256(), header.getCodec(), header.getElementCount(), header.getSampleCount(),
        header.getNonce().toByteArray(), UpdateClaims.chunkRoot(
            header.getChunkSha256List().stream().map(ByteString::toByteArray).toList()));
    return signingKey.sign(claims.canonicalBytes());
  }

  /** How long {@link #close()} waits for the site's own trainer to stop. */
  private static final long STOP_WAIT_MILLIS = 30_000;

  /**
   * Stops the agent. A trainer running here is stopped with it; a batch job is left to go on, and
   * the agent follows it when it starts again.
   */
  @Override
  public void close() {
    closed = true;
    SiteRounds.Work now = rounds.current();
    if (now != null && !launcher.outlivesAgent()) {
      now.stop().stop("the agent is shutting down");
      long deadline = System.currentTimeMillis() + STOP_WAIT_MILLIS;
      while (rounds.current() == now && System.currentTimeMillis() < deadline) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    link.close();
    backend.close();
  }

  private static SiteId siteOf(SiteCredentials credentials) {
    X509Certificate certificate = EnrolmentTls.readCertificate(credentials.tls().certificate());
    return NodeIdentity.fromCertificate(certificate).filter(id -> id.role() == NodeIdentity.Role.SITE)
        .orElseThrow(() -> new IllegalStateException(credentials.tls().certificate()
            + " names no site; enrol with 'hanse agent enroll'"))
        .siteId();
  }
}
