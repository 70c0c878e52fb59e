package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.security.EnrolmentTokenException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnrolmentTokensTest {
  private static final String FINGERPRINT = "ab".repeat(32);
  private static final SiteId JUELICH = new SiteId("juelich");
  private static final SiteId CINECA = new SiteId("cineca");
  private static final Duration WEEK = Duration.ofDays(7);

  @TempDir Path tmp;
  private Path file;
  private MutableClock clock;
  private EnrolmentTokens tokens;

  /** A clock the test moves by hand. */
  private static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant start) {
      this.now = start;
    }

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  @BeforeEach
  void setUp() {
    file = tmp.resolve("data").resolve("enrolment").resolve("tokens.json");
    clock = new MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
    tokens = new EnrolmentTokens(file, clock);
  }

  private static EnrolmentTokenException refused(Reason reason, Runnable action) {
    EnrolmentTokenException e = assertThrows(EnrolmentTokenException.class, action::run);
    assertEquals(reason, e.reason(), e.getMessage());
    return e;
  }

  @Test
  void aTokenIsRedeemedOnceForItsSite() {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    assertTrue(token.startsWith("hanse1.juelich."), token);
    assertTrue(token.endsWith("." + FINGERPRINT), token);

    assertEquals(JUELICH, tokens.redeem(token, JUELICH));
    EnrolmentTokenException again = refused(Reason.ALREADY_USED, () -> tokens.redeem(token, JUELICH));
    assertTrue(again.getMessage().contains("hanse site invite juelich"), again.getMessage());
  }

  @Test
  void redemptionIsPersistedForTheNextProcess() {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    EnrolmentTokens before = new EnrolmentTokens(file, clock);
    assertEquals(JUELICH, before.redeem(token, JUELICH));

    EnrolmentTokens after = new EnrolmentTokens(file, clock);
    refused(Reason.ALREADY_USED, () -> after.redeem(token, JUELICH));
    refused(Reason.ALREADY_USED, () -> tokens.redeem(token, JUELICH));
  }

  @Test
  void aTokenExpiresAtTheEndOfItsValidity() {
    String early = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    String late = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    clock.advance(WEEK.minusNanos(1));
    assertEquals(JUELICH, tokens.redeem(early, JUELICH));

    clock.advance(Duration.ofNanos(1));
    EnrolmentTokenException e = refused(Reason.EXPIRED, () -> tokens.redeem(late, JUELICH));
    assertTrue(e.getMessage().contains("expired at 2026-03-08T12:00:00Z"), e.getMessage());
    assertTrue(e.getMessage().contains("hanse site invite juelich"), e.getMessage());
  }

  @Test
  void aTokenForAnotherSiteIsRefusedAndStaysUsableByItsOwnSite() {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);

    EnrolmentTokenException e = refused(Reason.WRONG_SITE, () -> tokens.redeem(token, CINECA));
    assertTrue(e.getMessage().contains("issued for site juelich, not cineca"), e.getMessage());
    assertEquals(JUELICH, tokens.redeem(token, JUELICH));
  }

  @Test
  void aTokenWhoseSiteWasEditedIsRefused() {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    String edited = token.replace("hanse1.juelich.", "hanse1.cineca.");

    refused(Reason.WRONG_SITE, () -> tokens.redeem(edited, CINECA));
    assertEquals(JUELICH, tokens.redeem(token, JUELICH));
  }

  @Test
  void anUnknownSecretIsRefused() {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    EnrolmentTokens.Token parsed = EnrolmentTokens.parse(token);
    String otherSecret = Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]);
    String forged = new EnrolmentTokens.Token(JUELICH, otherSecret, FINGERPRINT).encode();
    assertFalse(forged.equals(parsed.encode()));

    refused(Reason.UNKNOWN, () -> tokens.redeem(forged, JUELICH));
    String elsewhere = new EnrolmentTokens(tmp.resolve("other.json"), clock)
        .invite(JUELICH, WEEK, FINGERPRINT);
    refused(Reason.UNKNOWN, () -> tokens.redeem(elsewhere, JUELICH));
  }

  @Test
  void aSecondInvitationForTheSameSiteIsAlsoValid() {
    String first = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    String second = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    assertFalse(first.equals(second));

    assertEquals(JUELICH, tokens.redeem(second, JUELICH));
    assertEquals(JUELICH, tokens.redeem(first, JUELICH));
  }

  @Test
  void malformedTokensAreRefusedWithoutRepeatingThem() {
    String valid = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    String secret = EnrolmentTokens.parse(valid).secret();
    List<String> malformed = List.of(
        "",
        "   ",
        "hanse2.juelich." + secret + "." + FINGERPRINT,
        "hanse1.juelich." + secret,
        "hanse1.juelich." + secret + "." + FINGERPRINT + ".extra",
        "hanse1..juelich." + secret + "." + FINGERPRINT,
        "hanse1.Juelich." + secret + "." + FINGERPRINT,
        "hanse1.juelich." + secret.substring(1) + "." + FINGERPRINT,
        "hanse1.juelich." + secret.substring(0, 42) + "!." + FINGERPRINT,
        "hanse1.juelich." + secret + "=." + FINGERPRINT,
        "hanse1.juelich." + nonCanonical(secret) + "." + FINGERPRINT,
        "hanse1.juelich." + secret + "." + FINGERPRINT.substring(1),
        "hanse1.juelich." + secret + "." + FINGERPRINT.substring(1) + "g",
        "hanse1.juelich." + FINGERPRINT + "." + secret);
    for (String token : malformed) {
      EnrolmentTokenException parse =
          refused(Reason.MALFORMED, () -> EnrolmentTokens.parse(token));
      refused(Reason.MALFORMED, () -> tokens.redeem(token, JUELICH));
      assertFalse(parse.getMessage().contains(secret), parse.getMessage());
      assertTrue(parse.getMessage().contains("hanse site invite"), parse.getMessage());
    }
    assertThrows(EnrolmentTokenException.class, () -> EnrolmentTokens.parse(null));
    assertEquals(JUELICH, tokens.redeem(valid, JUELICH), "malformed attempts change nothing");
  }

  @Test
  void parseReadsSiteSecretAndFingerprintForTheAgent() {
    String token = tokens.invite(CINECA, WEEK, FINGERPRINT.toUpperCase());
    EnrolmentTokens.Token parsed = EnrolmentTokens.parse("  " + token + "\n");

    assertEquals(CINECA, parsed.site());
    assertEquals(FINGERPRINT, parsed.caFingerprint());
    assertEquals(32, Base64.getUrlDecoder().decode(parsed.secret()).length);
    assertEquals(token, parsed.encode());
    assertFalse(parsed.toString().contains(parsed.secret()), parsed.toString());
  }

  @Test
  void theFileHoldsOnlyTheSecretsHashAndIsOwnerOnly() throws Exception {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    String secret = EnrolmentTokens.parse(token).secret();
    byte[] secretBytes = Base64.getUrlDecoder().decode(secret);
    tokens.redeem(token, JUELICH);

    String text = Files.readString(file, UTF_8);
    assertFalse(text.contains(secret), text);
    assertFalse(text.contains(Base64.getEncoder().withoutPadding().encodeToString(secretBytes)));
    assertFalse(text.toLowerCase().contains(HexFormat.of().formatHex(secretBytes)));
    assertTrue(text.contains(Digests.hex(Digests.sha256().digest(secretBytes))), text);
    assertTrue(text.contains("\"usedAt\" : \"2026-03-01T12:00:00Z\""), text);
    assertTrue(text.contains("\"expiresAt\" : \"2026-03-08T12:00:00Z\""), text);

    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwx------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
  }

  @Test
  void concurrentRedemptionsAcceptATokenExactlyOnce() throws Exception {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    int attempts = 8;
    ExecutorService pool = Executors.newFixedThreadPool(attempts);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < attempts; i++) {
        // Separate objects, as separate processes would have, plus the shared one.
        EnrolmentTokens own = i % 2 == 0 ? tokens : new EnrolmentTokens(file, clock);
        results.add(pool.submit(() -> {
          start.await();
          try {
            own.redeem(token, JUELICH);
            return true;
          } catch (EnrolmentTokenException e) {
            assertEquals(Reason.ALREADY_USED, e.reason());
            return false;
          }
        }));
      }
      start.countDown();
      int accepted = 0;
      for (Future<Boolean> result : results) {
        accepted += result.get(1, TimeUnit.MINUTES) ? 1 : 0;
      }
      assertEquals(1, accepted);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void invalidInvitationsAreRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> tokens.invite(JUELICH, Duration.ZERO, FINGERPRINT));
    assertThrows(IllegalArgumentException.class,
        () -> tokens.invite(JUELICH, Duration.ofSeconds(-1), FINGERPRINT));
    assertThrows(IllegalArgumentException.class,
        () -> tokens.invite(JUELICH, WEEK, "abc"));
    assertThrows(IllegalArgumentException.class,
        () -> tokens.invite(JUELICH, WEEK, "zz".repeat(32)));
    assertFalse(Files.exists(file), "nothing was issued");
  }

  @Test
  void aCorruptFileIsReportedNotTreatedAsEmpty() throws Exception {
    String token = tokens.invite(JUELICH, WEEK, FINGERPRINT);
    Files.writeString(file, "{\"version\":1,\"invitations\":[{\"site\":\"juelich\"}]}");

    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> tokens.redeem(token, JUELICH));
    assertTrue(e.getMessage().contains("not a valid enrolment token file"), e.getMessage());
  }

  /** The same 32 bytes, spelled with the last character's unused bits set. */
  private static String nonCanonical(String secret) {
    char last = secret.charAt(secret.length() - 1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int value = alphabet.indexOf(last);
    return secret.substring(0, secret.length() - 1) + alphabet.charAt(value ^ 1);
  }
}
