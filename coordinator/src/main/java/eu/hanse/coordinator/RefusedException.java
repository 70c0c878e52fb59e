package eu.hanse.coordinator;

/** A request the coordinator refuses, with the reason the sender gets back. Changes no state. */
final class RefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Refusal reason;

  RefusedException(Refusal reason, String message) {
    super(message);
    this.reason = reason;
  }

  Refusal reason() {
    return reason;
  }
}
