package eu.hanse.security;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consortium's certificate authority: an EC P-256 key and a self-signed CA certificate kept
 * in one directory ({@code ca.crt}, {@code ca.key}), used to issue node certificates and
 * certificate revocation lists, plus the Ed25519 key that signs checkpoints
 * ({@code checkpoint-signing.key}, {@code checkpoint-signing.pub}).
 *
 * <p>Bouncy Castle builds the certificates; keys, signatures and parsing use the JDK's own
 * providers, so nothing here registers a global security provider.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class CertificateAuthority {
  /** File name of the CA certificate inside the CA directory. */
  public static final String CA_CERTIFICATE = "ca.crt";
  /** File name of the CA private key inside the CA directory. */
  public static final String CA_KEY = "ca.key";
  /** File name of the checkpoint-signing private key (Ed25519, PKCS#8 PEM) in the CA directory. */
  public static final String CHECKPOINT_SIGNING_KEY = "checkpoint-signing.key";
  /** File name of the checkpoint-verifying public key (PEM) in the CA directory, for sites. */
  public static final String CHECKPOINT_VERIFYING_KEY = "checkpoint-signing.pub";

  private static final Logger log = LoggerFactory.getLogger(CertificateAuthority.class);
  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
  private static final int CA_VALIDITY_YEARS = 10;
  /** Tolerates clocks a little behind the issuer's, so a fresh certificate works at once. */
  private static final Duration BACKDATE = Duration.ofMinutes(5);
  private static final int MAX_ORGANIZATION_LENGTH = 64;
  private static final Pattern DNS_NAME = Pattern.compile(
      "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
          + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");

  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final SigningKey checkpointSigningKey;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  private CertificateAuthority(
      X509Certificate certificate, PrivateKey privateKey, SigningKey checkpointSigningKey,
      Clock clock) {
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.checkpointSigningKey = checkpointSigningKey;
    this.clock = clock;
  }

  /**
   * Creates a new CA: a fresh EC P-256 key and a self-signed certificate (subject
   * {@code CN=Hanse CA, O=<consortiumName>}, basicConstraints CA with path length 0, keyUsage
   * keyCertSign and cRLSign, valid for 10 years from five minutes before now).
   *
   * <p>Writes {@code caDir/ca.crt} and {@code caDir/ca.key} (PKCS#8 PEM, rw------- where the file
   * system is POSIX), and a fresh Ed25519 checkpoint-signing key pair as
   * {@code caDir/checkpoint-signing.key} (rw-------) and {@code caDir/checkpoint-signing.pub}.
   * {@code caDir} is created rwx------ if it does not exist.
   *
   * @param caDir directory for the CA files
   * @param consortiumName human-readable consortium name, 1 to 64 characters, put in the subject
   * @param force replace an existing CA in {@code caDir}, checkpoint-signing key included; every
   *     certificate it issued stops being trusted by nodes that get the new {@code ca.crt}, and
   *     checkpoints signed by the old key stop verifying under the new public key
   * @param clock source of "now" for the validity period, also used by {@link #issue}
   * @throws IllegalStateException if {@code caDir/ca.key} exists and {@code force} is false
   * @throws IllegalArgumentException if {@code consortiumName} is blank, too long or contains
   *     control characters
   * @throws java.io.UncheckedIOException if the files cannot be written
   */
  public static CertificateAuthority create(
      Path caDir, String consortiumName, boolean force, Clock clock) {
    Objects.requireNonNull(caDir, "caDir");
    Objects.requireNonNull(clock, "clock");
    requireConsortiumName(consortiumName);
    Path keyFile = caDir.resolve(CA_KEY);
    if (Files.exists(keyFile) && !force) {
      throw new IllegalStateException(
          "A CA already exists: " + keyFile + " is present. Refusing to overwrite it, because"
              + " every certificate it issued would stop being trusted. To replace it anyway, run"
              + " `hanse ca init --force` (force = true).");
    }

    KeyPair keyPair = newEcKeyPair();
    Instant now = clock.instant();
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, consortiumName)
        .addRDN(BCStyle.CN, "Hanse CA")
        .build();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        subject,
        randomSerial(new SecureRandom()),
        Date.from(now.minus(BACKDATE)),
        Date.from(now.atOffset(ZoneOffset.UTC).plusYears(CA_VALIDITY_YEARS).toInstant()),
        subject,
        keyPair.getPublic());
    X509Certificate certificate;
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      // Path length 0: the CA signs node certificates only, never another CA.
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false,
          extensions.createSubjectKeyIdentifier(keyPair.getPublic()));
      certificate = sign(builder, keyPair.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("Could not build the CA certificate: " + e.getMessage(), e);
    }

    SigningKey checkpointKey = SigningKey.generate();

    PemFiles.createPrivateDirectory(caDir);
    // Keys first, certificate last: a crash in between leaves keys without a certificate, which
    // load() reports, rather than a certificate whose key is lost.
    PemFiles.writePrivateKey(keyFile, keyPair.getPrivate());
    checkpointKey.save(
        caDir.resolve(CHECKPOINT_SIGNING_KEY), caDir.resolve(CHECKPOINT_VERIFYING_KEY));
    PemFiles.writeCertificate(caDir.resolve(CA_CERTIFICATE), certificate);
    log.info("Created CA for consortium '{}' in {}", consortiumName, caDir);
    return new CertificateAuthority(certificate, keyPair.getPrivate(), checkpointKey, clock);
  }

  /**
   * Loads the CA from {@code caDir}, using the system clock for issuing.
   *
   * @throws IllegalStateException if {@code ca.crt} or {@code ca.key} is missing, malformed, not a
   *     CA certificate, or the key does not belong to the certificate; or if the
   *     checkpoint-signing key pair is missing (a CA directory from before checkpoint signing),
   *     malformed or mismatched
   */
  public static CertificateAuthority load(Path caDir) {
    return load(caDir, Clock.systemUTC());
  }

  /**
   * Loads the CA from {@code caDir}, issuing with {@code clock}.
   *
   * @throws IllegalStateException if {@code ca.crt} or {@code ca.key} is missing, malformed, not a
   *     CA certificate, or the key does not belong to the certificate; or if the
   *     checkpoint-signing key pair is missing (a CA directory from before checkpoint signing),
   *     malformed or mismatched
   */
  public static CertificateAuthority load(Path caDir, Clock clock) {
    Objects.requireNonNull(caDir, "caDir");
    Objects.requireNonNull(clock, "clock");
    Path certFile = caDir.resolve(CA_CERTIFICATE);
    Path keyFile = caDir.resolve(CA_KEY);
    List<String> missing = new ArrayList<>();
    for (Path file : List.of(certFile, keyFile)) {
      if (!Files.isRegularFile(file)) {
        missing.add(file.toString());
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalStateException(
          "No CA in " + caDir + ": missing " + String.join(" and ", missing)
              + ". Create one with `hanse ca init`, or point to the directory that holds it.");
    }
    X509Certificate certificate;
    PrivateKey key;
    try {
      certificate = PemFiles.readCertificate(certFile);
      key = PemFiles.readEcPrivateKey(keyFile);
    } catch (IllegalStateException e) {
      throw new IllegalStateException(
          "Could not load the CA from " + caDir + ": " + e.getMessage()
              + ". Restore the CA files from a backup, or create a new CA with"
              + " `hanse ca init --force` (certificates issued by the old one stop working).", e);
    }
    if (certificate.getBasicConstraints() < 0) {
      throw new IllegalStateException(
          certFile + " is not a CA certificate (no basicConstraints CA=true); it looks like a node"
              + " certificate. Point to the CA directory created by `hanse ca init`.");
    }
    if (!keyMatches(key, certificate.getPublicKey())) {
      throw new IllegalStateException(
          keyFile + " does not belong to " + certFile + ". The two files come from different CAs;"
              + " restore a matching pair.");
    }
    return new CertificateAuthority(certificate, key, loadCheckpointKey(caDir), clock);
  }

  private static SigningKey loadCheckpointKey(Path caDir) {
    Path keyFile = caDir.resolve(CHECKPOINT_SIGNING_KEY);
    Path publicFile = caDir.resolve(CHECKPOINT_VERIFYING_KEY);
    if (!Files.isRegularFile(keyFile) || !Files.isRegularFile(publicFile)) {
      throw new IllegalStateException(
          "The CA in " + caDir + " has no checkpoint-signing key pair (" + CHECKPOINT_SIGNING_KEY
              + " and " + CHECKPOINT_VERIFYING_KEY + "); it was probably created by a Hanse"
              + " version without checkpoint signing. Create a new CA with `hanse ca init --force`"
              + " and re-issue the node certificates, or restore both files from a backup.");
    }
    SigningKey key;
    PublicKey published;
    try {
      key = SigningKey.load(keyFile);
      published = Signatures.loadPublicKey(publicFile);
    } catch (IllegalStateException e) {
      throw new IllegalStateException(
          "Could not load the checkpoint-signing key from " + caDir + ": " + e.getMessage()
              + ". Restore it from a backup, or create a new CA with `hanse ca init --force`.", e);
    }
    if (!published.equals(key.publicKey())) {
      throw new IllegalStateException(
          publicFile + " is not the public half of " + keyFile + "; sites would reject every"
              + " checkpoint. Restore a matching pair from a backup.");
    }
    return key;
  }

  /** The CA certificate, the trust anchor every node is given as {@code ca.crt}. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** The Ed25519 key that signs {@link CheckpointClaims}; owned by this CA, keep it there. */
  public SigningKey checkpointSigningKey() {
    return checkpointSigningKey;
  }

  /**
   * The public half of {@link #checkpointSigningKey()}, what sites verify checkpoints with (the
   * same key as the {@code checkpoint-signing.pub} file).
   */
  public PublicKey checkpointVerifyingKey() {
    return checkpointSigningKey.publicKey();
  }

  /**
   * Issues a certificate for {@code identity} with a fresh EC P-256 key and writes the node's TLS
   * files into {@code tlsDir}: {@code node.key} (PKCS#8 PEM, rw-------), {@code node.crt} and a
   * copy of the CA certificate as {@code ca.crt}. Existing files are replaced.
   *
   * <p>The certificate has subject {@code CN=<name>}, subject alternative names
   * {@link NodeIdentity#uri()} plus one entry per host (an iPAddress for IPv4/IPv6 literals, a
   * dNSName otherwise), keyUsage digitalSignature, extendedKeyUsage serverAuth and clientAuth (so
   * the same files serve both ends of a connection), a random 128-bit serial, and validity from
   * five minutes before now to {@code now + validity}.
   *
   * @param identity the node the certificate is for
   * @param hosts names and addresses clients use to reach the node; clients verify them, so a
   *     coordinator needs every host or IP that sites dial. May be empty for sites.
   * @param validity how long the certificate is valid; positive, and not past the CA's own expiry
   * @param tlsDir directory for the files, created rwx------ if absent
   * @return {@code TlsFiles.in(tlsDir)}
   * @throws IllegalArgumentException if a host is neither an IP literal nor a valid DNS name, or
   *     the validity is not positive or outlasts the CA
   * @throws java.io.UncheckedIOException if the files cannot be written
   */
  public TlsFiles issue(
      NodeIdentity identity, List<String> hosts, Duration validity, Path tlsDir) {
    return issue(identity, null, hosts, validity, tlsDir);
  }

  /**
   * Like {@link #issue(NodeIdentity, List, Duration, Path)}, and binds {@code signingKeyOrNull}
   * into the certificate ({@link SigningKeyExtension}) when it is not null.
   *
   * @param signingKeyOrNull the node's Ed25519 public signing key, or null for none
   * @throws IllegalArgumentException also if {@code signingKeyOrNull} is not an Ed25519 key
   */
  public TlsFiles issue(
      NodeIdentity identity, PublicKey signingKeyOrNull, List<String> hosts, Duration validity,
      Path tlsDir) {
    Objects.requireNonNull(tlsDir, "tlsDir");
    KeyPair keyPair = newEcKeyPair();
    X509Certificate issued =
        build(identity, keyPair.getPublic(), signingKeyOrNull, hosts, validity);
    TlsFiles files = TlsFiles.in(tlsDir);
    PemFiles.createPrivateDirectory(tlsDir);
    PemFiles.writePrivateKey(files.privateKey(), keyPair.getPrivate());
    PemFiles.writeCertificate(files.certificate(), issued);
    PemFiles.writeCertificate(files.caCertificate(), certificate);
    log.info("Issued certificate {} for {} (hosts {}) into {}",
        issued.getSerialNumber().toString(16), identity.uri(), hosts, tlsDir);
    return files;
  }

  /**
   * Issues a certificate for the key in a PKCS#10 request ({@link CertificateRequest}), so the
   * node's private key never leaves the node. Writes nothing; the caller returns the certificate
   * to the node, which stores it with {@link TlsFiles#writeIssued}.
   *
   * <p>The request's own signature must verify (proof that the requester holds the private key)
   * and its key must be EC P-256, the only key type Hanse uses for TLS. The request's subject and
   * any extensions it asks for are ignored: {@code identity}, chosen by the CA's caller (who has
   * authenticated the requester some other way, e.g. with an enrolment token), decides what the
   * certificate says. Otherwise the certificate is exactly what {@link #issue} makes.
   *
   * @param csrDer the DER-encoded PKCS#10 request ({@link CertificateRequest#der()})
   * @param identity the node the certificate is for
   * @param signingKeyOrNull the node's Ed25519 public signing key to bind into the certificate, or
   *     null for none
   * @param hosts as for {@link #issue}
   * @param validity as for {@link #issue}
   * @return the issued certificate
   * @throws IllegalArgumentException if the request is malformed, its signature does not verify,
   *     its key is not EC P-256, or a host, the validity or the signing key is invalid
   */
  public X509Certificate issueFromRequest(
      byte[] csrDer, NodeIdentity identity, PublicKey signingKeyOrNull, List<String> hosts,
      Duration validity) {
    Objects.requireNonNull(csrDer, "csrDer");
    PublicKey subjectKey = CsrCheck.verifiedEcP256Key(csrDer);
    X509Certificate issued = build(identity, subjectKey, signingKeyOrNull, hosts, validity);
    log.info("Issued certificate {} for {} (hosts {}) from a certificate request",
        issued.getSerialNumber().toString(16), identity.uri(), hosts);
    return issued;
  }

  /**
   * Issues a certificate revocation list naming {@code revokedSerials}, signed with
   * SHA256withECDSA by the CA key: thisUpdate is now from the CA's clock, nextUpdate
   * {@code now + validity}, each entry's revocation date is thisUpdate (the CA keeps no history),
   * and the CRL number is thisUpdate in epoch milliseconds, so later CRLs carry larger numbers
   * without the CA having to store a counter.
   *
   * <p>Writes nothing; persist it with {@link RevocationList#write}.
   *
   * @param revokedSerials serial numbers of revoked certificates issued by this CA (may be empty)
   * @param validity how long until a relying party should expect a newer CRL; positive
   * @throws IllegalArgumentException if the validity is not positive or a serial is not positive
   */
  public X509CRL issueCrl(Collection<BigInteger> revokedSerials, Duration validity) {
    Objects.requireNonNull(revokedSerials, "revokedSerials");
    Objects.requireNonNull(validity, "validity");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("CRL validity must be positive, got " + validity);
    }
    // Sorted and de-duplicated: the same set of serials gives the same entries.
    SortedSet<BigInteger> serials = new TreeSet<>();
    for (BigInteger serial : revokedSerials) {
      if (serial == null || serial.signum() <= 0) {
        throw new IllegalArgumentException(
            "Revoked serial numbers must be positive, got " + serial);
      }
      serials.add(serial);
    }
    Instant now = clock.instant();
    Date thisUpdate = Date.from(now);
    X509v2CRLBuilder builder = new JcaX509v2CRLBuilder(certificate, thisUpdate);
    builder.setNextUpdate(Date.from(now.plus(validity)));
    for (BigInteger serial : serials) {
      // Reason 0 makes Bouncy Castle omit the reasonCode extension, as RFC 5280 asks for
      // "unspecified".
      builder.addCRLEntry(serial, thisUpdate, 0);
    }
    try {
      builder.addExtension(Extension.authorityKeyIdentifier, false,
          new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate));
      builder.addExtension(
          Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(now.toEpochMilli())));
      return new JcaX509CRLConverter().getCRL(
          builder.build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(privateKey)));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("Could not build the CRL: " + e.getMessage(), e);
    }
  }

  /** Builds and signs a node certificate for {@code subjectKey}; validates every argument first. */
  private X509Certificate build(
      NodeIdentity identity, PublicKey subjectKey, PublicKey signingKeyOrNull,
      List<String> hosts, Duration validity) {
    Objects.requireNonNull(identity, "identity");
    Objects.requireNonNull(hosts, "hosts");
    Objects.requireNonNull(validity, "validity");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("Certificate validity must be positive, got " + validity);
    }
    Instant now = clock.instant();
    Instant notAfter = now.plus(validity);
    if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
      throw new IllegalArgumentException(
          "Requested validity " + validity + " ends on " + notAfter + ", after the CA itself"
              + " expires on " + certificate.getNotAfter().toInstant() + ". Ask for a shorter"
              + " validity or create a new CA.");
    }
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, identity.uri()));
    for (String host : new LinkedHashSet<>(hosts)) {
      names.add(hostName(host));
    }
    Extension signingKeyExtension =
        signingKeyOrNull == null ? null : SigningKeyExtension.of(signingKeyOrNull);

    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, identity.name()).build();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        certificate,
        randomSerial(random),
        Date.from(now.minus(BACKDATE)),
        Date.from(notAfter),
        subject,
        subjectKey);
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
          new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      builder.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(names.toArray(GeneralName[]::new)));
      builder.addExtension(Extension.subjectKeyIdentifier, false,
          extensions.createSubjectKeyIdentifier(subjectKey));
      builder.addExtension(Extension.authorityKeyIdentifier, false,
          extensions.createAuthorityKeyIdentifier(certificate));
      if (signingKeyExtension != null) {
        builder.addExtension(signingKeyExtension);
      }
      return sign(builder, privateKey);
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException(
          "Could not build a certificate for " + identity.uri() + ": " + e.getMessage(), e);
    }
  }

  private static void requireConsortiumName(String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("Consortium name must not be empty");
    }
    if (name.length() > MAX_ORGANIZATION_LENGTH) {
      throw new IllegalArgumentException(
          "Consortium name is " + name.length() + " characters; X.509 allows at most "
              + MAX_ORGANIZATION_LENGTH + ". Use a shorter name.");
    }
    if (name.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("Consortium name must not contain control characters");
    }
  }

  /** One host as a SAN: IP literals (optionally bracketed IPv6) as iPAddress, else dNSName. */
  private static GeneralName hostName(String host) {
    if (host == null) {
      throw new IllegalArgumentException("Host list contains null");
    }
    String literal = host.startsWith("[") && host.endsWith("]")
        ? host.substring(1, host.length() - 1)
        : host;
    if (IPAddress.isValidIPv4(literal) || IPAddress.isValidIPv6(literal)) {
      return new GeneralName(GeneralName.iPAddress, literal);
    }
    if (!DNS_NAME.matcher(host).matches()) {
      throw new IllegalArgumentException(
          "Host '" + host + "' is neither an IPv4/IPv6 literal nor a DNS name (letters, digits,"
              + " hyphens, dot-separated labels of at most 63 characters)");
    }
    // DNS names compare case-insensitively; storing lowercase keeps certificates canonical.
    return new GeneralName(GeneralName.dNSName, host.toLowerCase(Locale.ROOT));
  }

  /** A fresh EC P-256 key pair, the only key type Hanse uses for TLS. */
  static KeyPair newEcKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "This JDK cannot generate EC P-256 keys: " + e.getMessage(), e);
    }
  }

  /** A positive random serial of up to 128 bits; RFC 5280 wants it unpredictable and non-zero. */
  private static BigInteger randomSerial(SecureRandom random) {
    BigInteger serial;
    do {
      serial = new BigInteger(128, random);
    } while (serial.signum() == 0);
    return serial;
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter()
        .getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(key)));
  }

  /** Proves possession: a signature by {@code key} must verify under {@code publicKey}. */
  static boolean keyMatches(PrivateKey key, PublicKey publicKey) {
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature signer = Signature.getInstance(SIGNATURE_ALGORITHM);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(SIGNATURE_ALGORITHM);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
