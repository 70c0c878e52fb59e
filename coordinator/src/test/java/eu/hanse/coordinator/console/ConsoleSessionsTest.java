package eu.hanse.coordinator.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.NodeIdentity;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleSessionsTest {
  @TempDir Path dir;

  /** A clock the test moves. */
  private static final class MovingClock extends Clock {
    Instant now = Instant.now();

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  private CertificateAuthority ca;
  private int issued;

  private X509Certificate viewerCertificate(Duration validity) {
    if (ca == null) {
      ca = CertificateAuthority.create(dir.resolve("ca"), "test", false, Clock.systemUTC());
    }
    return EnrolmentTls.readCertificate(ca.issue(NodeIdentity.viewer("vera"), List.of(), validity,
        dir.resolve("vera-" + ++issued)).certificate());
  }

  @Test
  void aLoginCodeWorksOnceAndOnlyForFiveMinutes() {
    MovingClock clock = new MovingClock();
    ConsoleSessions sessions = new ConsoleSessions(clock);
    X509Certificate certificate = viewerCertificate(Duration.ofDays(30));
    ConsoleSessions.Granted first = sessions.open(NodeIdentity.viewer("vera"), certificate);
    assertEquals(first.session(), sessions.redeem(first.loginCode()).orElseThrow());
    assertEquals(Optional.empty(), sessions.redeem(first.loginCode()), "a code works once");

    ConsoleSessions.Granted second = sessions.open(NodeIdentity.viewer("vera"), certificate);
    assertNotEquals(first.session().token(), second.session().token());
    clock.now = clock.now.plus(ConsoleSessions.LOGIN_CODE_VALIDITY).plusSeconds(1);
    assertEquals(Optional.empty(), sessions.redeem(second.loginCode()), "a code expires");
    assertTrue(sessions.find(second.session().token()).isPresent(), "the session itself goes on");
    assertEquals(Optional.empty(), sessions.find("not-a-token"));
    assertEquals(Optional.empty(), sessions.find(null));
  }

  @Test
  void aSessionEndsAfterTwelveHoursOrWithItsCertificateWhicheverIsFirst() {
    MovingClock clock = new MovingClock();
    ConsoleSessions sessions = new ConsoleSessions(clock);
    ConsoleSessions.Session longLived = sessions.open(NodeIdentity.viewer("vera"),
        viewerCertificate(Duration.ofDays(30))).session();
    assertEquals(clock.now.plus(ConsoleSessions.VALIDITY), longLived.expires());

    X509Certificate expiringSoon = viewerCertificate(Duration.ofHours(1));
    ConsoleSessions.Session shortLived = sessions.open(NodeIdentity.viewer("vera"), expiringSoon).session();
    assertEquals(expiringSoon.getNotAfter().toInstant(), shortLived.expires());
    clock.now = expiringSoon.getNotAfter().toInstant().plusSeconds(1);
    assertEquals(Optional.empty(), sessions.find(shortLived.token()), "ended with its certificate");
    assertTrue(sessions.find(longLived.token()).isPresent());
    clock.now = longLived.expires();
    assertEquals(Optional.empty(), sessions.find(longLived.token()), "ended after twelve hours");
  }
}
