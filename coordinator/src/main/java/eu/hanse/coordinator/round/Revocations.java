package eu.hanse.coordinator.round;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.security.SiteId;
import java.math.BigInteger;
import java.util.List;

/**
 * Shuts revoked sites out of a running federation: new handshakes fail (the consortium's CRL), the
 * site's control stream is closed, and its update in any job's open round is discarded if the round
 * has not committed.
 */
public final class Revocations {
  private final Consortium consortium;
  private final SiteSessions sessions;
  private final Jobs jobs;

  public Revocations(Consortium consortium, SiteSessions sessions, Jobs jobs) {
    this.consortium = consortium;
    this.sessions = sessions;
    this.jobs = jobs;
  }

  /** Revokes every certificate of the site now and cuts it off; returns the serials revoked. */
  public List<BigInteger> revoke(SiteId site, String reason, String by) {
    List<BigInteger> serials = consortium.revoke(site, reason, by);
    cutOff(site);
    return serials;
  }

  /** Ends a revoked site's participation now: closes its stream and drops its unaggregated update. */
  public void cutOff(SiteId site) {
    sessions.find(site).ifPresent(link -> {
      sessions.disconnected(link);
      link.refuse(Refusal.REVOKED, "site " + site + "'s certificate was revoked");
    });
    jobs.all().forEach(job -> job.intake().revoked(site));
  }

  /**
   * The consortium's revocation list changed on disk (another process revoked a site offline):
   * reads it again and cuts off every site it names that is online or in an open round.
   */
  public void reload() {
    consortium.reloadRevocations();
    for (AgentLink link : sessions.online()) {
      if (consortium.isRevoked(link.certificate())) {
        cutOff(link.site());
      }
    }
    // A revoked site that already went away may still have an update in the open round.
    for (JobRun job : jobs.all()) {
      for (SiteId site : job.intake().openRoundParticipants()) {
        if (consortium.isRevoked(site)) {
          job.intake().revoked(site);
        }
      }
    }
  }
}
