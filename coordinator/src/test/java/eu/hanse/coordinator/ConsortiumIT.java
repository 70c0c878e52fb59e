package eu.hanse.coordinator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.ModelState;
import eu.hanse.model.TensorSpec;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.AdminGrpc;
import eu.hanse.protocol.v1.ControlJobRequest;
import eu.hanse.protocol.v1.EnrollRequest;
import eu.hanse.protocol.v1.EnrolmentGrpc;
import eu.hanse.protocol.v1.ErrorCode;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.FetchCheckpointRequest;
import eu.hanse.protocol.v1.IssuedCertificate;
import eu.hanse.protocol.v1.JobStatusRequest;
import eu.hanse.protocol.v1.RevokeSiteRequest;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.security.AuditLog;
import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.CertificateRequest;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.Signatures;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SigningKeyExtension;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The consortium's guarantees against a real coordinator over mutual TLS on 127.0.0.1. */
class ConsortiumIT {
  private static final int ELEMENTS = 600;

  @TempDir static Path pki;
  @TempDir Path dataDir;
  private static TestConsortium consortium;

  @BeforeAll
  static void createConsortium() {
    consortium = new TestConsortium(pki, "alpha", "beta", "mallory");
    consortium.issue(NodeIdentity.operator("ops"), null, "ops");
    consortium.issue(NodeIdentity.lead("lead"), null, "lead");
  }

  private static ModelState model() {
    Random random = new Random(5);
    float[] values = new float[ELEMENTS];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return new ModelState(List.of(TensorSpec.of("w", ELEMENTS)), List.of(values), Map.of());
  }

  private Coordinator start(Path dir, int rounds, int minSites, int startSites) throws Exception {
    JobSpec spec = new JobSpec(new JobId("sec"), rounds, 1, minSites, startSites, Duration.ofSeconds(20),
        new TrainerSettings(1, 0.1, 0), OuterOptimizerSpec.diloco(), 3, 256);
    return new Coordinator(consortium.config(dir), spec, model(), new PrintStream(new ByteArrayOutputStream())).start();
  }

  private static List<List<UpdateMessage>> honest(TrainTask task, String site) {
    return List.of(ScriptedAgent.update(task, ELEMENTS, site.hashCode(), site, consortium.signing.get(site)).messages());
  }

  private static List<String> auditLines(Path dir, String type) throws Exception {
    Path trail = Consortium.auditFile(dir);
    assertTrue(AuditLog.verify(trail, consortium.ca.checkpointVerifyingKey()).ok(), "audit trail does not verify");
    return Files.readAllLines(trail).stream().filter(l -> l.contains("\"type\":\"" + type + "\"")).toList();
  }

  private static ManagedChannel channel(int port, TlsFiles tls) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(TlsContexts.forClient(tls)).build();
  }

  @Test
  void handshakesWithoutAValidConsortiumCertificateAreRefusedAndAudited(@TempDir Path other) throws Exception {
    // An impostor CA with the consortium's own name: the client offers its certificate, the server refuses it.
    TlsFiles impostor = CertificateAuthority.create(other.resolve("foreign-ca"), "test consortium", false, Clock.systemUTC())
        .issue(NodeIdentity.site(new SiteId("alpha")), List.of(), Duration.ofDays(1), other.resolve("foreign"));
    // It trusts the real coordinator, so the handshake gets as far as the server judging its certificate.
    TlsFiles foreign = new TlsFiles(consortium.coordinatorTls.caCertificate(), impostor.certificate(), impostor.privateKey());
    Clock twoDaysAgo = Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC);
    TlsFiles expired = CertificateAuthority.load(pki.resolve("ca"), twoDaysAgo)
        .issue(NodeIdentity.site(new SiteId("beta")), List.of(), Duration.ofHours(1), other.resolve("expired"));
    var noCertificate = GrpcSslContexts.configure(io.netty.handler.ssl.SslContextBuilder.forClient(), SslProvider.JDK)
        .trustManager(consortium.coordinatorTls.caCertificate().toFile()).protocols("TLSv1.3").build();
    try (Coordinator coordinator = start(dataDir, 1, 5, 5)) {
      List<io.netty.handler.ssl.SslContext> intruders = List.of(TlsContexts.forClient(foreign),
          TlsContexts.forClient(expired), noCertificate);
      for (var tls : intruders) {
        try (ScriptedAgent intruder = new ScriptedAgent(tls, coordinator.port(), task -> List.of())) {
          Throwable refused = assertThrows(java.util.concurrent.ExecutionException.class,
              () -> intruder.finished.get(10, TimeUnit.SECONDS)).getCause();
          assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(refused).getCode());
        }
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (auditLines(dataDir, "tls.refused").size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      List<String> refusals = auditLines(dataDir, "tls.refused");
      assertEquals(2, refusals.size(), "the certificates judged and refused: " + refusals);
      assertTrue(refusals.get(0).contains("urn:hanse:site:alpha"), refusals.get(0));
      assertTrue(refusals.get(1).contains("NotAfter") || refusals.get(1).contains("expired"), refusals.get(1));
      while (auditLines(dataDir, "tls.handshake-failed").size() < 3 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      List<String> failed = auditLines(dataDir, "tls.handshake-failed");
      assertEquals(3, failed.size(), "every failed handshake, the one without a certificate too: " + failed);
      assertTrue(failed.get(2).contains("certificate"), failed.get(2));
      assertTrue(coordinator.status().sites().isEmpty());
    }
  }

  @Test
  void theAdminInterfaceEnforcesRoles() throws Exception {
    try (Coordinator coordinator = start(dataDir, 1, 5, 5)) {
      ManagedChannel ops = channel(coordinator.port(), TlsFiles.in(pki.resolve("ops")));
      ManagedChannel lead = channel(coordinator.port(), TlsFiles.in(pki.resolve("lead")));
      ManagedChannel site = channel(coordinator.port(), consortium.site("alpha"));
      try {
        String status = AdminGrpc.newBlockingStub(ops).getJobStatus(JobStatusRequest.getDefaultInstance()).getJson();
        assertTrue(status.contains("\"job\":\"sec\""), status);
        assertForbidden(() -> AdminGrpc.newBlockingStub(ops).controlJob(pause()));
        assertForbidden(() -> AdminGrpc.newBlockingStub(lead).revokeSite(RevokeSiteRequest.newBuilder().setSite("beta").build()));
        assertForbidden(() -> AdminGrpc.newBlockingStub(site).getJobStatus(JobStatusRequest.getDefaultInstance()));
        String paused = AdminGrpc.newBlockingStub(lead).controlJob(pause()).getJson();
        assertTrue(paused.contains("\"state\":\"PAUSED\""), paused);
        assertTrue(AdminGrpc.newBlockingStub(lead).getJobStatus(JobStatusRequest.getDefaultInstance()).getJson()
            .contains("PAUSED"));
        assertThrows(StatusRuntimeException.class, () -> FederationGrpc.newBlockingStub(ops)
            .fetchCheckpoint(FetchCheckpointRequest.newBuilder().setSha256("ab".repeat(32)).build()).hasNext(),
            "an operator is not a site");
        assertEquals(3, auditLines(dataDir, "admin.forbidden").size());
        assertEquals(1, auditLines(dataDir, "call.refused").size(), "the operator's federation call");
        assertEquals(1, auditLines(dataDir, "job.paused").size());
      } finally {
        ops.shutdownNow();
        lead.shutdownNow();
        site.shutdownNow();
      }
    }
  }

  private static ControlJobRequest pause() {
    return ControlJobRequest.newBuilder().setAction(ControlJobRequest.Action.PAUSE).build();
  }

  private static void assertForbidden(org.junit.jupiter.api.function.Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(ErrorCode.FORBIDDEN, HanseErrors.detailOf(e).getCode(), e.getMessage());
  }

  /** The checkpoint of one round with only alpha and beta, both honest: what a refused party must not change. */
  private byte[] honestRound(Path dir) throws Exception {
    try (Coordinator coordinator = start(dir, 1, 2, 2);
        ScriptedAgent alpha = new ScriptedAgent(consortium.site("alpha"), coordinator.port(), t -> honest(t, "alpha"));
        ScriptedAgent beta = new ScriptedAgent(consortium.site("beta"), coordinator.port(), t -> honest(t, "beta"))) {
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)));
      return Files.readAllBytes(Path.of(coordinator.status().finalCheckpoint()));
    }
  }

  /** One round: alpha and beta honest, mallory honest too but revoked after its update was accepted. */
  @Test
  void revokingASiteDiscardsItsAcceptedUpdateAndShutsItOut(@TempDir Path baselineDir) throws Exception {
    byte[] baseline = honestRound(baselineDir);

    List<ScriptedAgent> agents = new ArrayList<>();
    try (Coordinator coordinator = start(dataDir, 1, 2, 3)) {
      ScriptedAgent mallory = new ScriptedAgent(consortium.site("mallory"), coordinator.port(), t -> honest(t, "mallory"));
      Function<TrainTask, List<List<UpdateMessage>>> alphaAfterRevocation = task -> {
        // Holds the round open until mallory's update is in, then an operator revokes mallory.
        await(() -> mallory.outcomes.size() == 1);
        ManagedChannel ops = channel(coordinator.port(), TlsFiles.in(pki.resolve("ops")));
        AdminGrpc.newBlockingStub(ops).revokeSite(RevokeSiteRequest.newBuilder().setSite("mallory").setReason("test").build());
        ops.shutdownNow();
        return honest(task, "alpha");
      };
      agents.add(mallory);
      agents.add(new ScriptedAgent(consortium.site("alpha"), coordinator.port(), alphaAfterRevocation));
      agents.add(new ScriptedAgent(consortium.site("beta"), coordinator.port(), t -> honest(t, "beta")));
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)));

      assertEquals(List.of(ErrorCode.ERROR_CODE_UNSPECIFIED), mallory.outcomes, "mallory's update was accepted first");
      RoundRecord round = coordinator.status().rounds().get(0);
      assertEquals(List.of("alpha", "beta"), round.acceptedSites());
      assertEquals("REVOKED", round.refusedSites().get(0).reason());
      assertArrayEquals(baseline, Files.readAllBytes(Path.of(coordinator.status().finalCheckpoint())),
          "the checkpoint must be the one computed without mallory");
      assertEquals(1, auditLines(dataDir, "update.discarded").size());

      ManagedChannel again = channel(coordinator.port(), consortium.site("mallory"));
      try {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> FederationGrpc.newBlockingStub(again)
            .fetchCheckpoint(FetchCheckpointRequest.newBuilder().setSha256("ab".repeat(32)).build()).hasNext());
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), "a revoked certificate fails the handshake");
      } finally {
        again.shutdownNow();
      }
    } finally {
      agents.forEach(ScriptedAgent::close);
    }
  }

  @Test
  void anOfflineRevocationDiscardsTheUpdateOfASiteThatAlreadyLeft(@TempDir Path baselineDir) throws Exception {
    byte[] baseline = honestRound(baselineDir);
    List<ScriptedAgent> agents = new ArrayList<>();
    try (Coordinator coordinator = start(dataDir, 1, 2, 3)) {
      ScriptedAgent mallory = new ScriptedAgent(consortium.site("mallory"), coordinator.port(), t -> honest(t, "mallory"));
      Function<TrainTask, List<List<UpdateMessage>>> alphaAfterRevocation = task -> {
        await(() -> mallory.outcomes.size() == 1);
        mallory.close();
        // 'hanse site revoke' from another process: only the CRL file tells the coordinator.
        try (Consortium cli = Consortium.open(dataDir, Clock.systemUTC())) {
          cli.revoke(new SiteId("mallory"), "left and revoked", "test");
        }
        await(() -> {
          try {
            return auditLines(dataDir, "update.discarded").size() == 1;
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        });
        return honest(task, "alpha");
      };
      agents.add(mallory);
      agents.add(new ScriptedAgent(consortium.site("alpha"), coordinator.port(), alphaAfterRevocation));
      agents.add(new ScriptedAgent(consortium.site("beta"), coordinator.port(), t -> honest(t, "beta")));
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)));
      assertEquals(List.of("alpha", "beta"), coordinator.status().rounds().get(0).acceptedSites());
      assertArrayEquals(baseline, Files.readAllBytes(Path.of(coordinator.status().finalCheckpoint())));
    } finally {
      agents.forEach(ScriptedAgent::close);
    }
  }

  @Test
  void aCrlWrittenByAnotherProcessCutsTheSiteOffWithinASecond() throws Exception {
    try (Coordinator coordinator = start(dataDir, 1, 5, 5);
        ScriptedAgent beta = new ScriptedAgent(consortium.site("beta"), coordinator.port(), t -> List.of())) {
      await(() -> coordinator.status().sites().contains("beta"));
      try (Consortium cli = Consortium.open(dataDir, Clock.systemUTC())) {
        cli.revoke(new SiteId("beta"), "offline revocation", "test");
      }
      long revokedAt = System.nanoTime();
      await(() -> !coordinator.status().sites().contains("beta"));
      assertTrue(System.nanoTime() - revokedAt < TimeUnit.SECONDS.toNanos(5), "took too long");
      Throwable closed = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> beta.finished.get(10, TimeUnit.SECONDS)).getCause();
      assertEquals(ErrorCode.REVOKED, HanseErrors.detailOf(closed).getCode(), "the agent is told why");
    }
  }

  @Test
  void anInvitationWorksOnceForItsSiteAndItsKeyMustBeTheSitesOwn() throws Exception {
    try (Coordinator coordinator = start(dataDir, 1, 5, 5)) {
      String token = coordinator.consortium().invite(new SiteId("gamma"), Duration.ofMinutes(5), "test");
      String fingerprint = EnrolmentTls.fingerprint(consortium.ca.certificate());
      ManagedChannel enrol = NettyChannelBuilder.forAddress("127.0.0.1", coordinator.enrolPort())
          .sslContext(EnrolmentTls.forClient(fingerprint)).overrideAuthority("127.0.0.1").build();
      try {
        CertificateRequest request = CertificateRequest.generate("anything");
        SigningKey key = SigningKey.generate();
        IssuedCertificate issued = EnrolmentGrpc.newBlockingStub(enrol).enroll(enrollRequest(token, request, key));
        X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(issued.getCertificateDer().toByteArray()));
        assertEquals(NodeIdentity.site(new SiteId("gamma")), NodeIdentity.fromCertificate(certificate).orElseThrow());
        assertEquals(request.publicKey(), certificate.getPublicKey());
        assertEquals(key.publicKey(), SigningKeyExtension.read(certificate).orElseThrow());

        assertBadToken(enrol, token, "used twice");
        String[] parts = coordinator.consortium().invite(new SiteId("delta"), Duration.ofMinutes(5), "test").split("\\.");
        assertBadToken(enrol, String.join(".", parts[0], "epsilon", parts[2], parts[3]), "another site's name");
        assertBadToken(enrol, "hanse1.gamma.not-a-secret", "garbage");
        assertEquals(1, auditLines(dataDir, "site.enrolled").size());
        assertEquals(3, auditLines(dataDir, "site.enrolment-refused").size());
      } finally {
        enrol.shutdownNow();
      }
    }
  }

  private static EnrollRequest enrollRequest(String token, CertificateRequest request, SigningKey key) {
    return EnrollRequest.newBuilder().setToken(token).setRequest(eu.hanse.protocol.v1.CertificateRequest.newBuilder()
        .setCsrDer(ByteString.copyFrom(request.der()))
        .setSigningPublicKey(ByteString.copyFrom(Signatures.rawPublicKey(key.publicKey())))).build();
  }

  private static void assertBadToken(ManagedChannel enrol, String token, String what) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> EnrolmentGrpc.newBlockingStub(enrol)
        .enroll(enrollRequest(token, CertificateRequest.generate("x"), SigningKey.generate())), what);
    assertEquals(ErrorCode.BAD_TOKEN, HanseErrors.detailOf(e).getCode(), what + ": " + e.getMessage());
  }

  private static void await(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 20 s");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }
}
