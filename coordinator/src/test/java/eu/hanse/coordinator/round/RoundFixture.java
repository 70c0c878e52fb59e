package eu.hanse.coordinator.round;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import eu.hanse.coordinator.TestConsortium;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.StateStore;
import eu.hanse.coordinator.storage.UpdateSpool;
import eu.hanse.model.ModelState;
import eu.hanse.model.SafetensorsFile;
import eu.hanse.model.TensorSpec;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.SiteId;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A job's round core with in-process fakes and no sockets: a real state store, checkpoint store,
 * spool files and consortium (CA, signing, audit trail) in a folder, a {@link JobRun} on its own
 * thread, and sites that are {@link FakeLink}s the test drives: they see the work the job sends
 * and hand in updates through the job's {@link UpdateIntake}, as the transport would after checking
 * every chunk. Every fake site answers evaluations at once with a held-out loss of 1.
 */
final class RoundFixture implements AutoCloseable {
  static final int ELEMENTS = 8;
  static final float INITIAL = 100f;

  final Path dataDir;
  final TestConsortium pki;
  final JobSpec spec;
  SiteSessions sessions = new SiteSessions();
  final Map<String, FakeLink> links = new HashMap<>();
  final ByteArrayOutputStream progressOut = new ByteArrayOutputStream();
  StateStore store;
  Consortium consortium;
  CheckpointStore checkpoints;
  JobRun job;
  private Thread thread;
  private int nonces;

  /** A job of {@code spec} created in {@code folder} for sites named in {@code sites}; not started. */
  RoundFixture(Path folder, JobSpec spec, String... sites) throws IOException {
    this.dataDir = folder.resolve("data");
    this.spec = spec;
    this.pki = new TestConsortium(folder.resolve("pki"), sites);
    pki.config(dataDir);
    openStores();
    float[] values = new float[ELEMENTS];
    Arrays.fill(values, INITIAL);
    RoundCommit.createJob(spec, "test job",
        eu.hanse.model.ModelSource.of(new ModelState(List.of(TensorSpec.of("w", ELEMENTS)), List.of(values), Map.of())),
        "test", store, checkpoints, consortium);
  }

  private void openStores() {
    consortium = Consortium.open(dataDir, Clock.systemUTC());
    store = StateStore.open(dataDir);
    checkpoints = new CheckpointStore(dataDir);
  }

  /** Loads the job from the store and starts its thread. */
  RoundFixture start() {
    job = new JobRun(spec, new JobContext(store, sessions, checkpoints, new CheckpointStore(dataDir, "optimizer-state"),
        new ProgressPrinter(new PrintStream(progressOut)), dataDir, consortium, Clock.systemUTC(), true));
    thread = Thread.ofPlatform().name("job-" + spec.id()).start(job);
    return this;
  }

  /** Brings a site online. */
  FakeLink connect(String site) {
    FakeLink link = new FakeLink(new SiteId(site), certificate(site));
    links.put(site, link);
    sessions.connected(link);
    return link;
  }

  /**
   * Stops the job's thread and closes the stores, as a coordinator that dies would leave them,
   * then opens them again on the same folder: the state a restarted coordinator finds.
   */
  void restart() throws InterruptedException {
    stopJob();
    store.close();
    consortium.close();
    links.clear();
    sessions = new SiteSessions();
    openStores();
  }

  private void stopJob() throws InterruptedException {
    if (job != null) {
      job.stop();
      thread.join(TimeUnit.SECONDS.toMillis(20));
      job = null;
    }
  }

  X509Certificate certificate(String site) {
    return EnrolmentTls.readCertificate(pki.site(site).certificate());
  }

  /** An update of constant {@code delta} from {@code site} for {@code task}, with a fresh nonce. */
  Update update(String site, FakeLink.Task task, float delta, long samples) {
    float[] values = new float[ELEMENTS];
    Arrays.fill(values, delta);
    byte[] nonce = new byte[16];
    ByteBuffer.wrap(nonce).putInt(++nonces);
    return new Update(site, header(task.round(), task.base().sha256(), values.length, samples, nonce, values),
        values);
  }

  private UpdateHeader header(long round, String base, long elements, long samples, byte[] nonce, float[] values) {
    return new UpdateHeader(spec.id().value(), round, base, spec.codec().describe(), elements, samples, nonce,
        List.of(sha256(encode(values))), 0.5, spec.localSteps(), new byte[64], "", 0, 1.0, 0, 0, 0, 0, 0, 0);
  }

  /** One update as the transport has it once its header is signed and its chunks checked. */
  record Update(String site, UpdateHeader header, float[] values) {
    /** The same update with its header claiming another round, base or element count. */
    Update claiming(long round, String base, long elements) {
      UpdateHeader h = header;
      return new Update(site, new UpdateHeader(h.jobId(), round, base, h.codec(), elements, h.sampleCount(),
          h.nonce(), h.chunkSha256(), h.trainLoss(), h.localSteps(), h.signature(), h.claimedSite(),
          h.resumeFromChunk(), h.deviceSeconds(), h.downloadSeconds(), h.queueSeconds(), h.trainSeconds(),
          h.encodeSeconds(), h.stripeFirst(), h.stripeEnd()), values);
    }
  }

  /** Admits the update's header; the refusal, if any, is thrown. */
  OpenRound.Admission admit(Update update) {
    return job.intake().admit(new SiteId(update.site()), update.header());
  }

  /** Spools the update's chunks as the transport does (a part file, renamed once complete). */
  Path spool(Update update, OpenRound.Admission admission) {
    UpdateSpool spool = new UpdateSpool(dataDir);
    UpdateSpool.Writer writer = spool.open(spec.id(), admission.round(), update.site(),
        eu.hanse.security.Digests.hex(update.header().nonce()));
    writer.write(0, ByteBuffer.wrap(encode(update.values())));
    return writer.complete();
  }

  /** Hands in a whole update: admitted, spooled and accepted. */
  void deliver(Update update) {
    OpenRound.Admission admission = admit(update);
    accept(update, admission, spool(update, admission));
  }

  void accept(Update update, OpenRound.Admission admission, Path spooled) {
    double norm = 0;
    for (float value : update.values()) {
      norm += (double) value * value;
    }
    job.intake().accept(new SiteId(update.site()), certificate(update.site()), spooled.getFileName().toString(),
        admission, update.header(), spooled, (long) update.values().length * Float.BYTES, Math.sqrt(norm),
        new SitePhases(0, 0, 0, 0, 0, 0));
  }

  /** Waits until the job has committed {@code rounds} rounds. */
  JobStatus awaitRounds(int rounds) throws InterruptedException {
    return awaitStatus(status -> status.roundsCompleted() >= rounds, "round " + rounds + " committed");
  }

  /** Waits until the job reaches {@code state}. */
  JobStatus awaitState(String state) throws InterruptedException {
    return awaitStatus(status -> status.state().equals(state), "state " + state);
  }

  JobStatus awaitStatus(java.util.function.Predicate<JobStatus> condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      JobStatus status = job.status();
      if (condition.test(status)) {
        return status;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("the job did not reach " + what + " in 20 s: " + job.status());
  }

  /** The values of the checkpoint committed in round {@code round}. */
  float[] checkpoint(int round) {
    StateStore.StoredCheckpoint stored = store.checkpoints(spec.id().value()).get(round);
    Path file = checkpoints.find(stored.sha256()).orElseThrow();
    try (SafetensorsFile model = SafetensorsFile.open(file)) {
      float[] values = new float[(int) model.length()];
      model.read(0, values, values.length);
      return values;
    }
  }

  /** The audit trail's lines so far. */
  List<String> audit() {
    try {
      return Files.readAllLines(Consortium.auditFile(dataDir));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] encode(float[] values) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (float value : values) {
      bytes.putFloat(value);
    }
    return bytes.array();
  }

  private static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    stopJob();
    store.close();
    consortium.close();
  }

  /**
   * A site's control stream, faked: the work the job sends lands in queues the test reads; an
   * evaluation is answered at once, with loss 1 on 10 held-out examples.
   */
  final class FakeLink implements AgentLink {
    record Task(long round, CheckpointRef base, long seed) {}

    private final SiteId site;
    private final X509Certificate certificate;
    final BlockingQueue<Task> tasks = new LinkedBlockingQueue<>();
    final BlockingQueue<CheckpointRef> evaluations = new LinkedBlockingQueue<>();
    final BlockingQueue<Long> finished = new LinkedBlockingQueue<>();

    FakeLink(SiteId site, X509Certificate certificate) {
      this.site = site;
      this.certificate = certificate;
    }

    /** The next training task the job sends, within 20 s. */
    Task nextTask() throws InterruptedException {
      Task task = tasks.poll(20, TimeUnit.SECONDS);
      assertNotNull(task, "site " + site + " was sent no training task in 20 s");
      return task;
    }

    @Override
    public SiteId site() {
      return site;
    }

    @Override
    public String device() {
      return "cpu";
    }

    @Override
    public X509Certificate certificate() {
      return certificate;
    }

    @Override
    public long trainSamples() {
      return 10;
    }

    @Override
    public long lastHeardNanos() {
      return System.nanoTime();
    }

    @Override
    public void heard(String activity, String phase, double progress) {
    }

    @Override
    public String activity() {
      return "";
    }

    @Override
    public String phase() {
      return "";
    }

    @Override
    public double progress() {
      return 0;
    }

    @Override
    public void sendTrain(JobSpec job, long round, CheckpointRef base, long seed) {
      tasks.add(new Task(round, base, seed));
    }

    @Override
    public void sendEvaluate(JobId jobId, CheckpointRef checkpoint) {
      evaluations.add(checkpoint);
      job.evaluated(site, jobId.value(), checkpoint.sha256(), 1.0, 10);
    }

    @Override
    public void sendFinished(JobId jobId, CheckpointRef last, long roundsCompleted) {
      finished.add(roundsCompleted);
    }

    @Override
    public void close() {
    }

    @Override
    public void refuse(Refusal reason, String message) {
    }
  }
}
