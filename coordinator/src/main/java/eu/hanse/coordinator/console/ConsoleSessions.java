package eu.hanse.coordinator.console;

import eu.hanse.security.NodeIdentity;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sessions for the HTTP console's browsers, which hold no certificate: a person with an operator's,
 * a lead's or a viewer's certificate asks for one (with that certificate), and gets a token with the
 * certificate's identity and role, and a one-time login code that a browser exchanges for the token
 * in a cookie. A session ends after {@link #VALIDITY} or when its certificate expires, whichever
 * comes first, at the coordinator's restart, or as soon as its certificate is revoked. Thread-safe.
 */
final class ConsoleSessions {
  /** How long a session lasts. */
  static final Duration VALIDITY = Duration.ofHours(12);
  /** How long a login code may wait before it is used. */
  static final Duration LOGIN_CODE_VALIDITY = Duration.ofMinutes(5);

  /** A session: whose it is, the certificate it came from, and when it ends. */
  record Session(String token, NodeIdentity identity, X509Certificate certificate, Instant expires) {}

  /** What the one who asked gets: the session, and the code a browser logs in with once. */
  record Granted(Session session, String loginCode) {}

  private record LoginCode(String token, Instant expires) {}

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Map<String, Session> byToken = new ConcurrentHashMap<>();
  private final Map<String, LoginCode> loginCodes = new ConcurrentHashMap<>();

  ConsoleSessions(Clock clock) {
    this.clock = clock;
  }

  Granted open(NodeIdentity identity, X509Certificate certificate) {
    Instant now = clock.instant();
    byToken.values().removeIf(session -> !now.isBefore(session.expires()));
    loginCodes.values().removeIf(code -> !now.isBefore(code.expires()));
    Instant certificateEnds = certificate.getNotAfter().toInstant();
    Instant ends = now.plus(VALIDITY).isBefore(certificateEnds) ? now.plus(VALIDITY) : certificateEnds;
    Session session = new Session(secret(), identity, certificate, ends);
    byToken.put(session.token(), session);
    String code = secret();
    loginCodes.put(code, new LoginCode(session.token(), now.plus(LOGIN_CODE_VALIDITY)));
    return new Granted(session, code);
  }

  /** The session a token names, while it lasts. */
  Optional<Session> find(String token) {
    Session session = token == null ? null : byToken.get(token);
    return session != null && clock.instant().isBefore(session.expires()) ? Optional.of(session) : Optional.empty();
  }

  /** The token a login code stands for, once: the code is gone afterwards. */
  Optional<Session> redeem(String code) {
    LoginCode login = code == null ? null : loginCodes.remove(code);
    if (login == null || !clock.instant().isBefore(login.expires())) {
      return Optional.empty();
    }
    return find(login.token());
  }

  private String secret() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
