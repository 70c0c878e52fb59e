package eu.hanse.coordinator.events;

/**
 * Where the coordinator tells what happens in the federation. Publishing must not block or fail
 * the caller: the coordinator goes on whatever the events' destination does.
 */
public interface FederationEvents extends AutoCloseable {
  /** Nowhere: the default, when no event stream is configured. */
  FederationEvents NONE = event -> { };

  void publish(FederationEvent event);

  /** Delivers what is still pending, for a while, and lets go of the destination. */
  @Override
  default void close() {}
}
