package eu.hanse.security;

import java.util.Objects;

/**
 * An enrolment token was refused: it is not a token at all, or the coordinator will not accept it.
 * The message says what the person holding the token should do next; it never contains the
 * token's secret.
 */
public final class EnrolmentTokenException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why a token was refused. */
  public enum Reason {
    /** The text is not a well-formed {@code hanse1.<site>.<secret>.<fingerprint>} token. */
    MALFORMED,
    /** The coordinator never issued this token (or issued it for another coordinator). */
    UNKNOWN,
    /** The token was already redeemed; each works once. */
    ALREADY_USED,
    /** The token's validity ended before it was redeemed. */
    EXPIRED,
    /** The token was issued for another site than the one redeeming it. */
    WRONG_SITE
  }

  private final Reason reason;

  /**
   * @param reason why the token was refused
   * @param message what happened and what to do, without the token's secret
   */
  public EnrolmentTokenException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** Why the token was refused, for code that maps it to a status or an exit code. */
  public Reason reason() {
    return reason;
  }
}
