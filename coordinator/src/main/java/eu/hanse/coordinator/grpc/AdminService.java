package eu.hanse.coordinator.grpc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.config.ConfigFileException;
import eu.hanse.coordinator.console.ConsoleViews;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.jobfile.JobDefinition;
import eu.hanse.coordinator.round.JobRun;
import eu.hanse.coordinator.round.Jobs;
import eu.hanse.coordinator.round.Revocations;
import eu.hanse.protocol.v1.AdminGrpc;
import eu.hanse.protocol.v1.ControlJobRequest;
import eu.hanse.protocol.v1.JobStatusReply;
import eu.hanse.protocol.v1.JobStatusRequest;
import eu.hanse.protocol.v1.ListJobsReply;
import eu.hanse.protocol.v1.ListJobsRequest;
import eu.hanse.protocol.v1.RevokeSiteReply;
import eu.hanse.protocol.v1.RevokeSiteRequest;
import eu.hanse.protocol.v1.SubmitJobRequest;
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
public final class AdminService extends AdminGrpc.AdminImplBase {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Consortium consortium;
  private final Jobs jobs;
  private final Revocations revocations;

  public AdminService(Consortium consortium, Jobs jobs, Revocations revocations) {
    this.consortium = consortium;
    this.jobs = jobs;
    this.revocations = revocations;
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
      List<Map<String, Object>> summaries = jobs.statuses().stream().map(ConsoleViews::jobSummary).toList();
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
      JobDefinition definition = jobs.jobFiles().parse(name, request.getJobFile().toByteArray());
      JobStatus status = jobs.submit(definition, PeerIdentityInterceptor.current().uri());
      reply(responseObserver, json(status));
    } catch (ConfigFileException | IllegalArgumentException e) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, e.getMessage()));
    }
  }

  /** The job an admin call names, or the only one when it names none; empty after refusing the call. */
  private Optional<JobRun> job(String id, StreamObserver<?> responseObserver) {
    List<JobRun> all = jobs.all();
    if (id.isEmpty() && all.size() == 1) {
      return Optional.of(all.get(0));
    }
    if (id.isEmpty()) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "this coordinator runs " + all.size()
          + " jobs; name one: " + all.stream().map(run -> run.id().value()).toList()));
      return Optional.empty();
    }
    Optional<JobRun> job = jobs.find(id);
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
      List<BigInteger> serials = revocations.revoke(site, request.getReason(),
          PeerIdentityInterceptor.current().uri());
      responseObserver.onNext(RevokeSiteReply.newBuilder()
          .addAllSerials(serials.stream().map(s -> s.toString(16)).toList()).build());
      responseObserver.onCompleted();
    } catch (IllegalArgumentException e) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, e.getMessage()));
    }
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
