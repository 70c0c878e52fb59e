package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.Enrolment;
import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.security.AuditLog;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SiteId;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator and three real site agents over gRPC with mutual TLS on 127.0.0.1. The sites join
 * with one-time invitations, making their own keys; the federated model's held-out loss must fall;
 * a certificate can be renewed mid-job; a site revoked mid-job is out at once while the job goes on.
 */
class FederationIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo", "marenostrum");
  private static final CharModelConfig MODEL = new CharModelConfig(97, 6, 16, 64);

  @TempDir Path dir;
  private final ByteArrayOutputStream progress = new ByteArrayOutputStream();
  private TestFederation federation;

  @BeforeEach
  void newFederation() {
    federation = new TestFederation(dir, new PrintStream(progress, true));
  }

  @AfterEach
  void stopAgents() {
    federation.close();
  }

  private Coordinator startCoordinator(int rounds) {
    JobSpec spec = new JobSpec(new JobId("e2e"), rounds, 40, 2, 3, Duration.ofMinutes(2),
        new TrainerSettings(32, 0.01, 0.0), OuterOptimizerSpec.diloco(), 5, JobSpec.DEFAULT_CHUNK_BYTES);
    return federation.startCoordinator(spec, CharModel.initialize(MODEL, 5));
  }

  private void enrolAndStartAgents(Coordinator coordinator) {
    federation.enrolAndStartAgents(coordinator, SITES, Map.of());
  }

  private void awaitRounds(Coordinator coordinator, int rounds) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (coordinator.status().roundsCompleted() < rounds && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertTrue(coordinator.status().roundsCompleted() >= rounds, "round " + rounds + " never committed: " + progress);
  }

  @Test
  void enrolledSitesTrainTogetherAndHeldOutLossFalls() throws Exception {
    try (Coordinator coordinator = startCoordinator(4)) {
      enrolAndStartAgents(coordinator);
      String firstToken = coordinator.consortium().invite(new SiteId("jupiter"), Duration.ofMinutes(5), "test");
      Enrolment.enroll("127.0.0.1:" + coordinator.enrolPort(), firstToken, dir.resolve("spare"));
      assertThrows(IllegalStateException.class,
          () -> Enrolment.enroll("127.0.0.1:" + coordinator.enrolPort(), firstToken, dir.resolve("spare-2")),
          "a token works once");

      awaitRounds(coordinator, 1);
      X509Certificate before = EnrolmentTls.readCertificate(dir.resolve("jupiter/tls/node.crt"));
      X509Certificate renewed = Enrolment.renew("127.0.0.1:" + coordinator.port(), dir.resolve("jupiter"));
      assertNotEquals(before.getSerialNumber(), renewed.getSerialNumber());
      assertEquals(NodeIdentity.fromCertificate(before), NodeIdentity.fromCertificate(renewed));

      assertTrue(coordinator.awaitJob(Duration.ofMinutes(3)), "job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      List<Double> loss = status.heldOutLoss();
      assertEquals(5, loss.size(), "held-out loss before round 1 and after each round: " + loss);
      for (int r = 1; r < loss.size(); r++) {
        assertTrue(loss.get(r) < loss.get(r - 1), "held-out loss rose in round " + r + ": " + loss);
      }
      assertTrue(loss.get(4) < loss.get(0) - 1.0, "held-out loss fell too little: " + loss);
      status.rounds().forEach(round -> assertEquals(SITES, round.acceptedSites(), "renewal stopped no one"));

      ModelState last = Safetensors.read(Path.of(status.finalCheckpoint()));
      assertEquals(MODEL, CharModel.configOf(last));
      assertEquals(4L * last.elementCount() * 4 * 3, status.bytesUploaded(), "4 rounds of 3 fp32 updates");
      for (Thread thread : federation.threads) {
        thread.join(Duration.ofSeconds(20));
        assertFalse(thread.isAlive(), "agent did not stop after the job finished");
      }
      assertKeysStayedAtTheSites();
      assertTrue(AuditLog.verify(Consortium.auditFile(dir.resolve("coordinator")),
          coordinator.consortium().checkpointVerifyingKey()).ok());
      String trail = Files.readString(Consortium.auditFile(dir.resolve("coordinator")));
      assertEquals(3 + 1, count(trail, "\"type\":\"site.enrolled\""));
      assertEquals(1, count(trail, "\"type\":\"site.renewed\""));
      assertEquals(12, count(trail, "\"type\":\"update.accepted\""));
      assertEquals(5, count(trail, "\"type\":\"checkpoint.committed\""));
    }
  }

  @Test
  void aSiteRevokedMidJobIsOutAtOnceWhileTheOthersTrainOn() throws Exception {
    X509Certificate revokedCertificate;
    try (Coordinator coordinator = startCoordinator(5)) {
      enrolAndStartAgents(coordinator);
      awaitRounds(coordinator, 2);
      revokedCertificate = EnrolmentTls.readCertificate(dir.resolve("marenostrum/tls/node.crt"));
      coordinator.revoke(new SiteId("marenostrum"), "test: partner left", "test");

      assertTrue(coordinator.awaitJob(Duration.ofMinutes(3)), "job did not finish: " + progress);
      JobStatus status = coordinator.status();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
      assertEquals(SITES, status.rounds().get(0).acceptedSites());
      List<RoundRecord> after = status.rounds().subList(3, 5);
      after.forEach(round -> assertEquals(List.of("jupiter", "leonardo"), round.acceptedSites(), "round " + round.round()));
      assertFalse(status.sites().contains("marenostrum"), "revoked site still connected");
      assertTrue(status.heldOutLoss().get(5) < status.heldOutLoss().get(2), "the job kept learning");
      String trail = Files.readString(Consortium.auditFile(dir.resolve("coordinator")));
      assertEquals(1, count(trail, "\"type\":\"site.revoked\""));
    }
    try (Consortium reopened = Consortium.open(dir.resolve("coordinator"), Clock.systemUTC())) {
      assertTrue(reopened.isRevoked(revokedCertificate), "the revocation must survive a restart");
    }
  }

  /** No file of the coordinator's holds a site's private key material, raw, in hex or in base64. */
  private void assertKeysStayedAtTheSites() throws Exception {
    List<String> coordinatorFiles = new ArrayList<>();
    try (var walk = Files.walk(dir.resolve("coordinator"))) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        coordinatorFiles.add(new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    for (String site : SITES) {
      for (byte[] secret : List.of(tlsPrivateScalar(dir.resolve(site + "/tls/node.key")),
          ed25519Seed(dir.resolve(site + "/tls/signing.key")))) {
        List<String> forms = List.of(new String(secret, java.nio.charset.StandardCharsets.ISO_8859_1),
            java.util.HexFormat.of().formatHex(secret), java.util.Base64.getEncoder().encodeToString(secret).substring(0, 40));
        for (String content : coordinatorFiles) {
          for (String form : forms) {
            assertFalse(content.contains(form), site + "'s private key material found on the coordinator");
          }
        }
      }
    }
  }

  private static byte[] pkcs8(Path pem) throws Exception {
    String body = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return java.util.Base64.getDecoder().decode(body);
  }

  private static byte[] tlsPrivateScalar(Path pem) throws Exception {
    var key = (java.security.interfaces.ECPrivateKey) java.security.KeyFactory.getInstance("EC")
        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8(pem)));
    byte[] s = key.getS().toByteArray();
    return java.util.Arrays.copyOfRange(s, s.length - 32, s.length);
  }

  private static byte[] ed25519Seed(Path pem) throws Exception {
    byte[] der = pkcs8(pem);
    // PKCS#8 for Ed25519 ends with the 32-byte seed (RFC 8410).
    return java.util.Arrays.copyOfRange(der, der.length - 32, der.length);
  }

  private static int count(String text, String needle) {
    int count = 0;
    for (int at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      count++;
    }
    return count;
  }
}
