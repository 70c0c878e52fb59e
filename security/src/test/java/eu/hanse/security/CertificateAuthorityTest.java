package eu.hanse.security;

import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final int SAN_DNS = 2;
  private static final int SAN_URI = 6;
  private static final int SAN_IP = 7;

  @TempDir Path tmp;

  @Test
  void createWritesSelfSignedCaCertificate() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.create(tmp.resolve("ca"), "Hanse EU", false, CLOCK);
    X509Certificate cert = ca.certificate();
    cert.verify(cert.getPublicKey());
    assertEquals(0, cert.getBasicConstraints());
    boolean[] keyUsage = cert.getKeyUsage();
    assertTrue(keyUsage[5] && keyUsage[6], "keyCertSign and cRLSign");
    assertEquals("EC", cert.getPublicKey().getAlgorithm());
    assertEquals(Date.from(NOW.minus(Duration.ofMinutes(5))), cert.getNotBefore());
    assertEquals(Date.from(Instant.parse("2036-03-01T12:00:00Z")), cert.getNotAfter());
    assertTrue(cert.getSubjectX500Principal().getName().contains("O=Hanse EU"));
    assertEquals(cert, PemFiles.readCertificate(tmp.resolve("ca/ca.crt")));
    assertTrue(
        Files.readString(tmp.resolve("ca/ca.key")).startsWith("-----BEGIN PRIVATE KEY-----"));
  }

  @Test
  void keyAndDirectoryAreOwnerOnly() throws Exception {
    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
    Path caDir = tmp.resolve("nested/ca");
    CertificateAuthority ca = CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    assertEquals("rwx------", permissions(caDir));
    assertEquals("rw-------", permissions(caDir.resolve("ca.key")));

    Path tlsDir = tmp.resolve("site-tls");
    ca.issue(NodeIdentity.site(new SiteId("juelich")), List.of(), Duration.ofDays(30), tlsDir);
    assertEquals("rwx------", permissions(tlsDir));
    assertEquals("rw-------", permissions(tlsDir.resolve("node.key")));
  }

  @Test
  void refusesToOverwriteWithoutForce() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    String key = Files.readString(caDir.resolve("ca.key"));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> CertificateAuthority.create(caDir, "Hanse", false, CLOCK));
    assertTrue(e.getMessage().contains(caDir.resolve("ca.key").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("--force"), e.getMessage());
    assertEquals(key, Files.readString(caDir.resolve("ca.key")));
  }

  @Test
  void overwritesWithForce() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority first = CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    String key = Files.readString(caDir.resolve("ca.key"));
    CertificateAuthority second = CertificateAuthority.create(caDir, "Hanse", true, CLOCK);
    assertNotEquals(key, Files.readString(caDir.resolve("ca.key")));
    assertNotEquals(first.certificate(), second.certificate());
    assertEquals(second.certificate(), CertificateAuthority.load(caDir).certificate());
  }

  @Test
  void loadRoundTrips() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority created = CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    CertificateAuthority loaded = CertificateAuthority.load(caDir, CLOCK);
    assertEquals(created.certificate(), loaded.certificate());
    TlsFiles files = loaded.issue(
        NodeIdentity.site(new SiteId("juelich")), List.of(), Duration.ofDays(1), tmp.resolve("t"));
    PemFiles.readCertificate(files.certificate()).verify(created.certificate().getPublicKey());
  }

  @Test
  void createWritesACheckpointSigningKeyPairThatLoadRestores() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority created = CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    assertTrue(Files.readString(caDir.resolve("checkpoint-signing.key"))
        .startsWith("-----BEGIN PRIVATE KEY-----"));
    assertEquals(created.checkpointVerifyingKey(),
        Signatures.loadPublicKey(caDir.resolve("checkpoint-signing.pub")));

    CertificateAuthority loaded = CertificateAuthority.load(caDir, CLOCK);
    assertEquals(created.checkpointVerifyingKey(), loaded.checkpointVerifyingKey());
    byte[] claims = new CheckpointClaims("job", 1, "aa", "", List.of("u")).canonicalBytes();
    assertTrue(Signatures.verify(
        created.checkpointVerifyingKey(), claims, loaded.checkpointSigningKey().sign(claims)));
  }

  @Test
  void checkpointSigningKeyIsOwnerOnly() throws Exception {
    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
    Path caDir = tmp.resolve("ca");
    CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    assertEquals("rw-------", permissions(caDir.resolve("checkpoint-signing.key")));
  }

  @Test
  void forceReplacesTheCheckpointSigningKey() {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority first = CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    CertificateAuthority second = CertificateAuthority.create(caDir, "Hanse", true, CLOCK);
    assertNotEquals(first.checkpointVerifyingKey(), second.checkpointVerifyingKey());
    assertEquals(second.checkpointVerifyingKey(),
        CertificateAuthority.load(caDir).checkpointVerifyingKey());
  }

  @Test
  void loadOfCaWithoutCheckpointKeyExplainsWhatToDo() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    Files.delete(caDir.resolve("checkpoint-signing.key"));
    Files.delete(caDir.resolve("checkpoint-signing.pub"));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> CertificateAuthority.load(caDir));
    assertTrue(e.getMessage().contains("checkpoint-signing.key"), e.getMessage());
    assertTrue(e.getMessage().contains("hanse ca init --force"), e.getMessage());
  }

  @Test
  void loadRejectsMismatchedCheckpointKeyPair() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    SigningKey.generate().save(tmp.resolve("other.key"), caDir.resolve("checkpoint-signing.pub"));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> CertificateAuthority.load(caDir));
    assertTrue(e.getMessage().contains("is not the public half"), e.getMessage());
  }

  @Test
  void loadExplainsMissingCa() {
    IllegalStateException e = assertThrows(
        IllegalStateException.class, () -> CertificateAuthority.load(tmp.resolve("nowhere")));
    assertTrue(e.getMessage().contains("ca.crt"), e.getMessage());
    assertTrue(e.getMessage().contains("ca.key"), e.getMessage());
    assertTrue(e.getMessage().contains("hanse ca init"), e.getMessage());
  }

  @Test
  void loadExplainsMalformedFiles() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    Files.writeString(caDir.resolve("ca.key"), "not a key\n");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> CertificateAuthority.load(caDir));
    assertTrue(e.getMessage().contains(caDir.resolve("ca.key").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("BEGIN PRIVATE KEY"), e.getMessage());
  }

  @Test
  void loadRejectsKeyOfAnotherCa() throws Exception {
    Path caDir = tmp.resolve("ca");
    CertificateAuthority.create(caDir, "Hanse", false, CLOCK);
    CertificateAuthority.create(tmp.resolve("other"), "Other", false, CLOCK);
    Files.copy(tmp.resolve("other/ca.key"), caDir.resolve("ca.key"), REPLACE_EXISTING);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> CertificateAuthority.load(caDir));
    assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
  }

  @Test
  void issuedCertificateCarriesIdentityAndHosts() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, CLOCK);
    NodeIdentity coordinator = NodeIdentity.coordinator("main");
    TlsFiles files = ca.issue(coordinator,
        List.of("Coordinator.Example.org", "localhost", "127.0.0.1", "::1", "[fe80::2]"),
        Duration.ofDays(90), tmp.resolve("tls"));
    assertEquals(TlsFiles.in(tmp.resolve("tls")), files);

    X509Certificate cert = PemFiles.readCertificate(files.certificate());
    cert.verify(ca.certificate().getPublicKey());
    assertEquals(ca.certificate().getSubjectX500Principal(), cert.getIssuerX500Principal());
    assertEquals("CN=main", cert.getSubjectX500Principal().getName());
    assertEquals(-1, cert.getBasicConstraints());
    assertTrue(cert.getKeyUsage()[0], "digitalSignature");
    assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
    assertEquals(Date.from(NOW.minus(Duration.ofMinutes(5))), cert.getNotBefore());
    assertEquals(Date.from(NOW.plus(Duration.ofDays(90))), cert.getNotAfter());
    assertTrue(cert.getSerialNumber().signum() > 0);
    assertTrue(cert.getSerialNumber().bitLength() <= 128);

    Set<List<?>> sans = new HashSet<>(cert.getSubjectAlternativeNames());
    assertEquals(Set.of(
        List.of(SAN_URI, "urn:hanse:coordinator:main"),
        List.of(SAN_DNS, "coordinator.example.org"),
        List.of(SAN_DNS, "localhost"),
        List.of(SAN_IP, "127.0.0.1"),
        List.of(SAN_IP, "0:0:0:0:0:0:0:1"),
        List.of(SAN_IP, "fe80:0:0:0:0:0:0:2")), sans);
    assertEquals(Optional.of(coordinator), NodeIdentity.fromCertificate(cert));

    assertEquals(ca.certificate(), PemFiles.readCertificate(files.caCertificate()));
    assertTrue(Files.readString(files.privateKey()).startsWith("-----BEGIN PRIVATE KEY-----"));
    assertKeyBelongsToCertificate(files);
  }

  @Test
  void issuedCertificateValidatesAsPkixChain() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, Clock.systemUTC());
    TlsFiles files = ca.issue(NodeIdentity.site(new SiteId("cineca")), List.of(),
        Duration.ofDays(1), tmp.resolve("tls"));
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    PKIXParameters parameters =
        new PKIXParameters(Set.of(new TrustAnchor(ca.certificate(), null)));
    parameters.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(
        factory.generateCertPath(List.of(PemFiles.readCertificate(files.certificate()))),
        parameters);
  }

  @Test
  void reissuingReplacesKeyAndSerial() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, CLOCK);
    NodeIdentity site = NodeIdentity.site(new SiteId("juelich"));
    TlsFiles files = ca.issue(site, List.of(), Duration.ofDays(1), tmp.resolve("tls"));
    X509Certificate first = PemFiles.readCertificate(files.certificate());
    ca.issue(site, List.of(), Duration.ofDays(1), tmp.resolve("tls"));
    X509Certificate second = PemFiles.readCertificate(files.certificate());
    assertNotEquals(first.getSerialNumber(), second.getSerialNumber());
    assertNotEquals(first.getPublicKey(), second.getPublicKey());
  }

  @Test
  void rejectsBadHostsAndValidity() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, CLOCK);
    NodeIdentity site = NodeIdentity.site(new SiteId("juelich"));
    Path tls = tmp.resolve("tls");
    for (String host : new String[] {"", "bad host", "under_score.example", "-x.example", "a..b"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ca.issue(site, List.of(host), Duration.ofDays(1), tls), host);
      assertTrue(e.getMessage().contains("'" + host + "'"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class,
        () -> ca.issue(site, List.of(), Duration.ZERO, tls));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issue(site, List.of(), Duration.ofDays(365 * 11), tls));
    assertTrue(e.getMessage().contains("CA itself expires"), e.getMessage());
    assertTrue(Files.notExists(tls), "nothing written for a refused request");
  }

  @Test
  void rejectsBadConsortiumNames() {
    for (String name : new String[] {"", "  ", "x".repeat(65), "a\nb"}) {
      assertThrows(IllegalArgumentException.class,
          () -> CertificateAuthority.create(tmp.resolve("ca"), name, false, CLOCK));
    }
  }

  private static String permissions(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }

  private static void assertKeyBelongsToCertificate(TlsFiles files) throws Exception {
    byte[] message = {1, 2, 3};
    Signature signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(PemFiles.readEcPrivateKey(files.privateKey()));
    signer.update(message);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance("SHA256withECDSA");
    verifier.initVerify(PemFiles.readCertificate(files.certificate()));
    verifier.update(message);
    assertTrue(verifier.verify(signature), "node.key belongs to node.crt");
  }
}
