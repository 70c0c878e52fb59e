package eu.hanse.coordinator.consortium;

import eu.hanse.coordinator.events.FederationEvent;
import eu.hanse.coordinator.events.FederationEvents;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.security.AuditLog;
import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.CheckpointClaims;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.EnrolmentTokenException;
import eu.hanse.security.EnrolmentTokens;
import eu.hanse.security.IssuedCertificates;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.RevocationList;
import eu.hanse.security.Signatures;
import eu.hanse.security.SiteId;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The consortium's trust state as the coordinator holds it: the CA that issues certificates at
 * enrolment and renewal, the ledger of what it issued, the enrolment tokens, the certificate
 * revocation list, the key that signs checkpoints, and the audit trail every security event goes to.
 *
 * <p>Lives under {@code <data-dir>/ca}, {@code <data-dir>/enrolment} and {@code <data-dir>/audit}.
 * Thread-safe; revocations are visible to the next TLS handshake as soon as {@link #revoke} returns.
 */
public final class Consortium implements AutoCloseable {
  /** How long certificates issued at enrolment and renewal are valid. */
  public static final Duration SITE_CERTIFICATE_VALIDITY = Duration.ofDays(90);

  private final CertificateAuthority ca;
  private final IssuedCertificates issued;
  private final EnrolmentTokens tokens;
  private final AuditLog audit;
  private final Path crlFile;
  private final Clock clock;
  /** Where federation events go besides the audit trail: none until {@link #publishTo}. */
  private final List<FederationEvents> destinations = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile RevocationList revocations;

  private Consortium(CertificateAuthority ca, Path dataDir, Clock clock) {
    this.clock = clock;
    this.ca = ca;
    this.issued = new IssuedCertificates(dataDir.resolve("ca"));
    this.tokens = new EnrolmentTokens(dataDir.resolve("enrolment").resolve("tokens.json"), clock);
    this.audit = AuditLog.openSigned(auditFile(dataDir), clock, ca.checkpointSigningKey());
    this.crlFile = crlFile(dataDir);
    this.revocations = RevocationList.load(crlFile, ca.certificate());
  }

  /** Opens the consortium whose CA {@code hanse ca init} made in {@code <data-dir>/ca}. */
  public static Consortium open(Path dataDir, Clock clock) {
    return new Consortium(CertificateAuthority.load(dataDir.resolve("ca"), clock), dataDir, clock);
  }

  public static Path auditFile(Path dataDir) {
    return dataDir.resolve("audit").resolve("audit.log");
  }

  public static Path crlFile(Path dataDir) {
    return dataDir.resolve("ca").resolve("revoked.crl");
  }

  public X509Certificate caCertificate() {
    return ca.certificate();
  }

  public PublicKey checkpointVerifyingKey() {
    return ca.checkpointVerifyingKey();
  }

  /** An invitation for a site: a one-time token valid for {@code validity}. */
  public String invite(SiteId site, Duration validity, String invitedBy) {
    String token = tokens.invite(site, validity, EnrolmentTls.fingerprint(ca.certificate()));
    audit("site.invited", Map.of("site", site.name(), "validFor", validity.toString(), "by", invitedBy));
    return token;
  }

  /** Redeems a token and issues the site's first certificate for the key in its request. */
  public X509Certificate enroll(String token, byte[] csrDer, byte[] signingKeyRaw) {
    SiteId site;
    try {
      site = tokens.redeem(token, EnrolmentTokens.parse(token).site());
    } catch (EnrolmentTokenException e) {
      audit("site.enrolment-refused", Map.of("reason", e.reason().name(), "message", e.getMessage()));
      throw new RefusedException(Refusal.BAD_TOKEN, e.getMessage());
    }
    X509Certificate certificate = issue(NodeIdentity.site(site), csrDer, signingKeyRaw);
    audit("site.enrolled", Map.of("site", site.name(), "serial", certificate.getSerialNumber().toString(16),
        "notAfter", certificate.getNotAfter().toInstant().toString()));
    return certificate;
  }

  /** Issues a site a certificate for new keys; its older certificates stay valid until they expire. */
  public X509Certificate renew(SiteId site, X509Certificate current, byte[] csrDer, byte[] signingKeyRaw) {
    X509Certificate certificate;
    // One lock with revoke(): a renewal either sees the revocation or is revoked with the rest.
    synchronized (this) {
      if (isRevoked(current)) {
        throw new RefusedException(Refusal.REVOKED, "site " + site + "'s certificate is revoked; it cannot renew");
      }
      certificate = issue(NodeIdentity.site(site), csrDer, signingKeyRaw);
    }
    audit("site.renewed", Map.of("site", site.name(), "serial", certificate.getSerialNumber().toString(16),
        "notAfter", certificate.getNotAfter().toInstant().toString()));
    return certificate;
  }

  private synchronized X509Certificate issue(NodeIdentity identity, byte[] csrDer, byte[] signingKeyRaw) {
    PublicKey signingKey;
    try {
      signingKey = Signatures.publicKeyFromRaw(signingKeyRaw);
    } catch (IllegalArgumentException e) {
      throw new RefusedException(Refusal.MALFORMED, "signing public key: " + e.getMessage());
    }
    X509Certificate certificate;
    try {
      certificate = ca.issueFromRequest(csrDer, identity, signingKey, List.of(), SITE_CERTIFICATE_VALIDITY);
    } catch (IllegalArgumentException e) {
      throw new RefusedException(Refusal.MALFORMED, "certificate request: " + e.getMessage());
    }
    issued.record(certificate);
    return certificate;
  }

  /**
   * Revokes every certificate ever issued to the site and writes the new CRL; from the next
   * handshake on, the site is out. Returns the serials revoked.
   */
  public synchronized List<BigInteger> revoke(SiteId site, String reason, String revokedBy) {
    List<BigInteger> serials = issued.serialsOf(NodeIdentity.site(site));
    if (serials.isEmpty()) {
      throw new IllegalArgumentException("no certificate was ever issued to site " + site + " by this CA");
    }
    Set<BigInteger> all = new TreeSet<>(revocations.serials());
    all.addAll(serials);
    X509CRL crl = ca.issueCrl(all, Duration.ofDays(365));
    RevocationList.write(crlFile, crl);
    revocations = RevocationList.load(crlFile, ca.certificate());
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("site", site.name());
    fields.put("serials", String.join(",", serials.stream().map(s -> s.toString(16)).toList()));
    fields.put("reason", reason);
    fields.put("by", revokedBy);
    audit("site.revoked", fields);
    return serials;
  }

  /** Re-reads the CRL, e.g. after 'hanse site revoke' wrote it while this process was running. */
  public void reloadRevocations() {
    revocations = RevocationList.load(crlFile, ca.certificate());
  }

  public boolean isRevoked(X509Certificate certificate) {
    return revocations.isRevoked(certificate);
  }

  /**
   * Whether a call must be refused because the caller's certificate is revoked (it connected before
   * the revocation); audits the refusal. The transport sends the REVOKED error.
   */
  public boolean refusesRevokedCaller(NodeIdentity caller, X509Certificate certificate) {
    if (!isRevoked(certificate)) {
      return false;
    }
    audit("call.refused", Map.of("caller", caller.uri(), "reason", Refusal.REVOKED.name()));
    return true;
  }

  /** True if the newest certificate this CA issued to the site is revoked: the site is out. */
  public boolean isRevoked(SiteId site) {
    List<BigInteger> serials = issued.serialsOf(NodeIdentity.site(site));
    return !serials.isEmpty() && revocations.isRevoked(serials.get(serials.size() - 1));
  }

  /** The consortium's signature over a checkpoint's claims. */
  public byte[] signCheckpoint(CheckpointClaims claims) {
    return ca.checkpointSigningKey().sign(claims.canonicalBytes());
  }

  /** Records a client certificate the TLS layer refused: from another CA, expired, or revoked. */
  public void auditRefusedHandshake(X509Certificate leaf, String reason) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("certificate", leaf == null ? "none" : leaf.getSubjectX500Principal().getName());
    fields.put("serial", leaf == null ? "" : leaf.getSerialNumber().toString(16));
    fields.put("identity", leaf == null ? "" : NodeIdentity.fromCertificate(leaf).map(NodeIdentity::uri).orElse("none"));
    fields.put("reason", reason == null ? "unknown" : reason);
    audit("tls.refused", fields);
  }

  /**
   * Appends one security event to the audit trail, forced to disk before this returns, and
   * announces it as a federation event.
   */
  public void audit(String type, Map<String, String> fields) {
    audit.append(type, fields);
    Map<String, Object> typed = new java.util.LinkedHashMap<>();
    fields.forEach((key, value) -> typed.put(key, NUMBERS.contains(key) && value.matches("-?[0-9]{1,18}")
        ? (Object) Long.parseLong(value) : value));
    announce(type, typed);
  }

  /** Audit fields that are whole numbers, and go out as numbers in federation events. */
  private static final java.util.Set<String> NUMBERS = java.util.Set.of("round", "rounds", "bytes", "samples",
      "trainedFor");

  /**
   * Checks the audit trail as {@code hanse audit verify} does: its chain of hashes and its signed
   * head. The answer is kept for up to a minute while the trail's files are unchanged (size,
   * modification and change times), so that dashboards reading it often do not re-read a long
   * trail each time.
   */
  public eu.hanse.security.AuditVerification verifyAudit() {
    String version = auditVersion();
    AuditCheck cached = lastAuditCheck;
    if (cached != null && version != null && cached.version().equals(version)
        && System.nanoTime() - cached.nanos() < java.util.concurrent.TimeUnit.MINUTES.toNanos(1)) {
      return cached.result();
    }
    eu.hanse.security.AuditVerification result = audit.verify(checkpointVerifyingKey());
    lastAuditCheck = version == null ? null : new AuditCheck(version, System.nanoTime(), result);
    return result;
  }

  private record AuditCheck(String version, long nanos, eu.hanse.security.AuditVerification result) {}

  private volatile AuditCheck lastAuditCheck;

  /** The trail's and its head's sizes, modification and change times, or null when they cannot be read. */
  private String auditVersion() {
    try {
      return version(audit.file()) + "|" + version(audit.headFile());
    } catch (java.io.IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return null;
    }
  }

  private static String version(Path file) throws java.io.IOException {
    Map<String, Object> attributes = java.nio.file.Files.readAttributes(file, "unix:size,lastModifiedTime,ctime");
    return attributes.get("size") + ":" + attributes.get("lastModifiedTime") + ":" + attributes.get("ctime");
  }

  /** Tells every destination of the federation's events that something happened; never blocks. */
  public void announce(String type, Map<String, Object> fields) {
    FederationEvent event = new FederationEvent(type, clock.instant(), fields);
    for (FederationEvents destination : destinations) {
      try {
        destination.publish(event);
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(Consortium.class).warn("cannot publish event {}: {}", type, e.toString());
      }
    }
  }

  /** Sends federation events to {@code destination} too, from now on. */
  public void publishTo(FederationEvents destination) {
    destinations.add(destination);
  }

  @Override
  public void close() {
    audit.close();
  }
}
