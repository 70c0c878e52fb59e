package eu.hanse.agent;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent is doing now and how far it has come: the phase of its work (download, train,
 * upload, evaluate, or idle) and the share of it done, which its heartbeats carry to the
 * coordinator, where operators see it as a progress bar. Thread-safe: the runs of a striped upload
 * advance it at once.
 */
public final class Progress {
  private volatile String phase = "idle";
  private volatile long total = 1;
  private final AtomicLong done = new AtomicLong();

  /** A new phase of {@code total} units (bytes, steps, chunks), none done yet. */
  public void start(String phase, long total) {
    done.set(0);
    this.total = Math.max(1, total);
    this.phase = phase;
  }

  /** {@code units} more are done. */
  public void advance(long units) {
    done.addAndGet(units);
  }

  /** {@code units} are done in all. */
  public void reached(long units) {
    done.set(units);
  }

  public void idle() {
    start("idle", 1);
  }

  public String phase() {
    return phase;
  }

  /** The share of the phase done, from 0 to 1. */
  public double fraction() {
    return Math.min(1.0, Math.max(0.0, (double) done.get() / total));
  }
}
