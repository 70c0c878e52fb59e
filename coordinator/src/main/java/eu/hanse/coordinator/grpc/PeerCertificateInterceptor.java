package eu.hanse.coordinator.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the caller's leaf certificate into the call's context, for the checks that need more than
 * the identity: revocation at acceptance, and the site's signing key. Runs after the identity
 * interceptor, which has already refused callers without a certificate.
 */
public final class PeerCertificateInterceptor implements ServerInterceptor {
  static final Context.Key<X509Certificate> CERTIFICATE = Context.key("hanse-peer-certificate");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    X509Certificate certificate = null;
    try {
      if (session != null && session.getPeerCertificates().length > 0
          && session.getPeerCertificates()[0] instanceof X509Certificate leaf) {
        certificate = leaf;
      }
    } catch (SSLPeerUnverifiedException ignored) {
      // The identity interceptor refuses such calls before they get here.
    }
    return Contexts.interceptCall(Context.current().withValue(CERTIFICATE, certificate), call, headers, next);
  }

  static X509Certificate current() {
    X509Certificate certificate = CERTIFICATE.get();
    if (certificate == null) {
      throw new IllegalStateException("no peer certificate in this call");
    }
    return certificate;
  }
}
