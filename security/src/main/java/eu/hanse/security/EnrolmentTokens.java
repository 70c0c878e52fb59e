package eu.hanse.security;

import static java.nio.charset.StandardCharsets.US_ASCII;

import eu.hanse.security.EnrolmentTokenException.Reason;
import eu.hanse.security.EnrolmentTokenStore.Invitation;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The coordinator's one-time enrolment tokens: {@link #invite} issues a token for a site, the
 * site's agent presents it once to enrol, and {@link #redeem} accepts it exactly once.
 *
 * <p>Tokens look like {@code hanse1.<site>.<secret>.<ca-fingerprint>} (see {@link Token}).
 * The file, e.g. {@code <data-dir>/enrolment/tokens.json} (format in {@link EnrolmentTokenStore}),
 * keeps only the SHA-256 of each secret, so reading it does not let anyone enrol. It is owner-only
 * (rw-------) and replaced atomically; its directory is created owner-only if absent.
 *
 * <p>Thread-safe, and safe to share between processes (the coordinator and a CLI command): every
 * operation takes an exclusive lock on the sibling {@code tokens.json.lock} file and re-reads the
 * file inside it. FileLocks belong to a process, and on POSIX systems closing any channel of a file
 * drops the process's locks on it, so within one JVM use one {@code EnrolmentTokens} per file.
 */
public final class EnrolmentTokens {
  /**
   * An invitation for one site to join a consortium, in the form the coordinator's operator hands
   * to the site's operator:
   *
   * <pre>hanse1.&lt;site&gt;.&lt;secret&gt;.&lt;ca-fingerprint&gt;</pre>
   *
   * <p>{@code <site>} is the {@link SiteId} it was issued for; {@code <secret>} is 32 random bytes
   * in base64url without padding (43 characters); {@code <ca-fingerprint>} is 64 hex digits, the
   * SHA-256 of the coordinator's CA certificate, which the site agent pins before it trusts the
   * coordinator it connects to. No part contains a '.', so the token splits unambiguously.
   *
   * <p>Immutable and thread-safe. {@link #toString()} hides the secret, so a token can be logged.
   *
   * @param site the site the token was issued for
   * @param secret the secret, base64url without padding
   * @param caFingerprint the CA certificate's SHA-256, 64 lower-case hex digits
   */
  public record Token(SiteId site, String secret, String caFingerprint) {
    /** The first part of every token, naming its format. */
    public static final String PREFIX = "hanse1";

    /** The number of random bytes in a secret. */
    public static final int SECRET_BYTES = 32;

    private static final Pattern SECRET = Pattern.compile("[A-Za-z0-9_-]{43}");
    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-fA-F]{64}");

    /**
     * Validates the parts and lower-cases the fingerprint.
     *
     * @throws EnrolmentTokenException with {@link Reason#MALFORMED} if a part is invalid
     */
    public Token {
      Objects.requireNonNull(site, "site");
      requireSecret(secret);
      caFingerprint = requireFingerprint(caFingerprint);
    }

    /** The token as text: {@code hanse1.<site>.<secret>.<ca-fingerprint>}. */
    public String encode() {
      return PREFIX + "." + site.name() + "." + secret + "." + caFingerprint;
    }

    /** The token with its secret replaced by {@code ***}, safe for logs. */
    @Override
    public String toString() {
      return PREFIX + "." + site.name() + ".***." + caFingerprint;
    }

    /** The lower-case hex SHA-256 of the secret's bytes: what the coordinator stores. */
    String secretSha256() {
      return Digests.hex(Digests.sha256().digest(Base64.getUrlDecoder().decode(secret)));
    }

    /** Whether {@code fingerprint} is 64 hex digits, in either case. */
    static boolean isFingerprint(String fingerprint) {
      return fingerprint != null && FINGERPRINT.matcher(fingerprint).matches();
    }

    private static String requireFingerprint(String fingerprint) {
      if (!isFingerprint(fingerprint)) {
        // The part is not repeated: in a garbled token it may be the secret.
        throw malformed("the CA fingerprint must be 64 hex digits (the SHA-256 of the CA"
            + " certificate), not " + (fingerprint == null ? "missing" : fingerprint.length()
            + " characters" + (fingerprint.chars().allMatch(Token::isHexDigit)
                ? "" : " including non-hex ones")));
      }
      return fingerprint.toLowerCase(Locale.ROOT);
    }

    private static boolean isHexDigit(int c) {
      return Character.digit(c, 16) >= 0 && c < 128;
    }

    private static void requireSecret(String secret) {
      if (secret == null || !SECRET.matcher(secret).matches()) {
        throw malformed(
            "the token's secret must be 43 base64url characters (A-Z, a-z, 0-9, '-', '_')");
      }
      // The decoder ignores the unused low bits of the last character; requiring the canonical
      // encoding keeps exactly one spelling per secret.
      byte[] bytes;
      try {
        bytes = Base64.getUrlDecoder().decode(secret.getBytes(US_ASCII));
      } catch (IllegalArgumentException e) {
        bytes = new byte[0];
      }
      if (bytes.length != SECRET_BYTES
          || !Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).equals(secret)) {
        throw malformed("the token's secret is not valid base64url for " + SECRET_BYTES + " bytes");
      }
    }
  }

  private final EnrolmentTokenStore store;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  /**
   * Does not touch the disk; the file and its directory are created by the first {@link #invite}.
   *
   * @param file the token file, e.g. {@code <data-dir>/enrolment/tokens.json}
   * @param clock the source of issue, expiry and redemption times
   */
  public EnrolmentTokens(Path file, Clock clock) {
    this.store = new EnrolmentTokenStore(Objects.requireNonNull(file, "file"));
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Issues a token for {@code site}, valid for {@code validity} from now, and records its hash
   * before returning. Earlier tokens for the same site stay valid until used or expired.
   *
   * @param site the site invited
   * @param validity how long the token may be redeemed, positive
   * @param caFingerprintHex the SHA-256 of the CA certificate, 64 hex digits, for the site agent
   *     to pin
   * @return the token text, to hand to the site's operator over a trusted channel; it is the only
   *     copy of the secret
   * @throws IllegalArgumentException if the validity is not positive or the fingerprint is not
   *     64 hex digits
   */
  public synchronized String invite(SiteId site, Duration validity, String caFingerprintHex) {
    Objects.requireNonNull(site, "site");
    Objects.requireNonNull(validity, "validity");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException(
          "An invitation's validity must be positive, not " + validity);
    }
    if (!Token.isFingerprint(caFingerprintHex)) {
      throw new IllegalArgumentException("The CA fingerprint must be 64 hex digits (the SHA-256 of"
          + " the CA certificate), not "
          + (caFingerprintHex == null ? "null" : "'" + caFingerprintHex + "'"));
    }
    byte[] secret = new byte[Token.SECRET_BYTES];
    random.nextBytes(secret);
    Token token = new Token(
        site, Base64.getUrlEncoder().withoutPadding().encodeToString(secret), caFingerprintHex);
    Instant now = clock.instant();
    Invitation invitation =
        new Invitation(token.secretSha256(), site, now, now.plus(validity), null);
    store.transact(invitations -> invitations.add(invitation));
    return token.encode();
  }

  /**
   * Accepts {@code token} for {@code claimedSite} if it was issued for that site, has not been
   * redeemed and has not expired, and records that it was used (forced to disk) before returning,
   * so it is accepted once even across a crash or several processes.
   *
   * @param token the token text as the site presented it
   * @param claimedSite the site enrolling, as the coordinator knows it from the request
   * @return the site the token was issued for (equal to {@code claimedSite})
   * @throws EnrolmentTokenException if refused; its {@link EnrolmentTokenException#reason()} says
   *     why and its message what to do. A refused token stays as it was (an unused token refused
   *     for the wrong site can still be redeemed by the right one)
   */
  public synchronized SiteId redeem(String token, SiteId claimedSite) {
    Objects.requireNonNull(claimedSite, "claimedSite");
    Token parsed = parse(token);
    String secretSha256 = parsed.secretSha256();
    return store.transact(invitations -> {
      // Read the time inside the lock, so it is not older than a redemption it comes after.
      Instant now = clock.instant();
      int index = indexOf(invitations, secretSha256);
      if (index < 0) {
        throw refusal(Reason.UNKNOWN, "This enrolment token was not issued by this coordinator"
            + " (or was issued for another one)", parsed.site());
      }
      Invitation invitation = invitations.get(index);
      SiteId site = invitation.site();
      if (invitation.usedAt() != null) {
        throw refusal(Reason.ALREADY_USED, "This enrolment token for site " + site
            + " was already used, at " + invitation.usedAt() + "; each token works once", site);
      }
      if (!now.isBefore(invitation.expiresAt())) {
        throw refusal(Reason.EXPIRED, "This enrolment token for site " + site + " expired at "
            + invitation.expiresAt(), site);
      }
      if (!site.equals(parsed.site())) {
        throw new EnrolmentTokenException(Reason.WRONG_SITE, "This enrolment token was issued"
            + " for site " + site + " but names site " + parsed.site() + ": it was altered; use"
            + " the token exactly as it was issued");
      }
      if (!site.equals(claimedSite)) {
        throw new EnrolmentTokenException(Reason.WRONG_SITE, "This enrolment token was issued"
            + " for site " + site + ", not " + claimedSite + "; enrol as " + site + ", or ask the"
            + " coordinator's operator for an invitation for " + claimedSite
            + ": hanse site invite " + claimedSite);
      }
      invitations.set(index, invitation.usedAt(now));
      return site;
    });
  }

  /**
   * Parses a token, e.g. on the site agent to learn the site name and the CA fingerprint to pin
   * before connecting. Surrounding whitespace (from copying and pasting) is ignored.
   *
   * @throws EnrolmentTokenException with {@link Reason#MALFORMED}, saying which part is wrong
   *     (the message never repeats the token: it may hold the secret)
   */
  public static Token parse(String token) {
    if (token == null || token.isBlank()) {
      throw malformed("the enrolment token is empty");
    }
    String[] parts = token.strip().split("\\.", -1);
    if (!Token.PREFIX.equals(parts[0])) {
      throw malformed("an enrolment token starts with '" + Token.PREFIX + ".'");
    }
    if (parts.length != 4) {
      throw malformed(
          "an enrolment token has 4 parts separated by '.', this one has " + parts.length);
    }
    if (!Names.isValid(parts[1])) {
      throw malformed(
          "the token's site name is not a valid site name (it must match " + Names.RULE + ")");
    }
    return new Token(new SiteId(parts[1]), parts[2], parts[3]);
  }

  /** The token file. */
  public Path file() {
    return store.file();
  }

  private static int indexOf(List<Invitation> invitations, String secretSha256) {
    // Comparing hashes of secrets: how long a comparison takes says nothing about a secret.
    for (int i = 0; i < invitations.size(); i++) {
      if (invitations.get(i).secretSha256().equals(secretSha256)) {
        return i;
      }
    }
    return -1;
  }

  private static EnrolmentTokenException malformed(String why) {
    return new EnrolmentTokenException(Reason.MALFORMED, "Not a valid enrolment token: " + why
        + "; copy the whole token again from the invitation (the coordinator's operator prints"
        + " one with: hanse site invite NAME)");
  }

  private static EnrolmentTokenException refusal(Reason reason, String what, SiteId site) {
    return new EnrolmentTokenException(reason, what + "; ask the coordinator's operator for a new"
        + " invitation: hanse site invite " + site);
  }
}
