package eu.hanse.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits an index range into contiguous parts and runs them on a fixed set of daemon threads,
 * waiting for all of them.
 *
 * <p>Part boundaries depend only on the range, the alignment and the thread count, so a kernel
 * whose parts do not interact gives the same bits on every run. With one thread there is no
 * executor and every part runs on the caller. Not safe for concurrent use of {@link #forEach} or
 * {@link #sum}: the pool belongs to one backend, which has one caller at a time.
 */
final class WorkerPool implements AutoCloseable {

  /** A piece of work over the half-open range {@code [from, to)}. */
  @FunctionalInterface
  interface RangeTask {
    void run(int part, int from, int to);
  }

  /** A partial sum over the half-open range {@code [from, to)}. */
  @FunctionalInterface
  interface RangeSum {
    double sum(int from, int to);
  }

  private final int threads;
  private final ExecutorService executor;

  WorkerPool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
    this.executor = threads == 1 ? null : Executors.newFixedThreadPool(threads, daemonFactory());
  }

  int threads() {
    return threads;
  }

  /**
   * Runs {@code task} over {@code [0, n)} in at most {@link #threads()} parts, each part's bounds
   * a multiple of {@code alignment} except the last upper bound. Part numbers are distinct and
   * below {@link #threads()}, so tasks may index per-part scratch by them.
   */
  void forEach(int n, int alignment, RangeTask task) {
    int parts = partCount(n, alignment);
    if (parts <= 1) {
      task.run(0, 0, n);
      return;
    }
    List<Future<Double>> futures = new ArrayList<>(parts);
    for (int p = 0; p < parts; p++) {
      int part = p;
      int from = bound(n, alignment, parts, p);
      int to = bound(n, alignment, parts, p + 1);
      futures.add(
          executor.submit(
              () -> {
                task.run(part, from, to);
                return 0.0;
              }));
    }
    awaitAll(futures);
  }

  /**
   * The sum of {@code partial} over {@code [0, n)} split as in {@link #forEach}; partial sums are
   * added in range order, so the result depends on the thread count but not on timing.
   */
  double sum(int n, int alignment, RangeSum partial) {
    int parts = partCount(n, alignment);
    if (parts <= 1) {
      return partial.sum(0, n);
    }
    List<Future<Double>> futures = new ArrayList<>(parts);
    for (int p = 0; p < parts; p++) {
      int from = bound(n, alignment, parts, p);
      int to = bound(n, alignment, parts, p + 1);
      futures.add(executor.submit(() -> partial.sum(from, to)));
    }
    double[] sums = awaitAll(futures);
    double total = 0;
    for (double s : sums) {
      total += s;
    }
    return total;
  }

  @Override
  public void close() {
    if (executor != null) {
      executor.shutdown();
    }
  }

  private int partCount(int n, int alignment) {
    // Fewer parts than threads when the range holds fewer aligned blocks, so no part is empty.
    long blocks = ((long) n + alignment - 1) / alignment;
    return (int) Math.min(threads, blocks);
  }

  private static int bound(int n, int alignment, int parts, int p) {
    if (p == parts) {
      return n;
    }
    long blocks = ((long) n + alignment - 1) / alignment;
    return (int) Math.min(n, blocks * p / parts * alignment);
  }

  /**
   * Waits for every part even after one fails or the caller is interrupted: returning earlier
   * would leave workers writing into arrays the caller believes it owns again.
   */
  private static double[] awaitAll(List<Future<Double>> futures) {
    double[] results = new double[futures.size()];
    Throwable failure = null;
    boolean interrupted = false;
    for (int i = 0; i < futures.size(); i++) {
      while (true) {
        try {
          results[i] = futures.get(i).get();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          if (failure == null) {
            failure = e.getCause();
          } else if (e.getCause() != failure) {
            failure.addSuppressed(e.getCause());
          }
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failure instanceof RuntimeException re) {
      throw re;
    }
    if (failure instanceof Error err) {
      throw err;
    }
    if (failure != null) {
      throw new IllegalStateException("kernel part failed", failure);
    }
    return results;
  }

  private static ThreadFactory daemonFactory() {
    AtomicInteger counter = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "hanse-kernels-" + counter.getAndIncrement());
      t.setDaemon(true);
      return t;
    };
  }
}
