package eu.hanse.coordinator.events;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The federation's events for watchers that come and go (the dashboard, {@code hanse job watch}):
 * each event gets the next sequence number, the last {@link #KEPT} are kept so that a watcher that
 * reconnects picks up where it left off, and every subscriber is told of each new one. Thread-safe;
 * subscribers run on the publishing thread and must not block.
 */
public final class LiveEvents implements FederationEvents {
  /** Events kept for watchers that (re)connect. */
  static final int KEPT = 2000;

  /** An event and its place in the stream, from 1. */
  public record Numbered(long seq, FederationEvent event) {}

  private final ArrayDeque<Numbered> recent = new ArrayDeque<>();
  private final List<Consumer<Numbered>> subscribers = new CopyOnWriteArrayList<>();
  /** The last number given; guarded by this. */
  private long last;

  /** Numbers the event, keeps it and tells every subscriber, under the lock: in order, none twice. */
  @Override
  public synchronized void publish(FederationEvent event) {
    Numbered numbered = new Numbered(++last, event);
    recent.addLast(numbered);
    if (recent.size() > KEPT) {
      recent.removeFirst();
    }
    subscribers.forEach(subscriber -> subscriber.accept(numbered));
  }

  /**
   * Tells {@code subscriber} of every event after {@code afterSeq} that is still kept, then of each
   * new one until {@link #unsubscribe}. No event is missed or told twice between the two.
   */
  public synchronized void subscribe(long afterSeq, Consumer<Numbered> subscriber) {
    subscribers.add(subscriber); // First, so that a subscriber may unsubscribe while the backlog is told.
    for (Numbered numbered : recent) {
      if (numbered.seq() > afterSeq) {
        subscriber.accept(numbered);
      }
    }
  }

  public void unsubscribe(Consumer<Numbered> subscriber) {
    subscribers.remove(subscriber);
  }

  /** The sequence number of the last event; 0 before the first. */
  public synchronized long lastSeq() {
    return last;
  }
}
