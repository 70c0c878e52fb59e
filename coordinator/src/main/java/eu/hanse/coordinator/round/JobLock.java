package eu.hanse.coordinator.round;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The one lock of a job. Every part of a job ({@link JobRun}, its {@link RoundPolicy}, its
 * {@link UpdateIntake}, its {@link Evaluations}) changes the job's state holding this object's
 * monitor, whichever thread brings the change: the job's own thread, or the transport's threads
 * delivering updates, evaluations and heartbeats. So the round state machine reads as if it ran on
 * one thread.
 *
 * <p>A wait releases the lock. It ends when its condition holds or its deadline passes, returns at
 * once when the job is cancelled, and throws {@link InterruptedException} when the job is stopped
 * (the coordinator shuts down): a flag, not a thread interrupt, which would close file channels
 * mid-write.
 */
final class JobLock {
  /** Volatile besides guarded, so that heartbeats read it without waiting for a commit to let go of the lock. */
  private volatile boolean cancelled;
  /** Guarded by this. */
  private boolean stopped;

  /** Waits until {@code condition} holds, the deadline passes, or the job is cancelled. */
  void awaitUntil(BooleanSupplier condition, long deadlineNanos) throws InterruptedException {
    synchronized (this) {
      while (!condition.getAsBoolean() && !cancelled) {
        throwIfStopped();
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
  }

  /** Waits as long as {@code condition} holds and the job is neither cancelled nor stopped. */
  void awaitWhile(BooleanSupplier condition) throws InterruptedException {
    synchronized (this) {
      while (condition.getAsBoolean() && !cancelled) {
        throwIfStopped();
        wait();
      }
      throwIfStopped();
    }
  }

  /**
   * Waits, up to {@code timeoutNanos}, until {@code condition} holds; gives up early when the job
   * is stopped, and keeps the caller's interrupt. For the transport's threads, which wait briefly.
   */
  void awaitBriefly(BooleanSupplier condition, long timeoutNanos) {
    long deadline = System.nanoTime() + timeoutNanos;
    synchronized (this) {
      try {
        while (!condition.getAsBoolean() && !stopped && System.nanoTime() < deadline) {
          TimeUnit.NANOSECONDS.timedWait(this, deadline - System.nanoTime());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Something a wait may be waiting for has changed. */
  void signalAll() {
    synchronized (this) {
      notifyAll();
    }
  }

  /** The job is cancelled: every wait returns, now and from now on. */
  void cancel() {
    synchronized (this) {
      cancelled = true;
      notifyAll();
    }
  }

  /** Whether the job was cancelled; reads a volatile field, never waits for the lock. */
  boolean cancelled() {
    return cancelled;
  }

  /** The coordinator stops: every wait of the job's thread throws, now and from now on. */
  void stop() {
    synchronized (this) {
      stopped = true;
      notifyAll();
    }
  }

  private void throwIfStopped() throws InterruptedException {
    if (stopped) {
      throw new InterruptedException("job stopped");
    }
  }
}
