package eu.hanse.agent;

import com.google.protobuf.ByteString;
import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.CertificateRequest;
import eu.hanse.protocol.v1.EnrolmentGrpc;
import eu.hanse.protocol.v1.EnrollRequest;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.IssuedCertificate;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.EnrolmentTokens;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.Signatures;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/**
 * Joins a site to the consortium, and renews its certificate later. The keys are generated here,
 * in the site's folder; only a certificate request and the public signing key are sent.
 */
public final class Enrolment {
  private Enrolment() {}

  /**
   * Enrols with an invitation token at the coordinator's enrolment address; returns the site's name.
   * Refuses to overwrite an existing enrolment.
   */
  public static SiteId enroll(String coordinator, String token, Path dataDir) {
    EnrolmentTokens.Token parsed = EnrolmentTokens.parse(token);
    SiteCredentials credentials = new SiteCredentials(dataDir.resolve("tls"));
    if (Files.exists(credentials.tls().certificate())) {
      throw new IllegalStateException(dataDir + " already holds a certificate; use 'hanse agent renew' or another --data-dir");
    }
    Path staging = stagingDir(dataDir);
    eu.hanse.security.CertificateRequest request = eu.hanse.security.CertificateRequest.generate(parsed.site().name());
    SigningKey signing = SigningKey.generate();
    ManagedChannel channel = NettyChannelBuilder.forTarget(coordinator)
        .sslContext(EnrolmentTls.forClient(parsed.caFingerprint())).build();
    try {
      IssuedCertificate issued = EnrolmentGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.MINUTES)
          .enroll(EnrollRequest.newBuilder().setToken(token).setRequest(requestOf(request, signing)).build());
      store(issued, request, signing, staging, NodeIdentity.site(parsed.site()));
      install(staging, credentials.tlsDir());
      return parsed.site();
    } catch (StatusRuntimeException e) {
      throw new IllegalStateException("enrolment refused: " + HanseErrors.detailOf(e).getMessage(), e);
    } finally {
      channel.shutdownNow();
      deleteQuietly(staging);
    }
  }

  /**
   * Asks the coordinator, over the site's current mutual-TLS link, for a certificate on fresh keys,
   * then swaps the new files in. A running agent picks them up when it next connects.
   */
  public static X509Certificate renew(String coordinator, Path dataDir) {
    SiteCredentials credentials = new SiteCredentials(dataDir.resolve("tls")).requireComplete();
    X509Certificate current = EnrolmentTls.readCertificate(credentials.tls().certificate());
    NodeIdentity identity = NodeIdentity.fromCertificate(current).orElseThrow();
    Path staging = stagingDir(dataDir);
    eu.hanse.security.CertificateRequest request = eu.hanse.security.CertificateRequest.generate(identity.name());
    SigningKey signing = SigningKey.generate();
    ManagedChannel channel = NettyChannelBuilder.forTarget(coordinator)
        .sslContext(TlsContexts.forClient(credentials.tls())).build();
    try {
      IssuedCertificate issued = FederationGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.MINUTES)
          .renew(requestOf(request, signing));
      X509Certificate certificate = store(issued, request, signing, staging, identity);
      install(staging, credentials.tlsDir());
      return certificate;
    } catch (StatusRuntimeException e) {
      throw new IllegalStateException("renewal refused: " + HanseErrors.detailOf(e).getMessage(), e);
    } finally {
      channel.shutdownNow();
      deleteQuietly(staging);
    }
  }

  private static CertificateRequest requestOf(eu.hanse.security.CertificateRequest request, SigningKey signing) {
    return CertificateRequest.newBuilder()
        .setCsrDer(ByteString.copyFrom(request.der()))
        .setSigningPublicKey(ByteString.copyFrom(Signatures.rawPublicKey(signing.publicKey())))
        .build();
  }

  /** Checks what came back and writes the complete set of files to {@code staging}. */
  private static X509Certificate store(IssuedCertificate issued, eu.hanse.security.CertificateRequest request,
      SigningKey signing, Path staging, NodeIdentity expected) {
    X509Certificate certificate = certificate(issued.getCertificateDer().toByteArray());
    X509Certificate ca = certificate(issued.getCaCertificateDer().toByteArray());
    if (!NodeIdentity.fromCertificate(certificate).equals(java.util.Optional.of(expected))) {
      throw new IllegalStateException("the coordinator issued a certificate for another identity: "
          + NodeIdentity.fromCertificate(certificate));
    }
    try {
      certificate.verify(ca.getPublicKey());
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("the issued certificate is not signed by the consortium CA: " + e.getMessage(), e);
    }
    if (!certificate.getPublicKey().equals(request.publicKey())) {
      throw new IllegalStateException("the issued certificate is not for the key this site generated");
    }
    request.savePrivateKey(staging.resolve("node.key"));
    eu.hanse.security.TlsFiles.writeIssued(staging, certificate, ca);
    SiteCredentials files = new SiteCredentials(staging);
    signing.save(files.signingKeyFile(), files.signingPublicKeyFile());
    SiteCredentials.writePublicKey(files.checkpointVerifyingKeyFile(),
        Signatures.publicKeyFromRaw(issued.getCheckpointVerifyingKey().toByteArray()));
    return certificate;
  }

  /** Moves every staged file over the site's tls folder, the certificate last. */
  private static void install(Path staging, Path tlsDir) {
    try {
      Files.createDirectories(tlsDir);
      for (String name : new String[] {"node.key", "signing.key", "signing.pub", "checkpoint-signing.pub", "ca.crt", "node.crt"}) {
        Files.move(staging.resolve(name), tlsDir.resolve(name), StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot install credentials into " + tlsDir + ": " + e.getMessage(), e);
    }
  }

  private static Path stagingDir(Path dataDir) {
    try {
      Files.createDirectories(dataDir);
      Path staging = Files.createTempDirectory(dataDir, ".enrol-");
      Files.setPosixFilePermissions(staging, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
      return staging;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dataDir + ": " + e.getMessage(), e);
    }
  }

  private static X509Certificate certificate(byte[] der) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IllegalStateException("the coordinator sent an unreadable certificate: " + e.getMessage(), e);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // A leftover staging folder holds nothing the site still needs.
    }
  }
}
