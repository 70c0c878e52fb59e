package eu.hanse.coordinator.round;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.storage.StateStore;
import java.util.Locale;
import java.util.Map;

/**
 * Where a job stands: running (possibly paused), or ended as finished, failed or cancelled. Each
 * change is stored and audited. Changed under the job's lock; {@link #state()} reads a volatile
 * field, so that heartbeats never wait for a commit.
 */
final class JobLifecycle {
  private final JobId job;
  private final StateStore store;
  private final Consortium consortium;
  private final JobLock lock;
  /** Guarded by the job's lock; volatile besides, for {@link #state()}. */
  private volatile String state;
  /** Guarded by the job's lock. */
  private boolean paused;

  JobLifecycle(JobId job, StateStore.StoredJob stored, StateStore store, Consortium consortium, JobLock lock) {
    this.job = job;
    this.store = store;
    this.consortium = consortium;
    this.lock = lock;
    this.state = stored.state();
    this.paused = stored.paused();
  }

  /** {@link JobStatus#RUNNING} (paused or not) or the state the job ended in. */
  String state() {
    return state;
  }

  boolean running() {
    return state.equals(JobStatus.RUNNING);
  }

  /** The state as operators see it: a running job that is paused shows as {@link JobStatus#PAUSED}. */
  String shown() {
    synchronized (lock) {
      return running() && paused ? JobStatus.PAUSED : state;
    }
  }

  /** Pauses a running job: no new round opens until it is resumed. True if it changed anything. */
  boolean pause(String by) {
    synchronized (lock) {
      if (!running()) {
        return false;
      }
      paused = true;
      store.setPaused(job.value(), true);
      consortium.audit("job.paused", Map.of("job", job.value(), "by", by));
      return true;
    }
  }

  /** True if the job was paused. */
  boolean resume(String by) {
    synchronized (lock) {
      if (!paused) {
        return false;
      }
      paused = false;
      store.setPaused(job.value(), false);
      consortium.audit("job.resumed", Map.of("job", job.value(), "by", by));
      lock.signalAll();
      return true;
    }
  }

  /** Cancels a running job: every wait of its thread returns, and its thread ends the job. */
  void cancel(String by) {
    synchronized (lock) {
      if (!running()) {
        return;
      }
      paused = false;
      consortium.audit("job.cancelled", Map.of("job", job.value(), "by", by));
      lock.cancel();
    }
  }

  /** Waits while the job is paused; throws if the job is stopped meanwhile. */
  void awaitUnpaused() throws InterruptedException {
    lock.awaitWhile(() -> paused);
  }

  /** Ends the job in {@code finalState} after {@code rounds} committed rounds; {@code reason} may be null. */
  void finish(String finalState, String reason, int rounds) {
    // Audited first: whoever sees the job ended finds why in the trail.
    consortium.audit("job." + finalState.toLowerCase(Locale.ROOT), Map.of("job", job.value(),
        "rounds", Integer.toString(rounds), "reason", reason == null ? "" : reason));
    synchronized (lock) {
      state = finalState;
      store.setJobState(job.value(), finalState, reason);
      lock.signalAll();
    }
  }
}
