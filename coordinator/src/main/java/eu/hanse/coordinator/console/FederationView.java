package eu.hanse.coordinator.console;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.events.LiveEvents;
import eu.hanse.coordinator.events.SiteTraffic;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.round.JobRun;
import eu.hanse.coordinator.round.Jobs;
import eu.hanse.coordinator.round.Revocations;
import eu.hanse.coordinator.round.SiteSessions;
import eu.hanse.security.SiteId;
import java.math.BigInteger;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the console shows of the federation and acts on: the jobs, the sites, the live events and
 * the metrics, and revocation. Built by the coordinator from its parts; thread-safe as they are.
 */
public final class FederationView {
  private final Jobs jobs;
  private final Revocations revocations;
  private final SiteSessions sessions;
  private final Consortium consortium;
  private final LiveEvents liveEvents;
  private final SiteBoard siteBoard;
  private final FederationMetrics metrics;
  private final SiteTraffic traffic;

  public FederationView(Jobs jobs, Revocations revocations, SiteSessions sessions, Consortium consortium,
      LiveEvents liveEvents, SiteBoard siteBoard, FederationMetrics metrics, SiteTraffic traffic) {
    this.jobs = jobs;
    this.revocations = revocations;
    this.sessions = sessions;
    this.consortium = consortium;
    this.liveEvents = liveEvents;
    this.siteBoard = siteBoard;
    this.metrics = metrics;
    this.traffic = traffic;
  }

  /** The jobs' status, in the order they were submitted. */
  List<JobStatus> jobs() {
    return jobs.statuses();
  }

  Optional<JobStatus> status(String job) {
    return jobs.status(job);
  }

  Optional<JobRun> job(String id) {
    return jobs.find(id);
  }

  List<BigInteger> revoke(SiteId site, String reason, String by) {
    return revocations.revoke(site, reason, by);
  }

  /** The federation's events, for watchers that come and go. */
  LiveEvents liveEvents() {
    return liveEvents;
  }

  /** Every site the coordinator knows of, with its state now. */
  List<SiteBoard.Row> siteRows() {
    return siteRows(jobs());
  }

  /** Every site the coordinator knows of, including those the jobs of {@code statuses} name. */
  List<SiteBoard.Row> siteRows(List<JobStatus> statuses) {
    Set<String> jobSites = new TreeSet<>();
    statuses.forEach(job -> jobSites.addAll(job.sites()));
    return siteBoard.rows(sessions.online(), jobSites, site -> consortium.isRevoked(new SiteId(site)));
  }

  /** The metrics in Prometheus' text format. */
  String metricsText() {
    List<FederationMetrics.JobView> views = jobs.all().stream()
        .map(job -> new FederationMetrics.JobView(job.status(), job.roundDeadline())).toList();
    return metrics.scrape(views, siteRows(views.stream().map(FederationMetrics.JobView::status).toList()),
        traffic.sentBySite());
  }
}
