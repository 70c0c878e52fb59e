package eu.hanse.coordinator.grpc;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.events.SiteTraffic;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.round.AgentLink;
import eu.hanse.coordinator.round.Jobs;
import eu.hanse.coordinator.round.SiteSessions;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.UpdateSpool;
import eu.hanse.protocol.v1.AttendRequest;
import eu.hanse.protocol.v1.CheckpointChunk;
import eu.hanse.protocol.v1.EvaluationReceipt;
import eu.hanse.protocol.v1.EvaluationReport;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.FetchCheckpointRequest;
import eu.hanse.protocol.v1.Instruction;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.protocol.v1.UploadReceipt;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.PeerIdentityInterceptor;
import eu.hanse.security.SiteId;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code Federation} service: the transport edge. Every call first reads the caller's site from
 * its client certificate (put in the call's context by {@link PeerIdentityInterceptor}); nothing a
 * message says about who sent it is trusted. Domain refusals become gRPC statuses here and nowhere else.
 */
public final class FederationService extends FederationGrpc.FederationImplBase {
  private final SiteSessions sessions;
  private final Jobs jobs;
  private final CheckpointStore checkpoints;
  private final UpdateSpool spool;
  private final Consortium consortium;
  private final UploadAssembly.Registry assemblies = new UploadAssembly.Registry();
  private final SiteTraffic traffic;

  private final java.time.Duration heartbeatInterval;

  public FederationService(SiteSessions sessions, Jobs jobs, CheckpointStore checkpoints, UpdateSpool spool,
      Consortium consortium, java.time.Duration heartbeatInterval, SiteTraffic traffic) {
    this.heartbeatInterval = heartbeatInterval;
    this.traffic = traffic;
    this.consortium = consortium;
    this.sessions = sessions;
    this.jobs = jobs;
    this.checkpoints = checkpoints;
    this.spool = spool;
  }

  @Override
  public void attend(AttendRequest request, StreamObserver<Instruction> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    ServerCallStreamObserver<Instruction> stream = (ServerCallStreamObserver<Instruction>) responseObserver;
    String device = request.getDevice().isBlank() ? "unknown device" : request.getDevice();
    GrpcAgentLink link = new GrpcAgentLink(site.get(), PeerCertificateInterceptor.current(), device, Math.max(0, request.getTrainSamples()), stream);
    stream.setOnCancelHandler(() -> sessions.disconnected(link));
    link.sendWelcome(heartbeatInterval);
    sessions.connected(link);
    // A revocation between the check above and the registration found no link to cut: cut it now.
    if (consortium.isRevoked(link.certificate())) {
      sessions.disconnected(link);
      link.refuse(Refusal.REVOKED, "site " + site.get() + "'s certificate is revoked");
    }
  }

  /** A site's free text, at most 200 characters of it. */
  private static String shortened(String text) {
    return text.length() > 200 ? text.substring(0, 200) : text;
  }

  @Override
  public void fetchCheckpoint(FetchCheckpointRequest request, StreamObserver<CheckpointChunk> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    Optional<Path> file = checkpoints.find(request.getSha256());
    if (file.isEmpty()) {
      responseObserver.onError(Wire.toStatus(Refusal.UNKNOWN_CHECKPOINT,
          "no committed checkpoint has id '" + request.getSha256() + "'"));
      return;
    }
    try {
      long size = Files.size(file.get());
      long end = request.getLength() == 0 ? size : request.getOffset() + request.getLength();
      if (request.getOffset() < 0 || request.getLength() < 0 || end > size || end < request.getOffset()) {
        responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "bytes [" + request.getOffset() + ", " + end
            + ") are outside the checkpoint's " + size + " bytes"));
        return;
      }
      CheckpointSender.start((ServerCallStreamObserver<CheckpointChunk>) responseObserver, file.get(),
          request.getOffset(), end, bytes -> traffic.sent(site.get().name(), bytes));
    } catch (IOException e) {
      responseObserver.onError(Wire.toStatus(Refusal.INTERNAL, "cannot read checkpoint: " + e.getMessage()));
    }
  }

  @Override
  public StreamObserver<UpdateMessage> uploadUpdate(StreamObserver<UploadReceipt> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return new DiscardingObserver<>();
    }
    return new UpdateUpload(site.get(), PeerCertificateInterceptor.current(), consortium, jobs, spool, assemblies,
        responseObserver);
  }

  @Override
  public void reportEvaluation(EvaluationReport request, StreamObserver<EvaluationReceipt> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    answer(responseObserver, () -> jobs.require(request.getJobId()).evaluated(site.get(), request.getJobId(),
        request.getCheckpointSha256(), request.getLoss(), request.getSamples()), EvaluationReceipt.getDefaultInstance());
  }

  /** Runs {@code action} for a call and answers {@code reply}, or the refusal it threw. */
  private static <T> void answer(StreamObserver<T> responseObserver, Runnable action, T reply) {
    try {
      action.run();
      responseObserver.onNext(reply);
      responseObserver.onCompleted();
    } catch (RefusedException e) {
      responseObserver.onError(Wire.toStatus(e.reason(), e.getMessage()));
    }
  }

  @Override
  public void reportTrainingFailure(eu.hanse.protocol.v1.TrainingFailure request,
      StreamObserver<eu.hanse.protocol.v1.TrainingFailureReceipt> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    if (request.getReason().isBlank() || request.getReason().length() > 64
        || !request.getReason().matches("[A-Z][A-Z0-9_]*")) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "a training failure's reason is a word in capitals "
          + "(e.g. EXITED, TIMED_OUT), at most 64 characters; got '" + shortened(request.getReason()) + "'"));
      return;
    }
    if (request.getRunId().length() > 64 || !request.getRunId().matches("[\\x21-\\x7e]*")) {
      responseObserver.onError(Wire.toStatus(Refusal.MALFORMED, "a training failure's run id is at most 64 printable "
          + "characters without spaces; got '" + shortened(request.getRunId()) + "'"));
      return;
    }
    String message = request.getMessage().length() > 2000 ? request.getMessage().substring(0, 2000)
        : request.getMessage();
    answer(responseObserver, () -> jobs.require(request.getJobId()).intake().trainingFailed(site.get(), request.getRound(),
        request.getReason(), message, request.getRunId(), request.getDeviceSeconds()),
        eu.hanse.protocol.v1.TrainingFailureReceipt.getDefaultInstance());
  }

  @Override
  public void heartbeat(eu.hanse.protocol.v1.HeartbeatRequest request,
      StreamObserver<eu.hanse.protocol.v1.HeartbeatReply> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    Optional<AgentLink> link = sessions.find(site.get());
    if (link.isEmpty()) {
      responseObserver.onError(Wire.toStatus(Refusal.NOT_OPEN_ROUND, "site " + site.get()
          + " has no open control stream; call Attend first"));
      return;
    }
    link.get().heard(shortened(request.getActivity()), shortened(request.getPhase()), request.getProgress());
    String stop = request.getJobId().isEmpty() ? "" : jobs.find(request.getJobId())
        .map(job -> job.unwantedWork(request.getRound()).orElse(""))
        .orElse("there is no job '" + shortened(request.getJobId()) + "'");
    responseObserver.onNext(eu.hanse.protocol.v1.HeartbeatReply.newBuilder().setStopWork(stop).build());
    responseObserver.onCompleted();
  }

  @Override
  public void resumeUpload(eu.hanse.protocol.v1.ResumeUploadRequest request,
      StreamObserver<eu.hanse.protocol.v1.ResumeUploadReply> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    try {
      long held = jobs.require(request.getJobId()).intake().chunksHeld(site.get(), request.getRound(),
          request.getNonce().toByteArray(), spool);
      responseObserver.onNext(eu.hanse.protocol.v1.ResumeUploadReply.newBuilder().setChunksHeld(held).build());
      responseObserver.onCompleted();
    } catch (RefusedException e) {
      responseObserver.onError(Wire.toStatus(e.reason(), e.getMessage()));
    }
  }

  @Override
  public void renew(eu.hanse.protocol.v1.CertificateRequest request,
      StreamObserver<eu.hanse.protocol.v1.IssuedCertificate> responseObserver) {
    Optional<SiteId> site = callingSite(responseObserver);
    if (site.isEmpty()) {
      return;
    }
    try {
      java.security.cert.X509Certificate renewed = consortium.renew(site.get(), PeerCertificateInterceptor.current(),
          request.getCsrDer().toByteArray(),
          request.getSigningPublicKey().toByteArray());
      responseObserver.onNext(EnrolmentService.issued(consortium, renewed));
      responseObserver.onCompleted();
    } catch (RefusedException e) {
      responseObserver.onError(Wire.toStatus(e.reason(), e.getMessage()));
    }
  }

  /**
   * The calling site, or empty after refusing the call: the certificate names no site, or it was
   * revoked after the connection was made.
   */
  private Optional<SiteId> callingSite(StreamObserver<?> responseObserver) {
    NodeIdentity peer = PeerIdentityInterceptor.current();
    if (peer.role() != NodeIdentity.Role.SITE) {
      consortium.audit("call.refused", java.util.Map.of("caller", peer.uri(), "reason", Refusal.UNKNOWN_SITE.name()));
      responseObserver.onError(Wire.toStatus(Refusal.UNKNOWN_SITE,
          "certificate of " + peer.uri() + " names no site; only sites may call this service"));
      return Optional.empty();
    }
    if (consortium.refusesRevokedCaller(peer, PeerCertificateInterceptor.current())) {
      responseObserver.onError(Wire.toStatus(Refusal.REVOKED, "site " + peer.name() + "'s certificate is revoked"));
      return Optional.empty();
    }
    // Each call's callbacks run on threads of their own: what they log names the site.
    org.slf4j.MDC.put("site", peer.name());
    return Optional.of(peer.siteId());
  }

  /** Swallows the messages of a call that was already refused. */
  private static final class DiscardingObserver<T> implements StreamObserver<T> {
    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
