package eu.hanse.security;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateRequestTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final Duration VALIDITY = Duration.ofDays(30);
  private static final NodeIdentity JUELICH = NodeIdentity.site(new SiteId("juelich"));
  private static final int SAN_URI = 6;
  private static final int SAN_IP = 7;

  @TempDir Path tmp;
  private CertificateAuthority ca;

  @BeforeEach
  void createCa() {
    ca = CertificateAuthority.create(
        tmp.resolve("ca"), "Hanse", false, Clock.fixed(NOW, ZoneOffset.UTC));
  }

  @Test
  void signingKeyRoundTripsThroughIssueFromRequest() {
    SigningKey signing = SigningKey.generate();
    CertificateRequest request = CertificateRequest.generate("juelich");
    X509Certificate cert = ca.issueFromRequest(
        request.der(), JUELICH, signing.publicKey(), List.of(), VALIDITY);
    assertEquals(Optional.of(signing.publicKey()), SigningKeyExtension.read(cert));
    assertTrue(cert.getNonCriticalExtensionOIDs().contains(SigningKeyExtension.OID));
    assertEquals(request.publicKey(), cert.getPublicKey());
  }

  @Test
  void certificateFromRequestIsLikeAnIssuedOne() throws Exception {
    CertificateRequest request = CertificateRequest.generate("coordinator");
    X509Certificate cert = ca.issueFromRequest(request.der(), NodeIdentity.coordinator("main"),
        null, List.of("127.0.0.1"), VALIDITY);
    cert.verify(ca.certificate().getPublicKey());
    assertEquals("CN=main", cert.getSubjectX500Principal().getName());
    assertEquals(-1, cert.getBasicConstraints());
    assertTrue(cert.getKeyUsage()[0], "digitalSignature");
    assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
    assertEquals(Date.from(NOW.plus(VALIDITY)), cert.getNotAfter());
    assertEquals(
        Set.of(List.of(SAN_URI, "urn:hanse:coordinator:main"), List.of(SAN_IP, "127.0.0.1")),
        new HashSet<>(cert.getSubjectAlternativeNames()));
    assertEquals(Optional.empty(), SigningKeyExtension.read(cert), "no signing key asked for");
  }

  @Test
  void issuedCertificateChainsToTheCa() throws Exception {
    CertificateAuthority liveCa = CertificateAuthority.create(
        tmp.resolve("live-ca"), "Hanse", false, Clock.systemUTC());
    X509Certificate cert = liveCa.issueFromRequest(CertificateRequest.generate("x").der(),
        JUELICH, SigningKey.generate().publicKey(), List.of(), Duration.ofDays(1));
    PKIXParameters parameters =
        new PKIXParameters(Set.of(new TrustAnchor(liveCa.certificate(), null)));
    parameters.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert)), parameters);
  }

  @Test
  void identityComesFromTheCaNotFromTheRequestSubject() {
    CertificateRequest request = CertificateRequest.generate("coordinator-main");
    X509Certificate cert = ca.issueFromRequest(request.der(), JUELICH, null, List.of(), VALIDITY);
    assertEquals("CN=juelich", cert.getSubjectX500Principal().getName());
    assertEquals(Optional.of(JUELICH), NodeIdentity.fromCertificate(cert));
  }

  @Test
  void issueWithSigningKeyBindsItIntoTheWrittenCertificate() {
    SigningKey signing = SigningKey.generate();
    TlsFiles files = ca.issue(JUELICH, signing.publicKey(), List.of(), VALIDITY, tmp.resolve("t"));
    assertEquals(Optional.of(signing.publicKey()),
        SigningKeyExtension.read(PemFiles.readCertificate(files.certificate())));
    X509Certificate plain = PemFiles.readCertificate(
        ca.issue(JUELICH, List.of(), VALIDITY, tmp.resolve("u")).certificate());
    assertEquals(Optional.empty(), SigningKeyExtension.read(plain));
  }

  @Test
  void nonEd25519SigningKeyIsRefused() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(CertificateRequest.generate("x").der(), JUELICH,
            TestCertificates.ecKeyPair().getPublic(), List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("Ed25519"), e.getMessage());
  }

  @Test
  void requestWithAlteredContentIsRefused() {
    byte[] der = CertificateRequest.generate("juelich").der();
    int at = indexOf(der, "juelich".getBytes(US_ASCII));
    der[at] = 'k';
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("signature does not verify"), e.getMessage());
  }

  @Test
  void requestWithBrokenSignatureIsRefused() {
    byte[] der = CertificateRequest.generate("juelich").der();
    // The last byte belongs to the ECDSA signature's s value.
    der[der.length - 1] ^= 0x01;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("signature"), e.getMessage());
  }

  @Test
  void rsaRequestIsRefused() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    byte[] der = csr(generator.generateKeyPair(), "SHA256withRSA");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("RSA"), e.getMessage());
    assertTrue(e.getMessage().contains("EC P-256"), e.getMessage());
  }

  @Test
  void ed25519RequestIsRefused() throws Exception {
    byte[] der = csr(KeyPairGenerator.getInstance("Ed25519").generateKeyPair(), "Ed25519");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("Ed25519"), e.getMessage());
  }

  @Test
  void ecRequestOnAnotherCurveIsRefused() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp384r1"));
    byte[] der = csr(generator.generateKeyPair(), "SHA384withECDSA");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("EC P-256"), e.getMessage());
  }

  @Test
  void garbageIsNotARequest() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(new byte[] {1, 2, 3}, JUELICH, null, List.of(), VALIDITY));
    assertTrue(e.getMessage().contains("PKCS#10"), e.getMessage());
  }

  @Test
  void badHostsAndValidityAreRefusedAsForIssue() {
    byte[] der = CertificateRequest.generate("x").der();
    assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of("bad host"), VALIDITY));
    assertThrows(IllegalArgumentException.class,
        () -> ca.issueFromRequest(der, JUELICH, null, List.of(), Duration.ZERO));
  }

  @Test
  void savedPrivateKeyIsOwnerOnlyPkcs8() throws Exception {
    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
    Path key = tmp.resolve("fresh-dir/node.key");
    CertificateRequest.generate("juelich").savePrivateKey(key);
    assertEquals("rw-------", permissions(key));
    assertEquals("rwx------", permissions(key.getParent()));
    assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----\n"));
  }

  @Test
  void savedPrivateKeyBelongsToTheIssuedCertificate() throws Exception {
    CertificateRequest request = CertificateRequest.generate("juelich");
    Path tlsDir = tmp.resolve("tls");
    request.savePrivateKey(TlsFiles.in(tlsDir).privateKey());
    X509Certificate cert = ca.issueFromRequest(request.der(), JUELICH, null, List.of(), VALIDITY);
    TlsFiles files = TlsFiles.writeIssued(tlsDir, cert, ca.certificate());
    assertEquals(TlsFiles.in(tlsDir), files);
    assertEquals(cert, PemFiles.readCertificate(files.certificate()));
    assertEquals(ca.certificate(), PemFiles.readCertificate(files.caCertificate()));
    assertTrue(CertificateAuthority.keyMatches(
        PemFiles.readEcPrivateKey(files.privateKey()), cert.getPublicKey()));
  }

  @Test
  void writeIssuedRefusesACertificateForAnotherKey() {
    Path tlsDir = tmp.resolve("tls");
    CertificateRequest.generate("juelich").savePrivateKey(TlsFiles.in(tlsDir).privateKey());
    X509Certificate other = ca.issueFromRequest(
        CertificateRequest.generate("juelich").der(), JUELICH, null, List.of(), VALIDITY);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsFiles.writeIssued(tlsDir, other, ca.certificate()));
    assertTrue(e.getMessage().contains("is not the key"), e.getMessage());
    assertFalse(Files.exists(TlsFiles.in(tlsDir).certificate()));
  }

  @Test
  void writeIssuedRefusesACertificateFromAnotherCa() {
    CertificateRequest request = CertificateRequest.generate("juelich");
    Path tlsDir = tmp.resolve("tls");
    request.savePrivateKey(TlsFiles.in(tlsDir).privateKey());
    X509Certificate cert = ca.issueFromRequest(request.der(), JUELICH, null, List.of(), VALIDITY);
    CertificateAuthority other = CertificateAuthority.create(
        tmp.resolve("other"), "Other", false, Clock.systemUTC());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsFiles.writeIssued(tlsDir, cert, other.certificate()));
    assertTrue(e.getMessage().contains("not issued by"), e.getMessage());
  }

  @Test
  void writeIssuedNeedsTheKeyFirst() {
    CertificateRequest request = CertificateRequest.generate("juelich");
    X509Certificate cert = ca.issueFromRequest(request.der(), JUELICH, null, List.of(), VALIDITY);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> TlsFiles.writeIssued(tmp.resolve("empty"), cert, ca.certificate()));
    assertTrue(e.getMessage().contains("node.key"), e.getMessage());
  }

  @Test
  void derIsACopy() {
    CertificateRequest request = CertificateRequest.generate("juelich");
    byte[] der = request.der();
    byte[] original = der.clone();
    der[0] ^= 1;
    assertArrayEquals(original, request.der());
  }

  @Test
  void rejectsBadCommonNames() {
    for (String name : new String[] {"", " ", "x".repeat(65), "a\nb"}) {
      assertThrows(IllegalArgumentException.class, () -> CertificateRequest.generate(name));
    }
    assertThrows(IllegalArgumentException.class, () -> CertificateRequest.generate(null));
  }

  @Test
  void malformedSigningKeyExtensionIsReported() throws Exception {
    X509Certificate cert = TestCertificates.selfSignedWithExtension(new Extension(
        new org.bouncycastle.asn1.ASN1ObjectIdentifier(SigningKeyExtension.OID), false,
        new DEROctetString(new byte[31]).getEncoded()));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SigningKeyExtension.read(cert));
    assertTrue(e.getMessage().contains(SigningKeyExtension.OID), e.getMessage());
  }

  private static byte[] csr(KeyPair keys, String algorithm) throws Exception {
    return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=juelich"), keys.getPublic())
        .build(new JcaContentSignerBuilder(algorithm).build(keys.getPrivate()))
        .getEncoded();
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }

  private static String permissions(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }
}
