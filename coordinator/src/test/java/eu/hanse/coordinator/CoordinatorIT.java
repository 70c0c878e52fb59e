package eu.hanse.coordinator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.job.AsyncRounds;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSchedule;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.Stragglers;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.model.TensorSpec;
import eu.hanse.model.UpdateCodec;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.ErrorCode;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.protocol.v1.UpdateChunk;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.security.AuditLog;
import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.IssuedCertificates;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsFiles;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A real coordinator over mutual TLS on 127.0.0.1 with scripted agents: honest sites alpha and beta,
 * and mallory, who sends one bad update per run. Every bad update must be refused with its own code,
 * and the round's checkpoint must be bit-identical to the one committed without mallory at all.
 */
class CoordinatorIT {
  private static final int ELEMENTS = 1000;
  private static final int CHUNK_BYTES = 256;

  @TempDir static Path pki;
  @TempDir Path dataDir;
  private static CertificateAuthority ca;
  private static TlsFiles coordinatorTls;
  private static byte[] baselineCheckpoint;
  private static final Map<String, SigningKey> SIGNING = new java.util.HashMap<>();
  /** The agents of the run under way, by site, so one site's script can wait for another. */
  private static final Map<String, ScriptedAgent> RUNNING = new java.util.concurrent.ConcurrentHashMap<>();

  @BeforeAll
  static void createPkiAndBaseline(@TempDir Path baselineDir) throws Exception {
    ca = CertificateAuthority.create(pki.resolve("ca"), "test consortium", false, Clock.systemUTC());
    coordinatorTls = ca.issue(NodeIdentity.coordinator("coordinator"), List.of("127.0.0.1"), Duration.ofDays(1),
        pki.resolve("coordinator"));
    IssuedCertificates ledger = new IssuedCertificates(pki.resolve("ca"));
    for (String site : List.of("alpha", "beta", "mallory")) {
      SIGNING.put(site, SigningKey.generate());
      TlsFiles files = ca.issue(NodeIdentity.site(new SiteId(site)), SIGNING.get(site).publicKey(), List.of(),
          Duration.ofDays(1), pki.resolve(site));
      ledger.record(EnrolmentTls.readCertificate(files.certificate()));
    }
    baselineCheckpoint = runOneRound(baselineDir, OuterOptimizerSpec.diloco(), Map.of()).checkpoint;
  }

  private static ModelState initialModel() {
    Random random = new Random(3);
    float[] a = new float[400];
    float[] b = new float[ELEMENTS - 400];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) random.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    return new ModelState(List.of(TensorSpec.of("a", 8, 50), TensorSpec.of("b", ELEMENTS - 400)), List.of(a, b),
        Map.of("test", "model"));
  }

  /** Gives a run's data directory the consortium's CA, as 'hanse ca init' would have. */
  static void installCa(Path dataDir) throws java.io.IOException {
    Path target = Files.createDirectories(dataDir.resolve("ca"));
    try (var files = Files.list(pki.resolve("ca"))) {
      for (Path file : files.toList()) {
        Files.copy(file, target.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  static CoordinatorConfig config(Path dataDir) throws java.io.IOException {
    installCa(dataDir);
    return new CoordinatorConfig(dataDir, "127.0.0.1", 0, 0, coordinatorTls);
  }

  /** Mallory's update: well formed and signed with mallory's key, before the attack spoils it. */
  private static ScriptedAgent.Update mallorys(TrainTask task) {
    return ScriptedAgent.update(task, ELEMENTS, 99, "mallory", SIGNING.get("mallory"));
  }

  /** An honest site's update: random values seeded by its name, with its sample count. */
  private static List<List<UpdateMessage>> honest(TrainTask task, String site, long samples) {
    ScriptedAgent.Update update = ScriptedAgent.update(task, ELEMENTS, site.hashCode(), site, SIGNING.get(site));
    update.header.setSampleCount(samples);
    return List.of(update.messages());
  }

  record Outcome(byte[] checkpoint, JobStatus status, ScriptedAgent mallory) {}

  /** One round with alpha and beta honest, plus mallory running {@code extra} if given. */
  private static Outcome runOneRound(Path dataDir, OuterOptimizerSpec outer,
      Map<String, Function<TrainTask, List<List<UpdateMessage>>>> extra) throws Exception {
    return runOneRound(dataDir, outer, UpdateCodec.fp32(), extra);
  }

  private static Outcome runOneRound(Path dataDir, OuterOptimizerSpec outer, UpdateCodec codec,
      Map<String, Function<TrainTask, List<List<UpdateMessage>>>> extra) throws Exception {
    return runOneRound(dataDir, outer, codec, AggregatorSpec.mean(), extra);
  }

  private static Outcome runOneRound(Path dataDir, OuterOptimizerSpec outer, UpdateCodec codec,
      AggregatorSpec aggregator, Map<String, Function<TrainTask, List<List<UpdateMessage>>>> extra) throws Exception {
    Map<String, Function<TrainTask, List<List<UpdateMessage>>>> scripts = new LinkedHashMap<>();
    scripts.put("alpha", task -> honest(task, "alpha", 100));
    scripts.put("beta", task -> honest(task, "beta", 300));
    scripts.putAll(extra);
    // Honest updates arrive at once; the deadline only closes rounds where mallory sent nothing valid.
    JobSpec spec = new JobSpec(new JobId("test"), 1, 5, 2, scripts.size(), Duration.ofSeconds(5),
        new TrainerSettings(4, 0.01, 0.0), outer, 7, CHUNK_BYTES, aggregator, PrivacySpec.none(), codec);
    CoordinatorConfig config = config(dataDir);
    List<ScriptedAgent> agents = new ArrayList<>();
    try (Coordinator coordinator = new Coordinator(config, spec, initialModel(),
        new PrintStream(new ByteArrayOutputStream())).start()) {
      RUNNING.clear();
      for (var script : scripts.entrySet()) {
        ScriptedAgent agent = new ScriptedAgent(TlsFiles.in(pki.resolve(script.getKey())), coordinator.port(),
            script.getValue());
        agents.add(agent);
        RUNNING.put(script.getKey(), agent);
      }
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)), "job did not finish");
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state());
      ScriptedAgent mallory = extra.isEmpty() ? null : agents.get(2);
      if (mallory != null) {
        mallory.finished.get(10, TimeUnit.SECONDS);
      }
      return new Outcome(Files.readAllBytes(Path.of(status.finalCheckpoint())), status, mallory);
    } finally {
      agents.forEach(ScriptedAgent::close);
    }
  }

  /** Ways to spoil an update, and the code each must be refused with. */
  enum Attack {
    FORGED_SIGNATURE(ErrorCode.BAD_SIGNATURE, u -> {
      u.signer = SigningKey.generate();
      return u.messages();
    }),
    MISSING_SIGNATURE(ErrorCode.BAD_SIGNATURE, u -> {
      u.signer = null;
      return u.messages();
    }),
    HEADER_CHANGED_AFTER_SIGNING(ErrorCode.BAD_SIGNATURE, u -> {
      u.afterSigning = header -> header.setSampleCount(1_000_000);
      return u.messages();
    }),
    IMPERSONATING_ANOTHER_SITE(ErrorCode.FORBIDDEN, u -> {
      u.header.setSite("alpha");
      return u.messages();
    }),
    NAN(ErrorCode.NON_FINITE, u -> {
      u.values[3] = Float.NaN;
      return u.messages();
    }),
    INFINITY_IN_LAST_ELEMENT(ErrorCode.NON_FINITE, u -> {
      u.values[ELEMENTS - 1] = Float.POSITIVE_INFINITY;
      return u.messages();
    }),
    TAMPERED_CHUNK(ErrorCode.CHUNK_HASH_MISMATCH, u -> {
      List<ByteString> sent = new ArrayList<>(u.chunks());
      byte[] bytes = sent.get(2).toByteArray();
      bytes[5] ^= 1;
      sent.set(2, ByteString.copyFrom(bytes));
      return u.messages(u.chunks(), sent);
    }),
    STALE_BASE(ErrorCode.STALE_BASE, u -> {
      u.header.setBaseCheckpointSha256("0".repeat(64));
      return u.messages();
    }),
    REPLAYED_OLD_ROUND(ErrorCode.NOT_OPEN_ROUND, u -> {
      u.header.setRound(u.task.getRound() - 1);
      return u.messages();
    }),
    FUTURE_ROUND(ErrorCode.NOT_OPEN_ROUND, u -> {
      u.header.setRound(u.task.getRound() + 1);
      return u.messages();
    }),
    OTHER_JOB(ErrorCode.NOT_OPEN_ROUND, u -> {
      u.header.setJobId("another-job");
      return u.messages();
    }),
    WRONG_SHAPE(ErrorCode.SHAPE_MISMATCH, u -> {
      ScriptedAgent.Update longer = new ScriptedAgent.Update(u.task, java.util.Arrays.copyOf(u.values, ELEMENTS + 1),
          u.site, u.signer);
      return longer.messages();
    }),
    TRUNCATED(ErrorCode.TRUNCATED, u -> {
      List<ByteString> chunks = u.chunks();
      return u.messages(chunks, chunks.subList(0, chunks.size() - 1));
    }),
    OVERSIZED_CHUNK(ErrorCode.OVERSIZED, u -> {
      List<ByteString> chunks = new ArrayList<>(u.chunks());
      chunks.set(0, chunks.get(0).concat(ByteString.copyFrom(new byte[8])));
      return u.messages(chunks, chunks);
    }),
    EXTRA_CHUNK(ErrorCode.OVERSIZED, u -> {
      List<UpdateMessage> messages = new ArrayList<>(u.messages());
      messages.add(UpdateMessage.newBuilder().setChunk(UpdateChunk.newBuilder()
          .setIndex(u.chunks().size()).setData(ByteString.copyFrom(new byte[4]))).build());
      return messages;
    }),
    UNKNOWN_CODEC(ErrorCode.UNSUPPORTED_CODEC, u -> {
      u.header.setCodec("int3");
      return u.messages();
    }),
    ZERO_SAMPLES(ErrorCode.BAD_SAMPLE_COUNT, u -> {
      u.header.setSampleCount(0);
      return u.messages();
    }),
    SHORT_NONCE(ErrorCode.MALFORMED, u -> {
      u.header.setNonce(ByteString.copyFrom(new byte[4]));
      return u.messages();
    }),
    CHUNKS_OUT_OF_ORDER(ErrorCode.MALFORMED, u -> {
      List<UpdateMessage> messages = new ArrayList<>(u.messages());
      UpdateMessage first = messages.get(1);
      messages.set(1, messages.get(2));
      messages.set(2, first);
      return messages;
    }),
    CHUNK_BEFORE_HEADER(ErrorCode.MALFORMED, u -> {
      List<UpdateMessage> messages = new ArrayList<>(u.messages());
      messages.add(0, messages.remove(1));
      return messages;
    }),
    RUN_BEYOND_THE_LAST_CHUNK(ErrorCode.MALFORMED, u -> u.run(0, 10, u.chunks().size() + 1)),
    NEGATIVE_RESUME(ErrorCode.MALFORMED, u -> u.run(-1, 0, u.chunks().size())),
    CHUNK_PAST_ITS_RUN(ErrorCode.OVERSIZED, u -> {
      List<UpdateMessage> messages = new ArrayList<>(u.run(0, 0, 5));
      messages.add(u.run(0, 5, 6).get(1));
      return messages;
    }),
    RUN_ENDING_BEFORE_ITS_END(ErrorCode.TRUNCATED, u -> {
      List<UpdateMessage> messages = u.run(0, 0, 8);
      return messages.subList(0, messages.size() - 1);
    });

    final ErrorCode expected;
    final Function<ScriptedAgent.Update, List<UpdateMessage>> spoil;
    final boolean aimsAtTheOpenRound;

    Attack(ErrorCode expected, Function<ScriptedAgent.Update, List<UpdateMessage>> spoil) {
      this.expected = expected;
      this.spoil = spoil;
      this.aimsAtTheOpenRound = !List.of("REPLAYED_OLD_ROUND", "FUTURE_ROUND", "OTHER_JOB", "CHUNK_BEFORE_HEADER")
          .contains(name());
    }
  }

  @ParameterizedTest
  @EnumSource(Attack.class)
  void badUpdateIsRefusedWithItsReasonAndChangesNothing(Attack attack) throws Exception {
    Outcome outcome = runOneRound(dataDir, OuterOptimizerSpec.diloco(), Map.of("mallory",
        task -> List.of(attack.spoil.apply(mallorys(task)))));

    assertEquals(List.of(attack.expected), outcome.mallory().outcomes, outcome.mallory().messages.toString());
    assertFalse(outcome.mallory().messages.get(0).isBlank());
    assertArrayEquals(baselineCheckpoint, outcome.checkpoint(), "checkpoint differs from the run without mallory");
    RoundRecord round = outcome.status().rounds().get(0);
    assertEquals(List.of("alpha", "beta"), round.acceptedSites());
    assertRefusalAudited(dataDir, attack.expected);
    if (attack.aimsAtTheOpenRound) {
      assertEquals(List.of("mallory"), round.refusedSites().stream().map(RoundRecord.RefusedSite::site).toList());
      assertEquals(attack.expected.name(), round.refusedSites().get(0).reason());
    } else {
      // Not an update for this round at all: mallory may still send one, so the round waits for it.
      assertEquals(List.of(), round.refusedSites());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"median", "trimmed-mean", "krum", "multi-krum", "norm-bounded-mean"})
  void aNonFiniteUpdateIsRefusedWhateverTheAggregator(String name, @TempDir Path cleanDir) throws Exception {
    AggregatorSpec aggregator = AggregatorSpec.parse(name);
    byte[] clean = runOneRound(cleanDir, OuterOptimizerSpec.fedAvg(), UpdateCodec.fp32(), aggregator, Map.of())
        .checkpoint();
    Outcome outcome = runOneRound(dataDir, OuterOptimizerSpec.fedAvg(), UpdateCodec.fp32(), aggregator,
        Map.of("mallory", task -> List.of(Attack.NAN.spoil.apply(mallorys(task)))));

    assertEquals(List.of(ErrorCode.NON_FINITE), outcome.mallory().outcomes, outcome.mallory().messages.toString());
    assertEquals(aggregator.describe(), outcome.status().aggregator());
    assertEquals(List.of("alpha", "beta"), outcome.status().rounds().get(0).acceptedSites());
    assertArrayEquals(clean, outcome.checkpoint(), name + ": the checkpoint differs from the run without mallory");
  }

  /** Ways to spoil an int8 update (a job with codec int8), and the code each must be refused with. */
  enum Int8Attack {
    FP32_IN_AN_INT8_JOB(ErrorCode.UNSUPPORTED_CODEC, u -> {
      u.header.setCodec("fp32");
      return u.messages();
    }),
    NAN_SCALE(ErrorCode.MALFORMED, u -> signedAsSent(u, withScale(u.chunks(), Float.NaN))),
    NEGATIVE_SCALE(ErrorCode.MALFORMED, u -> signedAsSent(u, withScale(u.chunks(), -1f))),
    INFINITE_SCALE(ErrorCode.MALFORMED, u -> signedAsSent(u, withScale(u.chunks(), Float.POSITIVE_INFINITY))),
    CHUNK_A_BYTE_SHORT(ErrorCode.SHAPE_MISMATCH, u -> {
      List<ByteString> chunks = new ArrayList<>(u.chunks());
      chunks.set(1, chunks.get(1).substring(0, chunks.get(1).size() - 1));
      return u.messages(chunks, chunks);
    });

    final ErrorCode expected;
    final Function<ScriptedAgent.Update, List<UpdateMessage>> spoil;

    Int8Attack(ErrorCode expected, Function<ScriptedAgent.Update, List<UpdateMessage>> spoil) {
      this.expected = expected;
      this.spoil = spoil;
    }

    /** The spoiled chunks, hashed and signed as sent: only decoding can tell. */
    private static List<UpdateMessage> signedAsSent(ScriptedAgent.Update update, List<ByteString> chunks) {
      return update.messages(chunks, chunks);
    }

    /** The chunks with the scale of chunk 0's first block replaced. */
    private static List<ByteString> withScale(List<ByteString> chunks, float scale) {
      List<ByteString> spoiled = new ArrayList<>(chunks);
      byte[] first = spoiled.get(0).toByteArray();
      java.nio.ByteBuffer.wrap(first).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(0, scale);
      spoiled.set(0, ByteString.copyFrom(first));
      return spoiled;
    }
  }

  @ParameterizedTest
  @EnumSource(Int8Attack.class)
  void badlyEncodedUpdateIsRefusedAndHonestInt8UpdatesAreFolded(Int8Attack attack) throws Exception {
    UpdateCodec int8 = UpdateCodec.parse("int8");
    Outcome outcome = runOneRound(dataDir, OuterOptimizerSpec.fedAvg(), int8, Map.of("mallory",
        task -> List.of(attack.spoil.apply(mallorys(task)))));
    assertEquals(List.of(attack.expected), outcome.mallory().outcomes, outcome.mallory().messages.toString());
    RoundRecord round = outcome.status().rounds().get(0);
    assertEquals(List.of("alpha", "beta"), round.acceptedSites());
    assertEquals(List.of("mallory"), round.refusedSites().stream().map(RoundRecord.RefusedSite::site).toList());
    long int8Bytes = 0;
    for (int from = 0; from < ELEMENTS; from += CHUNK_BYTES / 4) {
      int8Bytes += int8.encodedBytes(Math.min(CHUNK_BYTES / 4, ELEMENTS - from));
    }
    assertEquals(int8Bytes, round.bytesUploaded().get("alpha"), "alpha's update travelled as int8");
    assertRefusalAudited(dataDir, attack.expected);
  }

  /** The audit trail is intact and records mallory's refusal with its reason. */
  private static void assertRefusalAudited(Path dataDir, ErrorCode reason) throws Exception {
    Path trail = dataDir.resolve("audit/audit.log");
    assertTrue(AuditLog.verify(trail, ca.checkpointVerifyingKey()).ok(), "audit trail does not verify");
    List<String> refusals = Files.readAllLines(trail).stream()
        .filter(line -> line.contains("\"type\":\"update.refused\"") && line.contains("\"site\":\"mallory\""))
        .toList();
    assertEquals(1, refusals.size(), "audit lines for mallory's refusal: " + refusals);
    assertTrue(refusals.get(0).contains("\"reason\":\"" + reason.name() + "\""), refusals.get(0));
  }

  @Test
  void secondUpdateFromTheSameSiteIsRefusedAndCountedOnce() throws Exception {
    Outcome outcome = runOneRound(dataDir, OuterOptimizerSpec.diloco(), Map.of("mallory", task -> {
      List<UpdateMessage> first = mallorys(task).messages();
      List<UpdateMessage> another = ScriptedAgent.update(task, ELEMENTS + 0, 98, "mallory", SIGNING.get("mallory"))
          .withNonceSeed(7).messages();
      return List.of(first, another, first);
    }, "alpha", task -> {
      // Holds the round open until mallory's last upload has been answered.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (RUNNING.get("mallory").outcomes.size() < 3 && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      return honest(task, "alpha", 100);
    }));
    assertEquals(List.of(ErrorCode.ERROR_CODE_UNSPECIFIED, ErrorCode.DUPLICATE_UPDATE, ErrorCode.REPLAYED),
        outcome.mallory().outcomes, outcome.mallory().messages.toString());
    RoundRecord round = outcome.status().rounds().get(0);
    assertEquals(List.of("alpha", "beta", "mallory"), round.acceptedSites());
    assertEquals(ELEMENTS * 4L, round.bytesUploaded().get("mallory"));
  }

  /** Mallory's update sent whole in one call: what a striped upload of it must come to. */
  private static Outcome malloryInOneCall(Path dataDir) throws Exception {
    return runOneRound(dataDir, OuterOptimizerSpec.diloco(), Map.of("mallory", task -> List.of(mallorys(task).messages())));
  }

  /** Two runs' checkpoints agree to rounding (the order the sites' updates were folded in may differ). */
  private static void assertSameModel(Outcome expected, Outcome actual) {
    ModelState a = Safetensors.read(Path.of(expected.status().finalCheckpoint()));
    ModelState b = Safetensors.read(Path.of(actual.status().finalCheckpoint()));
    for (int t = 0; t < a.tensorCount(); t++) {
      assertArrayEquals(a.data(t), b.data(t), 1e-6f, "tensor " + t);
    }
  }

  @Test
  void aStripedUploadOverThreeConnectionsIsTakenAsTheSameUpdate(@TempDir Path oneCallDir) throws Exception {
    Outcome oneCall = malloryInOneCall(oneCallDir);
    Outcome striped = runOneRound(dataDir, OuterOptimizerSpec.diloco(), Map.of("mallory", task -> {
      ScriptedAgent.Update update = mallorys(task);
      int chunks = update.chunks().size();
      int[] cuts = {0, 5, 11, chunks};
      List<ScriptedAgent.Call> calls = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        calls.add(RUNNING.get("mallory").call());
      }
      // The runs go at once, each on a connection of its own, their chunks interleaving.
      List<Thread> senders = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        List<UpdateMessage> run = update.run(0, cuts[r], cuts[r + 1]);
        ScriptedAgent.Call call = calls.get(r);
        senders.add(Thread.ofPlatform().start(() -> call.send(run).complete()));
      }
      for (Thread sender : senders) {
        joinQuietly(sender);
      }
      calls.forEach(RUNNING.get("mallory")::record);
      calls.forEach(ScriptedAgent.Call::close);
      return List.of();
    }));
    assertEquals(List.of(ErrorCode.ERROR_CODE_UNSPECIFIED, ErrorCode.ERROR_CODE_UNSPECIFIED,
        ErrorCode.ERROR_CODE_UNSPECIFIED), striped.mallory().outcomes, striped.mallory().messages.toString());
    RoundRecord round = striped.status().rounds().get(0);
    assertEquals(List.of("alpha", "beta", "mallory"), round.acceptedSites());
    assertEquals(ELEMENTS * 4L, round.bytesUploaded().get("mallory"));
    assertSameModel(oneCall, striped);
  }

  @Test
  void aStripedUploadThatBreaksOffResumesFromItsFirstMissingChunk(@TempDir Path oneCallDir) throws Exception {
    Outcome oneCall = malloryInOneCall(oneCallDir);
    List<Long> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    Outcome resumed = runOneRound(dataDir, OuterOptimizerSpec.diloco(), Map.of("mallory", task -> {
      ScriptedAgent mallory = RUNNING.get("mallory");
      ScriptedAgent.Update update = mallorys(task);
      int chunks = update.chunks().size();
      try (ScriptedAgent.Call first = mallory.call(); ScriptedAgent.Call second = mallory.call()) {
        // The first run whole, then the start of the second: chunks 0 to 10 are in, in order, while
        // the second run still owes 11 to 15 when it breaks off.
        first.send(update.run(0, 0, 8)).complete();
        awaitChunksHeld(mallory, update, 8);
        second.send(update.run(0, 8, 11));
        awaitChunksHeld(mallory, update, 11);
        second.cancel();
        mallory.record(first);
        held.add(mallory.chunksHeld(update.header));
      }
      return List.of(update.run(11, 11, chunks));
    }));
    assertEquals(List.of(11L), held, "the coordinator keeps every chunk before the first one missing");
    assertEquals(List.of(ErrorCode.ERROR_CODE_UNSPECIFIED, ErrorCode.ERROR_CODE_UNSPECIFIED),
        resumed.mallory().outcomes, resumed.mallory().messages.toString());
    assertTrue(resumed.mallory().messages.get(0).startsWith("ABORTED"), resumed.mallory().messages.toString());
    assertEquals(List.of("alpha", "beta", "mallory"), resumed.status().rounds().get(0).acceptedSites());
    assertSameModel(oneCall, resumed);
  }

  @Test
  void anUpdateForAnEarlierRoundThatBreaksOffResumesInTheRoundItWasAdmittedTo() throws Exception {
    // Asynchronous rounds, one update each: alpha's commits round 1, and mallory's, trained from
    // round 1's checkpoint, arrives in round 2, breaks off, and resumes there.
    JobSpec spec = new JobSpec(new JobId("async"), 2, 1, 1, 2, Duration.ofSeconds(30), new TrainerSettings(1, 0.1, 0),
        OuterOptimizerSpec.fedAvg(), 1, CHUNK_BYTES, AggregatorSpec.mean(), PrivacySpec.none(), UpdateCodec.fp32(),
        new JobSchedule(List.of(), java.util.Set.of(), Stragglers.waitForAll(), null, null, new AsyncRounds(1, 2)));
    List<Long> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    RUNNING.clear();
    try (Coordinator coordinator = new Coordinator(config(dataDir), spec, initialModel(),
        new PrintStream(new ByteArrayOutputStream())).start();
        ScriptedAgent alpha = new ScriptedAgent(TlsFiles.in(pki.resolve("alpha")), coordinator.port(),
            task -> task.getRound() == 1 ? honest(task, "alpha", 100) : List.of());
        ScriptedAgent mallory = new ScriptedAgent(TlsFiles.in(pki.resolve("mallory")), coordinator.port(), task -> {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          while (coordinator.status().rounds().isEmpty() || !RUNNING.containsKey("mallory")) {
            assertTrue(System.nanoTime() < deadline, "round 1 never committed");
            Thread.onSpinWait();
          }
          ScriptedAgent.Update update = mallorys(task);
          int chunks = update.chunks().size();
          try (ScriptedAgent.Call first = RUNNING.get("mallory").call()) {
            first.send(update.messages().subList(0, 1 + 6));
            awaitChunksHeld(RUNNING.get("mallory"), update, 6);
            first.cancel();
            held.add(RUNNING.get("mallory").chunksHeld(update.header));
          }
          return List.of(update.run(6, 6, chunks));
        })) {
      RUNNING.put("mallory", mallory);
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)), "job did not finish");
      mallory.finished.get(10, TimeUnit.SECONDS);
      assertEquals(List.of(6L), held, "the coordinator keeps the chunks before the break, in round 2's spool");
      assertEquals(List.of(ErrorCode.ERROR_CODE_UNSPECIFIED), mallory.outcomes, mallory.messages.toString());
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state());
      assertEquals(List.of("alpha"), status.rounds().get(0).acceptedSites());
      assertEquals(List.of("mallory"), status.rounds().get(1).acceptedSites(), "the resumed update counts in round 2");
    }
  }

  @Test
  void runsThatOverlapRefuseTheWholeUpdateOnEveryCall() throws Exception {
    Outcome outcome = runOneRound(dataDir, OuterOptimizerSpec.diloco(), Map.of("mallory", task -> {
      ScriptedAgent.Update update = mallorys(task);
      try (ScriptedAgent.Call first = RUNNING.get("mallory").call();
          ScriptedAgent.Call second = RUNNING.get("mallory").call()) {
        first.send(update.run(0, 0, 10)).complete();
        second.send(update.run(0, 5, update.chunks().size())).complete();
        RUNNING.get("mallory").record(first);
        RUNNING.get("mallory").record(second);
      }
      return List.of();
    }));
    assertEquals(List.of(ErrorCode.MALFORMED, ErrorCode.MALFORMED), outcome.mallory().outcomes,
        outcome.mallory().messages.toString());
    assertTrue(outcome.mallory().messages.get(0).contains("chunk 5 arrived twice"), outcome.mallory().messages.toString());
    assertArrayEquals(baselineCheckpoint, outcome.checkpoint(), "checkpoint differs from the run without mallory");
    assertEquals(List.of("mallory"), outcome.status().rounds().get(0).refusedSites().stream()
        .map(RoundRecord.RefusedSite::site).toList());
    assertRefusalAudited(dataDir, ErrorCode.MALFORMED);
  }

  private static void awaitChunksHeld(ScriptedAgent agent, ScriptedAgent.Update update, long chunks) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (agent.chunksHeld(update.header) < chunks) {
      assertTrue(System.nanoTime() < deadline, "the coordinator never held " + chunks + " chunks");
      Thread.onSpinWait();
    }
  }

  private static void joinQuietly(Thread thread) {
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void fedAvgCommitsTheSampleWeightedMeanOfTheSitesModels() throws Exception {
    Outcome outcome = runOneRound(dataDir, OuterOptimizerSpec.fedAvg(), Map.of());
    ModelState committed = Safetensors.read(Path.of(outcome.status().finalCheckpoint()));
    ModelState initial = initialModel();
    float[] alpha = new float[ELEMENTS];
    float[] beta = new float[ELEMENTS];
    Random ra = new Random("alpha".hashCode());
    Random rb = new Random("beta".hashCode());
    for (int i = 0; i < ELEMENTS; i++) {
      alpha[i] = (float) ra.nextGaussian() * 0.01f;
      beta[i] = (float) rb.nextGaussian() * 0.01f;
    }
    int offset = 0;
    for (int t = 0; t < initial.tensorCount(); t++) {
      for (int i = 0; i < initial.data(t).length; i++) {
        double meanDelta = (100.0 * alpha[offset + i] + 300.0 * beta[offset + i]) / 400.0;
        assertEquals(initial.data(t)[i] - meanDelta, committed.data(t)[i], 1e-6, "element " + (offset + i));
      }
      offset += initial.data(t).length;
    }
    assertEquals("1", committed.metadata().get("hanse.round"));
    assertEquals("model", committed.metadata().get("test"));
    String parent = committed.metadata().get("hanse.parent");
    assertTrue(outcome.status().initialCheckpoint().contains(parent), "lineage names the parent checkpoint");
  }

  @Test
  void checkpointsStreamFromAnyOffsetAndAreContentAddressed() throws Exception {
    JobSpec spec = new JobSpec(new JobId("fetch"), 1, 1, 1, 1, Duration.ofSeconds(30), new TrainerSettings(1, 0.1, 0),
        OuterOptimizerSpec.fedAvg(), 1, CHUNK_BYTES);
    try (Coordinator coordinator = new Coordinator(config(dataDir),
        spec, initialModel(), new PrintStream(new ByteArrayOutputStream())).start();
        ScriptedAgent alpha = new ScriptedAgent(TlsFiles.in(pki.resolve("alpha")), coordinator.port(),
            task -> honest(task, "alpha", 10))) {
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)));
      Path file = Path.of(coordinator.status().finalCheckpoint());
      String sha = file.getFileName().toString().replace(".safetensors", "");
      byte[] whole = alpha.fetch(sha, 0);
      assertEquals(sha, java.util.HexFormat.of().formatHex(ScriptedAgent.sha256(whole)));
      assertArrayEquals(java.util.Arrays.copyOfRange(whole, 100, whole.length), alpha.fetch(sha, 100));
      StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> alpha.fetch("ab".repeat(32), 0));
      assertEquals(ErrorCode.UNKNOWN_CHECKPOINT, HanseErrors.detailOf(unknown).getCode());
      StatusRuntimeException badOffset = assertThrows(StatusRuntimeException.class, () -> alpha.fetch(sha, whole.length + 1));
      assertEquals(ErrorCode.MALFORMED, HanseErrors.detailOf(badOffset).getCode());
      // A range, as an agent fetching over several connections asks for one.
      assertArrayEquals(java.util.Arrays.copyOfRange(whole, 100, 300), alpha.fetch(sha, 100, 200));
      for (long[] bad : new long[][] {{100, -1}, {100, whole.length}, {whole.length, 1}}) {
        StatusRuntimeException badRange = assertThrows(StatusRuntimeException.class,
            () -> alpha.fetch(sha, bad[0], bad[1]));
        assertEquals(ErrorCode.MALFORMED, HanseErrors.detailOf(badRange).getCode(), java.util.Arrays.toString(bad));
      }
    }
  }

  @Test
  void aCertificateThatNamesNoSiteIsRefusedAndAForeignCaCannotConnect(@TempDir Path other) throws Exception {
    TlsFiles intruder = ca.issue(NodeIdentity.coordinator("intruder"), List.of(), Duration.ofDays(1), other.resolve("intruder"));
    CertificateAuthority foreignCa = CertificateAuthority.create(other.resolve("foreign-ca"), "foreign", false, Clock.systemUTC());
    TlsFiles foreign = foreignCa.issue(NodeIdentity.site(new SiteId("alpha")), List.of(), Duration.ofDays(1), other.resolve("foreign"));
    JobSpec spec = new JobSpec(new JobId("guard"), 1, 1, 5, 5, Duration.ofSeconds(30), new TrainerSettings(1, 0.1, 0),
        OuterOptimizerSpec.fedAvg(), 1, CHUNK_BYTES);
    try (Coordinator coordinator = new Coordinator(config(dataDir),
        spec, initialModel(), new PrintStream(new ByteArrayOutputStream())).start();
        ScriptedAgent notASite = new ScriptedAgent(intruder, coordinator.port(), task -> List.of());
        ScriptedAgent stranger = new ScriptedAgent(foreign, coordinator.port(), task -> List.of())) {
      Throwable refused = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> notASite.finished.get(10, TimeUnit.SECONDS)).getCause();
      assertEquals(ErrorCode.UNKNOWN_SITE, HanseErrors.detailOf(refused).getCode());
      Throwable handshake = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> stranger.finished.get(10, TimeUnit.SECONDS)).getCause();
      assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(handshake).getCode());
      assertTrue(coordinator.status().sites().isEmpty(), "no one got in");
    }
  }
}
