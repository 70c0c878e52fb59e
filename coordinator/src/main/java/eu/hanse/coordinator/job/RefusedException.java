package eu.hanse.coordinator.job;

/** A request the coordinator refuses, with the reason the sender gets back. Changes no state. */
public final class RefusedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Refusal reason;

  public RefusedException(Refusal reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Refusal reason() {
    return reason;
  }
}
