package eu.hanse.coordinator.grpc;

import com.google.protobuf.ByteString;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.protocol.v1.EnrollRequest;
import eu.hanse.protocol.v1.EnrolmentGrpc;
import eu.hanse.protocol.v1.IssuedCertificate;
import eu.hanse.security.Signatures;
import io.grpc.stub.StreamObserver;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;

/** Enrolment: a one-time token and a certificate request in, the site's certificate out. */
public final class EnrolmentService extends EnrolmentGrpc.EnrolmentImplBase {
  private final Consortium consortium;

  public EnrolmentService(Consortium consortium) {
    this.consortium = consortium;
  }

  @Override
  public void enroll(EnrollRequest request, StreamObserver<IssuedCertificate> responseObserver) {
    try {
      X509Certificate certificate = consortium.enroll(request.getToken(), request.getRequest().getCsrDer().toByteArray(),
          request.getRequest().getSigningPublicKey().toByteArray());
      responseObserver.onNext(issued(consortium, certificate));
      responseObserver.onCompleted();
    } catch (RefusedException e) {
      responseObserver.onError(Wire.toStatus(e.reason(), e.getMessage()));
    }
  }

  static IssuedCertificate issued(Consortium consortium, X509Certificate certificate) {
    try {
      return IssuedCertificate.newBuilder()
          .setCertificateDer(ByteString.copyFrom(certificate.getEncoded()))
          .setCaCertificateDer(ByteString.copyFrom(consortium.caCertificate().getEncoded()))
          .setCheckpointVerifyingKey(ByteString.copyFrom(Signatures.rawPublicKey(consortium.checkpointVerifyingKey())))
          .build();
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }
}
