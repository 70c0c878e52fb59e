package eu.hanse.agent;

import com.google.protobuf.ByteString;
import eu.hanse.agent.data.SiteData;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.data.TextFolder;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.agent.slurm.SlurmLauncher;
import eu.hanse.agent.slurm.SlurmSettings;
import eu.hanse.agent.trainer.ExternalTrainer;
import eu.hanse.agent.trainer.LocalProcess;
import eu.hanse.agent.trainer.StopSignal;
import eu.hanse.agent.trainer.TrainerLauncher;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.agent.trainer.SyntheticTrainer;
import eu.hanse.agent.trainer.TrainResult;
import eu.hanse.aggregation.ChunkCodecs;
import eu.hanse.aggregation.FlatView;
import eu.hanse.aggregation.FlatArrays;
import eu.hanse.aggregation.FlatReader;
import eu.hanse.aggregation.ModelState;
import eu.hanse.aggregation.UpdateCodec;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.AttendRequest;
import eu.hanse.protocol.v1.EvaluateTask;
import eu.hanse.protocol.v1.EvaluationReport;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.Instruction;
import eu.hanse.protocol.v1.JobFinished;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.protocol.v1.SiteTimings;
import eu.hanse.protocol.v1.UpdateHeader;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SigningKey;
import eu.hanse.security.UpdateClaims;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
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
    boolean isFor(TrainTask task) {
      return job.equals(task.getJobId()) && round == task.getRound() && base.equals(task.getBase().getSha256());
    }
  }

  private PendingUpload pending;
  /** What the agent is doing, for its heartbeats. */
  private volatile String activity = "idle";
  /** The job and round the agent trains for, with the signal that stops that work; null while it does none. */
  private volatile Work work;

  private record Work(String job, long round, String runId, StopSignal stop) {}

  /** Runs the site's own trainer, when it has one: here, or as a batch job. */
  private final TrainerLauncher launcher;
  /** The site's own trainer; empty for the built-in one. */
  private final java.util.Optional<ExternalTrainer> ownTrainer;
  private final Progress progress = new Progress();
  /** Per job, what the codec dropped from the last update, sent with the next (error feedback). */
  private final java.util.Map<String, float[]> residuals = new java.util.HashMap<>();

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
    this.ownTrainer = config.trainer().map(command -> new ExternalTrainer(command.command(),
        command.workDir(config.dataDir()), command.timeout(), launcher));
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
    AttendRequest hello = AttendRequest.newBuilder()
        .setAgentVersion("hanse-0.1")
        .setDevice(backend.name())
        .setTrainSamples(declaredSamples())
        .setHeldOutSamples(trainer.data().heldOut().length)
        .build();
    Iterator<Instruction> instructions = link.blocking().attend(hello);
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
    var beat = eu.hanse.protocol.v1.HeartbeatRequest.newBuilder().setActivity(activity)
        .setPhase(progress.phase()).setProgress(progress.fraction());
    Work now = work;
    if (now != null) {
      beat.setJobId(now.job()).setRound(now.round());
    }
    return beat.build();
  }

  /** The coordinator no longer wants the round named in {@code beat}: stop that work, if it still goes on. */
  private void stopWork(eu.hanse.protocol.v1.HeartbeatRequest beat, String why) {
    Work now = work;
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
        case TRAIN -> train(instruction.getTrain());
        case EVALUATE -> evaluate(instruction.getEvaluate());
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
   * A round trained by the site's own command. A failure is reported to the coordinator, which
   * counts the site as answered for the round; the agent goes on with its next piece of work.
   */
  private void trainExternally(Link current, TrainTask task, java.nio.file.Path base, long seed, double download) {
    ModelState global = current.fetcher().fetch(task.getBase());
    ExternalTrainer trainer = ownTrainer.orElseThrow();
    progress.start("train", 1);
    Work round = new Work(task.getJobId(), task.getRound(), java.util.UUID.randomUUID().toString(), new StopSignal());
    work = round;
    ExternalTrainer.Outcome outcome;
    try {
      outcome = trainer.train(base, global, new ExternalTrainer.Round(task.getJobId(), task.getRound(),
          task.getLocalSteps(), task.getTimeBudgetMillis() > 0 ? java.time.Duration.ofMillis(task.getTimeBudgetMillis())
              : null, seed, task.getTrainer().getBatchSize(), task.getTrainer().getLearningRate(),
          task.getTrainer().getWeightDecay(), task.getTrainer().getProximalMu()), round.stop(),
          phase -> progress.start(phase, 1));
    } catch (ExternalTrainer.Failure e) {
      log.atWarn().addKeyValue("reason", e.reason().name()).log("round {}: the site's trainer failed: {}: {}",
          task.getRound(), e.reason(), e.getMessage());
      reportFailure(current, task, round.runId(), e);
      return;
    } finally {
      work = null;
    }
    Object steps = outcome.metrics().get("steps");
    sendTrained(current, task, global, outcome.model(), outcome.samples(), outcome.loss(),
        steps instanceof Number number ? number.intValue() : task.getLocalSteps(), outcome.usage(), seed, download);
  }

  /**
   * Tells the coordinator the round's training failed, and the device time it took. A report the
   * coordinator refuses (the round closed meanwhile, say) is only logged; a broken link is not.
   */
  private void reportFailure(Link current, TrainTask task, String runId, ExternalTrainer.Failure failure) {
    try {
      current.blocking().withDeadlineAfter(1, TimeUnit.MINUTES).reportTrainingFailure(
          eu.hanse.protocol.v1.TrainingFailure.newBuilder().setJobId(task.getJobId()).setRound(task.getRound())
              .setReason(failure.reason().name()).setMessage(failure.getMessage()).setRunId(runId)
              .setDeviceSeconds(failure.deviceSeconds()).build());
    } catch (StatusRuntimeException e) {
      if (HanseErrors.detailOf(e).getCode() == eu.hanse.protocol.v1.ErrorCode.ERROR_CODE_UNSPECIFIED) {
        throw e;
      }
      log.info("round {}: the coordinator took no report of the failed training: {}", task.getRound(),
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

  private void evaluate(EvaluateTask task) {
    java.nio.file.Path file = link.fetcher().fetchFile(task.getCheckpoint());
    HeldOutLoss loss = SyntheticTrainer.handles(file) ? SyntheticTrainer.evaluate(file)
        : trainer.evaluate(link.fetcher().fetch(task.getCheckpoint()));
    log.info("checkpoint of round {}: held-out loss {} over {} characters", task.getCheckpoint().getRound(),
        String.format(Locale.ROOT, "%.4f", loss.loss()), loss.samples());
    try {
      link.blocking().withDeadlineAfter(1, TimeUnit.MINUTES).reportEvaluation(EvaluationReport.newBuilder()
          .setJobId(task.getJobId()).setCheckpointSha256(task.getCheckpoint().getSha256())
          .setLoss(loss.loss()).setSamples(loss.samples()).build());
    } catch (StatusRuntimeException e) {
      log.warn("coordinator refused the evaluation: {}", HanseErrors.detailOf(e).getMessage());
    }
  }

  /**
   * Error feedback: adds to {@code delta} what the codec dropped from the job's previous update, and
   * returns the array that receives what it drops from this one; null for fp32, which drops nothing.
   */
  private float[] errorFeedback(String job, UpdateCodec codec, float[] delta) {
    if (codec.kind() == UpdateCodec.Kind.FP32) {
      residuals.remove(job);
      return null;
    }
    float[] residual = residuals.get(job);
    if (residual != null && residual.length == delta.length) {
      for (int i = 0; i < delta.length; i++) {
        delta[i] += residual[i];
      }
    } else {
      residual = new float[delta.length];
      residuals.put(job, residual);
    }
    return residual;
  }

  private void train(TrainTask task) {
    Link current = link;
    if (pending != null && pending.isFor(task)) {
      resumePending(current);
      return;
    }
    pending = null;
    long fetchStarted = System.nanoTime();
    java.nio.file.Path base = current.fetcher().fetchFile(task.getBase());
    double download = (System.nanoTime() - fetchStarted) / 1e9;
    long seed = task.getSeed() ^ siteSeed(site.name());
    if (SyntheticTrainer.handles(base)) {
      trainSynthetic(current, task, base, seed, download);
      return;
    }
    if (ownTrainer.isPresent()) {
      trainExternally(current, task, base, seed, download);
      return;
    }
    ModelState global = current.fetcher().fetch(task.getBase());
    TrainResult result = trainer.train(global, task.getLocalSteps(), task.getTrainer().getBatchSize(),
        task.getTrainer().getLearningRate(), task.getTrainer().getWeightDecay(), seed,
        task.getTrainer().getProximalMu(),
        task.getTimeBudgetMillis() > 0 ? java.time.Duration.ofMillis(task.getTimeBudgetMillis()) : null);
    sendTrained(current, task, global, result.model(), trainer.trainSamples(), result.meanLoss(), result.steps(),
        new TrainerLauncher.Usage(0, result.seconds(), result.seconds()), seed, download);
  }

  /**
   * Sends what a round's training made of {@code global}: the difference, encoded with the job's
   * codec and the site's error feedback (or, in tests, a malicious update in its place).
   */
  private void sendTrained(Link current, TrainTask task, ModelState global, ModelState trained, long samples,
      double loss, int steps, TrainerLauncher.Usage usage, long seed, double download) {
    float[] delta = FlatView.difference(global, trained);
    UpdateCodec codec = UpdateCodec.parse(task.getCodec().isEmpty() ? "fp32" : task.getCodec());
    float[] residual = errorFeedback(task.getJobId(), codec, delta);
    if (config.attack().kind() != Attack.Kind.NONE) {
      config.attack().apply(delta, seed);
      log.warn("round {}: sending a malicious update ({}) instead of the trained one", task.getRound(),
          config.attack().describe());
    }
    UpdateHeader.Builder header = updateHeader(task)
        .setSampleCount(samples)
        .setTrainLoss(loss)
        .setLocalSteps(steps)
        .setDeviceSeconds(usage.deviceSeconds());
    log.info("round {}: trained {} steps in {} s, {} samples, train loss {}", task.getRound(), steps,
        String.format(Locale.ROOT, "%.1f", usage.trainSeconds()), samples, String.format(Locale.ROOT, "%.4f", loss));
    prepareAndSend(current, task, header, FlatArrays.of(delta), codec, residual,
        SiteTimings.newBuilder().setDownloadSeconds(download).setQueueSeconds(usage.queueSeconds())
            .setTrainSeconds(usage.trainSeconds()));
  }

  /** A synthetic model's round: a random update as large as the model, made a chunk at a time as it is sent. */
  private void trainSynthetic(Link current, TrainTask task, java.nio.file.Path base, long seed, double download) {
    UpdateHeader.Builder header = updateHeader(task).setSampleCount(trainer.trainSamples()).setLocalSteps(1);
    UpdateCodec codec = UpdateCodec.parse(task.getCodec().isEmpty() ? "fp32" : task.getCodec());
    log.info("round {}: synthetic model, sending a random update", task.getRound());
    prepareAndSend(current, task, header, SyntheticTrainer.update(base, seed), codec, null,
        SiteTimings.newBuilder().setDownloadSeconds(download));
  }

  /**
   * Hashes and signs the update, then sends it with the site's part of the round's time; it is
   * kept as pending until it is taken or refused.
   */
  private void prepareAndSend(Link current, TrainTask task, UpdateHeader.Builder header, FlatReader delta,
      UpdateCodec codec, float[] residual, SiteTimings.Builder timings) {
    long started = System.nanoTime();
    UpdateUploader.Prepared prepared = current.uploader().prepare(header, delta, task.getMaxChunkBytes(),
        new ChunkCodecs(codec, backend), residual, h -> sign(h, current.signingKey()));
    timings.setEncodeSeconds((System.nanoTime() - started) / 1e9);
    pending = new PendingUpload(task.getJobId(), task.getRound(), task.getBase().getSha256(),
        prepared.withTimings(timings.build()));
    sendPending(current, 0);
  }

  /** A header with the task's job, round and base, and a fresh nonce. */
  private UpdateHeader.Builder updateHeader(TrainTask task) {
    byte[] nonce = new byte[16];
    nonces.nextBytes(nonce);
    return UpdateHeader.newBuilder()
        .setJobId(task.getJobId())
        .setRound(task.getRound())
        .setBaseCheckpointSha256(task.getBase().getSha256())
        .setNonce(ByteString.copyFrom(nonce));
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
    Work now = work;
    if (now != null && !launcher.outlivesAgent()) {
      now.stop().stop("the agent is shutting down");
      long deadline = System.currentTimeMillis() + STOP_WAIT_MILLIS;
      while (work == now && System.currentTimeMillis() < deadline) {
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

  /** Mixes the site into the round's seed, so sites sample differently in the same round. */
  private static long siteSeed(String name) {
    long h = 1125899906842597L;
    for (int i = 0; i < name.length(); i++) {
      h = 31 * h + name.charAt(i);
    }
    return h;
  }
}
