package eu.hanse.coordinator;

import eu.hanse.security.TlsFiles;
import java.nio.file.Path;

/**
 * How to start a coordinator.
 *
 * @param dataDir where checkpoints, spooled updates and job status live
 * @param listenHost the address to listen on; 127.0.0.1 unless sites connect from other machines
 * @param listenPort the port; 0 picks a free one (see {@link Coordinator#port()})
 * @param enrolPort the port on {@code listenHost} where sites without a certificate enrol with a token;
 *     0 picks a free one (see {@link Coordinator#enrolPort()})
 * @param tls the coordinator's certificate, key and the consortium CA
 * @param heartbeatInterval how often agents send a heartbeat
 * @param missedHeartbeats heartbeats a site may miss before it is marked offline
 */
public record CoordinatorConfig(Path dataDir, String listenHost, int listenPort, int enrolPort, TlsFiles tls,
    java.time.Duration heartbeatInterval, int missedHeartbeats) {
  /** Agents beat every 5 s; four missed in a row (20 s of silence) and the site is offline. */
  public CoordinatorConfig(Path dataDir, String listenHost, int listenPort, int enrolPort, TlsFiles tls) {
    this(dataDir, listenHost, listenPort, enrolPort, tls, java.time.Duration.ofSeconds(5), 4);
  }

  /** How long a site may be silent before it is marked offline. */
  public java.time.Duration heartbeatTimeout() {
    return heartbeatInterval.multipliedBy(missedHeartbeats);
  }

  public CoordinatorConfig {
    if (heartbeatInterval.toMillis() < 10 || missedHeartbeats < 1) {
      throw new IllegalArgumentException("heartbeats must come at least every 10 ms and at least one may be missed; "
          + "got every " + heartbeatInterval + ", " + missedHeartbeats + " missed");
    }
    if (listenPort < 0 || listenPort > 65535) {
      throw new IllegalArgumentException("port must be in 0-65535, was " + listenPort);
    }
    if (enrolPort < 0 || enrolPort > 65535) {
      throw new IllegalArgumentException("enrolment port must be in 0-65535, was " + enrolPort);
    }
    if (listenHost == null || listenHost.isBlank()) {
      throw new IllegalArgumentException("listen host must not be empty");
    }
  }
}
