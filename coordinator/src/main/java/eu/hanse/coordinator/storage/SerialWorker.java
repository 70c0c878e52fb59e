package eu.hanse.coordinator.storage;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs tasks behind their caller, one at a time and in the order they were given, on a thread of
 * its own that starts when there is work and ends when idle. At most {@code capacity} tasks wait
 * or run at once; a caller with more waits, so that what the tasks hold stays bounded.
 */
public final class SerialWorker {
  private final int capacity;
  private final Semaphore room;
  private final ExecutorService thread;

  public SerialWorker(String threadName, int capacity) {
    this.capacity = capacity;
    this.room = new Semaphore(capacity);
    this.thread = new ThreadPoolExecutor(0, 1, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        Thread.ofPlatform().daemon().name(threadName).factory());
  }

  /** Queues {@code task}, waiting while the worker is full; false, running nothing, once it is shut down. */
  public boolean submit(Runnable task) {
    room.acquireUninterruptibly();
    try {
      thread.execute(() -> {
        try {
          task.run();
        } finally {
          room.release();
        }
      });
      return true;
    } catch (RejectedExecutionException shutDown) {
      room.release();
      return false;
    }
  }

  /** Waits until every task given so far has run. */
  void awaitIdle() {
    room.acquireUninterruptibly(capacity);
    room.release(capacity);
  }

  /** Takes no more tasks; those queued still run. */
  public void shutdown() {
    thread.shutdown();
  }
}
