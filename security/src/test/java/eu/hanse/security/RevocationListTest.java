package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RevocationListTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final Duration CRL_VALIDITY = Duration.ofDays(7);

  @TempDir Path tmp;
  private CertificateAuthority ca;

  @BeforeEach
  void createCa() {
    ca = CertificateAuthority.create(tmp.resolve("ca"), "Hanse", false, CLOCK);
  }

  @Test
  void crlIsSignedByTheCaWithTheDocumentedFields() throws Exception {
    X509CRL crl =
        ca.issueCrl(List.of(BigInteger.TEN, BigInteger.TWO, BigInteger.TEN), CRL_VALIDITY);
    crl.verify(ca.certificate().getPublicKey());
    assertEquals("SHA256withECDSA", crl.getSigAlgName());
    assertEquals(ca.certificate().getSubjectX500Principal(), crl.getIssuerX500Principal());
    assertEquals(Date.from(NOW), crl.getThisUpdate());
    assertEquals(Date.from(NOW.plus(CRL_VALIDITY)), crl.getNextUpdate());
    assertEquals(2, crl.getRevokedCertificates().size(), "duplicates collapse");
    assertEquals(BigInteger.valueOf(NOW.toEpochMilli()), crlNumber(crl));
  }

  @Test
  void laterCrlHasLargerNumber() throws Exception {
    X509CRL first = ca.issueCrl(List.of(), CRL_VALIDITY);
    CertificateAuthority later = CertificateAuthority.load(
        tmp.resolve("ca"), Clock.fixed(NOW.plusSeconds(1), ZoneOffset.UTC));
    X509CRL second = later.issueCrl(List.of(), CRL_VALIDITY);
    assertTrue(crlNumber(second).compareTo(crlNumber(first)) > 0);
  }

  @Test
  void crlRoundTripsThroughWriteAndLoad() throws Exception {
    X509Certificate juelich = issue("juelich");
    X509Certificate cineca = issue("cineca");
    RevocationList revoked = RevocationList.empty().with(juelich.getSerialNumber());
    Path file = tmp.resolve("ca/crl.pem");
    RevocationList.write(file, ca.issueCrl(revoked.serials(), CRL_VALIDITY));
    assertTrue(Files.readString(file).startsWith("-----BEGIN X509 CRL-----\n"));

    RevocationList loaded = RevocationList.load(file, ca.certificate());
    assertTrue(loaded.isRevoked(juelich));
    assertFalse(loaded.isRevoked(cineca));
    assertEquals(Set.of(juelich.getSerialNumber()), loaded.serials());
  }

  @Test
  void rewritingReplacesTheCrl() {
    Path file = tmp.resolve("ca/crl.pem");
    RevocationList.write(file, ca.issueCrl(List.of(BigInteger.ONE), CRL_VALIDITY));
    RevocationList.write(file, ca.issueCrl(List.of(BigInteger.ONE, BigInteger.TWO), CRL_VALIDITY));
    assertEquals(Set.of(BigInteger.ONE, BigInteger.TWO),
        RevocationList.load(file, ca.certificate()).serials());
  }

  @Test
  void missingFileIsAnEmptyList() {
    RevocationList list = RevocationList.load(tmp.resolve("ca/crl.pem"), ca.certificate());
    assertTrue(list.serials().isEmpty());
    assertFalse(list.isRevoked(BigInteger.ONE));
  }

  @Test
  void crlSignedByAnotherCaIsRefused() {
    CertificateAuthority other = CertificateAuthority.create(tmp.resolve("other"), "Hanse", false,
        CLOCK);
    Path file = tmp.resolve("crl.pem");
    RevocationList.write(file, other.issueCrl(List.of(BigInteger.ONE), CRL_VALIDITY));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> RevocationList.load(file, ca.certificate()));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("signature does not verify"), e.getMessage());
  }

  @Test
  void crlIssuedByADifferentlyNamedCaIsRefused() {
    CertificateAuthority other = CertificateAuthority.create(tmp.resolve("other"), "Other", false,
        CLOCK);
    Path file = tmp.resolve("crl.pem");
    RevocationList.write(file, other.issueCrl(List.of(BigInteger.ONE), CRL_VALIDITY));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> RevocationList.load(file, ca.certificate()));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not by this CA"), e.getMessage());
  }

  @Test
  void tamperedCrlIsRefused() throws Exception {
    X509CRL crl = ca.issueCrl(List.of(BigInteger.valueOf(0x1234)), CRL_VALIDITY);
    byte[] der = crl.getEncoded();
    // The entry's serial, DER INTEGER 0x1234: revoke 0x1235 instead.
    boolean found = false;
    for (int i = 0; i + 3 < der.length && !found; i++) {
      if (der[i] == 0x02 && der[i + 1] == 0x02 && der[i + 2] == 0x12 && der[i + 3] == 0x34) {
        der[i + 3] = 0x35;
        found = true;
      }
    }
    assertTrue(found, "serial found in the CRL");
    Path file = tmp.resolve("crl.pem");
    PemFiles.writePem(file, "X509 CRL", der, false);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> RevocationList.load(file, ca.certificate()));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void fileThatIsNotACrlNamesTheFile() throws Exception {
    Path file = tmp.resolve("crl.pem");
    Files.copy(tmp.resolve("ca/ca.crt"), file);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> RevocationList.load(file, ca.certificate()));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("X509 CRL"), e.getMessage());
  }

  @Test
  void withLeavesTheOriginalUnchanged() {
    RevocationList empty = RevocationList.empty();
    RevocationList one = empty.with(BigInteger.TEN);
    assertFalse(empty.isRevoked(BigInteger.TEN));
    assertTrue(one.isRevoked(BigInteger.TEN));
    assertSame(one, one.with(BigInteger.TEN));
    assertNotEquals(one.serials(), one.with(BigInteger.TWO).serials());
    assertThrows(UnsupportedOperationException.class, () -> one.serials().add(BigInteger.ONE));
    assertThrows(IllegalArgumentException.class, () -> empty.with(BigInteger.ZERO));
  }

  @Test
  void serialsAreSortedAndShownInHex() {
    RevocationList list = RevocationList.empty().with(BigInteger.valueOf(255))
        .with(BigInteger.valueOf(16));
    SortedSet<BigInteger> serials = list.serials();
    assertEquals(BigInteger.valueOf(16), serials.first());
    assertEquals("RevocationList[10, ff]", list.toString());
  }

  @Test
  void crlRejectsBadArguments() {
    assertThrows(IllegalArgumentException.class, () -> ca.issueCrl(List.of(), Duration.ZERO));
    assertThrows(IllegalArgumentException.class,
        () -> ca.issueCrl(List.of(BigInteger.ZERO), CRL_VALIDITY));
  }

  private X509Certificate issue(String site) {
    return PemFiles.readCertificate(ca.issue(NodeIdentity.site(new SiteId(site)), List.of(),
        Duration.ofDays(1), tmp.resolve(site)).certificate());
  }

  private static BigInteger crlNumber(X509CRL crl) {
    byte[] value = crl.getExtensionValue(Extension.cRLNumber.getId());
    return ASN1Integer.getInstance(ASN1OctetString.getInstance(value).getOctets())
        .getPositiveValue();
  }
}
