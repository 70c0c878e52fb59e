package eu.hanse.coordinator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.protocol.v1.AdminGrpc;
import eu.hanse.protocol.v1.ControlJobRequest;
import eu.hanse.protocol.v1.JobStatusReply;
import eu.hanse.protocol.v1.JobStatusRequest;
import eu.hanse.protocol.v1.ListJobsReply;
import eu.hanse.protocol.v1.ListJobsRequest;
import eu.hanse.protocol.v1.SubmitJobRequest;
import eu.hanse.coordinator.jobfile.JobDefinition;
import eu.hanse.coordinator.jobfile.JobFileException;
import eu.hanse.protocol.v1.RevokeSiteReply;
import eu.hanse.protocol.v1.RevokeSiteRequest;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.NodeIdentity.Role;
import eu.hanse.security.PeerIdentityInterceptor;
import eu.hanse.security.SiteId;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The admin interface. Who may do what is decided here from the role in the caller's certificate:
 * operators, leads and viewers read status, operators revoke sites, leads submit and control jobs;
 * viewers change nothing, and sites may do none of it.
 */
final class AdminService extends AdminGrpc.AdminImplBase {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Consortium consortium;
  private final Coordinator coordinator;
  private final SiteSessions sessions;

  AdminService(Consortium consortium, Coordinator coordinator, SiteSessions sessions) {
    this.consortium = consortium;
    this.coordinator = coordinator;
    this.sessions = sessions;
  }

  @Override
  public void getJobStatus(JobStatusRequest request, StreamObserver<JobStatusReply> responseObserver) {
    if (allowed(responseObserver, Set.of(Role.OPERATOR, Role.LEAD, Role.VIEWER), "read job status")) {
      job(request.getJobId(), responseObserver).ifPresent(job -> reply(responseObserver, json(job.status())));
    }
  }

  @Override
  public void listJobs(ListJobsRequest request, StreamObserver<ListJobsReply> responseObserver) {
    if (allowed(responseObserver, Set.of(Role.OPERATOR, Role.LEAD, Role.VIEWER), "list jobs")) {
      List<Map<String, Object>> summaries = coordinator.jobs().stream().map(ConsoleViews::jobSummary).toList();
      responseObserver.onNext(ListJobsReply.newBuilder().setJson(json(summaries)).build());
      responseObserver.onCompleted();
    }
  }

  @Override
  public void submitJob(SubmitJobRequest request, StreamObserver<JobStatusReply> responseObserver) {
    if (!allowed(responseObserver, Set.of(Role.LEAD), "submit jobs")) {
      return;
    }
    String name = request.getFileName().isBlank() ? "job file" : request.getFileName();
    try {
      JobDefinition definition = coordinator.jobFiles().parse(name, request.getJobFile().toByteArray());
      JobStatus status = coordinator.submit(definition, PeerIdentityInterceptor.current().uri());
      reply(responseObserver, json(status));
    } catch (JobFileException | IllegalArgumentException e) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, e.getMessage()));
    }
  }

  /** The job an admin call names, or the only one when it names none; empty after refusing the call. */
  private Optional<JobRun> job(String id, StreamObserver<?> responseObserver) {
    List<JobRun> all = coordinator.jobRuns().all();
    if (id.isEmpty() && all.size() == 1) {
      return Optional.of(all.get(0));
    }
    if (id.isEmpty()) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "this coordinator runs " + all.size()
          + " jobs; name one: " + all.stream().map(run -> run.id().value()).toList()));
      return Optional.empty();
    }
    Optional<JobRun> job = coordinator.jobRuns().find(id);
    if (job.isEmpty()) {
      responseObserver.onError(Wire.toStatus(Refusal.UNKNOWN_JOB, "no job '" + id + "' here; jobs: "
          + all.stream().map(run -> run.id().value()).toList()));
    }
    return job;
  }

  @Override
  public void revokeSite(RevokeSiteRequest request, StreamObserver<RevokeSiteReply> responseObserver) {
    if (!allowed(responseObserver, Set.of(Role.OPERATOR), "revoke sites")) {
      return;
    }
    try {
      SiteId site = new SiteId(request.getSite());
      List<BigInteger> serials = consortium.revoke(site, request.getReason(), PeerIdentityInterceptor.current().uri());
      cutOff(site);
      responseObserver.onNext(RevokeSiteReply.newBuilder()
          .addAllSerials(serials.stream().map(s -> s.toString(16)).toList()).build());
      responseObserver.onCompleted();
    } catch (IllegalArgumentException e) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, e.getMessage()));
    }
  }

  /** Ends a revoked site's participation now: closes its stream and drops its unaggregated update. */
  void cutOff(SiteId site) {
    sessions.find(site).ifPresent(link -> {
      sessions.disconnected(link);
      link.refuse(Refusal.REVOKED, "site " + site + "'s certificate was revoked");
    });
    coordinator.jobRuns().all().forEach(job -> job.intake().revoked(site));
  }

  @Override
  public void controlJob(ControlJobRequest request, StreamObserver<JobStatusReply> responseObserver) {
    if (!allowed(responseObserver, Set.of(Role.LEAD), "control jobs")) {
      return;
    }
    String by = PeerIdentityInterceptor.current().uri();
    Optional<JobRun> found = job(request.getJobId(), responseObserver);
    if (found.isEmpty()) {
      return;
    }
    JobRun job = found.get();
    switch (request.getAction()) {
      case PAUSE -> job.pause(by);
      case RESUME -> job.resume(by);
      case CANCEL -> job.cancel(by);
      default -> {
        responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "action must be PAUSE, RESUME or CANCEL"));
        return;
      }
    }
    reply(responseObserver, json(job.status()));
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void reply(StreamObserver<JobStatusReply> responseObserver, String json) {
    responseObserver.onNext(JobStatusReply.newBuilder().setJson(json).build());
    responseObserver.onCompleted();
  }

  private boolean allowed(StreamObserver<?> responseObserver, Set<Role> roles, String what) {
    NodeIdentity caller = PeerIdentityInterceptor.current();
    if (consortium.refusesRevokedCaller(caller, PeerCertificateInterceptor.current())) {
      responseObserver.onError(Wire.toStatus(Refusal.REVOKED, caller.uri() + "'s certificate is revoked"));
      return false;
    }
    if (roles.contains(caller.role())) {
      return true;
    }
    consortium.audit("admin.forbidden", java.util.Map.of("caller", caller.uri(), "action", what));
    responseObserver.onError(Wire.toStatus(Refusal.FORBIDDEN, caller.uri() + " may not " + what
        + "; that needs the role " + roles.stream().map(r -> r.name().toLowerCase(java.util.Locale.ROOT)).sorted().toList()));
    return false;
  }
}
