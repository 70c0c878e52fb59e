package eu.hanse.agent;

import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.HeartbeatReply;
import eu.hanse.protocol.v1.HeartbeatRequest;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the coordinator, at the interval it asked for, that the agent is alive and what it is
 * doing, from a thread of its own: a site training for hours stays online. A beat also goes out as
 * soon as the agent's work enters another phase, and once a second while the phase's progress moves
 * by a tenth or more, so that operators' progress bars follow it. A missed heartbeat is only logged;
 * the coordinator decides when a site is offline. A reply that says the round being trained for is
 * no longer wanted is passed on, with the beat it answers, so the agent can stop that work.
 */
final class Heartbeats {
  private static final Logger log = LoggerFactory.getLogger(Heartbeats.class);

  private final Thread thread;
  private volatile boolean stopped;

  private Heartbeats(FederationGrpc.FederationBlockingStub stub, Duration interval, Supplier<HeartbeatRequest> activity,
      BiConsumer<HeartbeatRequest, String> stopWork) {
    this.thread = Thread.ofVirtual().name("hanse-heartbeat").unstarted(() -> beat(stub, interval, activity, stopWork));
  }

  static Heartbeats start(FederationGrpc.FederationBlockingStub stub, Duration interval,
      Supplier<HeartbeatRequest> activity, BiConsumer<HeartbeatRequest, String> stopWork) {
    Heartbeats heartbeats = new Heartbeats(stub, interval, activity, stopWork);
    heartbeats.thread.start();
    return heartbeats;
  }

  /** How often the thread looks at what the agent is doing, between beats. */
  private static final long LOOK_MILLIS = 200;

  private void beat(FederationGrpc.FederationBlockingStub stub, Duration interval, Supplier<HeartbeatRequest> activity,
      BiConsumer<HeartbeatRequest, String> stopWork) {
    HeartbeatRequest last = null;
    long lastSent = 0;
    while (!stopped) {
      HeartbeatRequest now = activity.get();
      long since = (System.nanoTime() - lastSent) / 1_000_000;
      if (last == null || since >= interval.toMillis() || !now.getPhase().equals(last.getPhase())
          || since >= 1000 && Math.abs(now.getProgress() - last.getProgress()) >= 0.1) {
        try {
          HeartbeatReply reply = stub.withDeadlineAfter(Math.max(1000, interval.toMillis()), TimeUnit.MILLISECONDS)
              .heartbeat(now);
          if (!reply.getStopWork().isEmpty()) {
            stopWork.accept(now, reply.getStopWork());
          }
        } catch (StatusRuntimeException e) {
          log.debug("heartbeat not delivered: {}", e.getStatus());
        }
        last = now;
        lastSent = System.nanoTime();
      }
      try {
        Thread.sleep(Math.min(LOOK_MILLIS, interval.toMillis()));
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  void stop() {
    stopped = true;
    thread.interrupt();
  }
}
