package eu.hanse.agent.trainer;

import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Set from another thread when the work under way is no longer wanted (the job was cancelled, the
 * round closed, the agent is stopping), with the reason; whatever runs the work looks at it, or
 * waits on it, and stops.
 */
public final class StopSignal {
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile String reason;

  /** Asks the work to stop; the first reason given is kept. */
  public synchronized void stop(String why) {
    if (reason == null) {
      reason = why;
      stopped.countDown();
    }
  }

  /** Why the work should stop, once it should. */
  public Optional<String> reason() {
    return Optional.ofNullable(reason);
  }

  /** Waits {@code millis}, or less if asked to stop meanwhile; true if asked to stop. */
  public boolean await(long millis) {
    try {
      return stopped.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop("the agent is stopping");
      return true;
    }
  }
}
