package eu.hanse.agent;

import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.HeartbeatRequest;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the coordinator, at the interval it asked for, that the agent is alive and what it is
 * doing, from a thread of its own: a site training for hours stays online. A missed heartbeat is
 * only logged; the coordinator decides when a site is offline.
 */
final class Heartbeats {
  private static final Logger log = LoggerFactory.getLogger(Heartbeats.class);

  private final Thread thread;
  private volatile boolean stopped;

  private Heartbeats(FederationGrpc.FederationBlockingStub stub, Duration interval, Supplier<HeartbeatRequest> activity) {
    this.thread = Thread.ofVirtual().name("hanse-heartbeat").unstarted(() -> beat(stub, interval, activity));
  }

  static Heartbeats start(FederationGrpc.FederationBlockingStub stub, Duration interval, Supplier<HeartbeatRequest> activity) {
    Heartbeats heartbeats = new Heartbeats(stub, interval, activity);
    heartbeats.thread.start();
    return heartbeats;
  }

  private void beat(FederationGrpc.FederationBlockingStub stub, Duration interval, Supplier<HeartbeatRequest> activity) {
    while (!stopped) {
      try {
        stub.withDeadlineAfter(Math.max(1000, interval.toMillis()), TimeUnit.MILLISECONDS)
            .heartbeat(activity.get());
      } catch (StatusRuntimeException e) {
        log.debug("heartbeat not delivered: {}", e.getStatus());
      }
      try {
        Thread.sleep(interval);
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
