package eu.hanse.coordinator.consortium;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.TestConsortium;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.security.CertificateRequest;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.Signatures;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsortiumTest {
  @TempDir Path pki;
  @TempDir Path dataDir;

  private static X509Certificate renew(Consortium consortium, X509Certificate current) {
    return consortium.renew(new SiteId("alpha"), current, CertificateRequest.generate("alpha").der(),
        Signatures.rawPublicKey(SigningKey.generate().publicKey()));
  }

  @Test
  void aRenewedCertificateIsRevokedWithTheSiteAndARevokedOneCannotRenew() throws Exception {
    TestConsortium test = new TestConsortium(pki, "alpha");
    test.config(dataDir);
    X509Certificate original = EnrolmentTls.readCertificate(test.site("alpha").certificate());
    try (Consortium consortium = Consortium.open(dataDir, Clock.systemUTC())) {
      X509Certificate renewed = renew(consortium, original);
      assertFalse(consortium.isRevoked(renewed));
      assertEquals(2, consortium.revoke(new SiteId("alpha"), "test", "test").size(), "both certificates");
      assertTrue(consortium.isRevoked(original));
      assertTrue(consortium.isRevoked(renewed));
      assertTrue(consortium.isRevoked(new SiteId("alpha")));
      RefusedException refused = assertThrows(RefusedException.class, () -> renew(consortium, renewed));
      assertEquals(Refusal.REVOKED, refused.reason());
    }
    try (Consortium reopened = Consortium.open(dataDir, Clock.systemUTC())) {
      assertTrue(reopened.isRevoked(original), "revocation survives a restart");
    }
  }
}
