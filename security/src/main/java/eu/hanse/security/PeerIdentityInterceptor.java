package eu.hanse.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates every call by the Hanse identity in the caller's TLS client certificate.
 *
 * <p>The TLS layer ({@link TlsContexts#forServer}) has already checked that the certificate chains
 * to the consortium CA; this interceptor maps the leaf certificate to a {@link NodeIdentity} and
 * makes it available to the handler as {@link #PEER} / {@link #current()}. Calls without a TLS
 * session, without a client certificate, or whose certificate carries no Hanse identity are closed
 * with {@link Status#UNAUTHENTICATED} before the handler sees them.
 *
 * <p>This authenticates only; deciding what a given identity may do is the services' job.
 */
public final class PeerIdentityInterceptor implements ServerInterceptor {
  /** The authenticated identity of the node that made the current call. */
  public static final Context.Key<NodeIdentity> PEER = Context.key("hanse-peer-identity");

  private static final Logger log = LoggerFactory.getLogger(PeerIdentityInterceptor.class);

  /** Creates the interceptor; it holds no state, so one instance may serve every service. */
  public PeerIdentityInterceptor() {}

  /**
   * The identity of the node that made the call being handled on this thread.
   *
   * @throws IllegalStateException outside a call that passed through this interceptor
   */
  public static NodeIdentity current() {
    NodeIdentity identity = PEER.get();
    if (identity == null) {
      throw new IllegalStateException(
          "No peer identity in the current gRPC context: current() works only while handling a"
              + " call on a service wrapped with PeerIdentityInterceptor (and on the thread or"
              + " Context of that call)");
    }
    return identity;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return refuse(call, "Connection is not TLS: Hanse accepts only mutual-TLS connections");
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return refuse(call, "No client certificate: present the node certificate issued by the"
          + " consortium CA");
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return refuse(call, "Client certificate is not an X.509 certificate");
    }
    Optional<NodeIdentity> identity = NodeIdentity.fromCertificate(leaf);
    if (identity.isEmpty()) {
      return refuse(call, "Client certificate '" + leaf.getSubjectX500Principal().getName()
          + "' carries no Hanse identity (exactly one urn:hanse:<role>:<name> URI SAN, role site,"
          + " coordinator, operator or lead); issue it with `hanse ca issue-site`");
    }
    Context context = Context.current().withValue(PEER, identity.get());
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static <ReqT> ServerCall.Listener<ReqT> refuse(
      ServerCall<ReqT, ?> call, String description) {
    log.warn("Refused {} from {}: {}", call.getMethodDescriptor().getFullMethodName(),
        call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), description);
    call.close(Status.UNAUTHENTICATED.withDescription(description), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
