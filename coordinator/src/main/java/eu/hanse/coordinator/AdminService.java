package eu.hanse.coordinator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.protocol.v1.AdminGrpc;
import eu.hanse.protocol.v1.ControlJobRequest;
import eu.hanse.protocol.v1.JobStatusReply;
import eu.hanse.protocol.v1.JobStatusRequest;
import eu.hanse.protocol.v1.RevokeSiteReply;
import eu.hanse.protocol.v1.RevokeSiteRequest;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.NodeIdentity.Role;
import eu.hanse.security.PeerIdentityInterceptor;
import eu.hanse.security.SiteId;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.util.List;
import java.util.Set;

/**
 * The admin interface. Who may do what is decided here from the role in the caller's certificate:
 * operators and leads read status, operators revoke sites, leads control the job; sites may do none
 * of it.
 */
final class AdminService extends AdminGrpc.AdminImplBase {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Consortium consortium;
  private final JobRun job;
  private final SiteSessions sessions;

  AdminService(Consortium consortium, JobRun job, SiteSessions sessions) {
    this.consortium = consortium;
    this.job = job;
    this.sessions = sessions;
  }

  @Override
  public void getJobStatus(JobStatusRequest request, StreamObserver<JobStatusReply> responseObserver) {
    if (allowed(responseObserver, Set.of(Role.OPERATOR, Role.LEAD), "read job status")) {
      reply(responseObserver, statusJson());
    }
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
    job.revoked(site);
  }

  @Override
  public void controlJob(ControlJobRequest request, StreamObserver<JobStatusReply> responseObserver) {
    if (!allowed(responseObserver, Set.of(Role.LEAD), "control jobs")) {
      return;
    }
    String by = PeerIdentityInterceptor.current().uri();
    switch (request.getAction()) {
      case PAUSE -> job.pause(by);
      case RESUME -> job.resume(by);
      case CANCEL -> job.cancel(by);
      default -> {
        responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "action must be PAUSE, RESUME or CANCEL"));
        return;
      }
    }
    reply(responseObserver, statusJson());
  }

  private String statusJson() {
    try {
      return JSON.writeValueAsString(job.status());
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
