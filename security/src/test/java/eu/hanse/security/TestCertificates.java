package eu.hanse.security;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates the CA would never issue, for testing how they are refused. */
final class TestCertificates {
  private TestCertificates() {}

  static KeyPair ecKeyPair() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  /** A self-signed certificate with exactly the given subject alternative names (maybe none). */
  static X509Certificate selfSigned(GeneralName... sans) throws Exception {
    KeyPair keys = ecKeyPair();
    return build(new X500Name("CN=self"), keys, new X500Name("CN=self"), keys.getPrivate(), sans);
  }

  /** A self-signed certificate carrying {@code extension}, for testing how it is parsed. */
  static X509Certificate selfSignedWithExtension(Extension extension) throws Exception {
    KeyPair keys = ecKeyPair();
    Instant now = Instant.now();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        new X500Name("CN=self"), BigInteger.ONE, Date.from(now),
        Date.from(now.plus(Duration.ofDays(1))), new X500Name("CN=self"), keys.getPublic());
    builder.addExtension(extension);
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
  }

  /**
   * Signs, with the CA in {@code caDir}, a node certificate that has every property of a real one
   * except the Hanse URI SAN, and writes it as TLS files into {@code tlsDir}.
   */
  static TlsFiles issueWithoutHanseUri(Path caDir, Path tlsDir) throws Exception {
    X509Certificate ca =
        PemFiles.readCertificate(caDir.resolve(CertificateAuthority.CA_CERTIFICATE));
    PrivateKey caKey = PemFiles.readEcPrivateKey(caDir.resolve(CertificateAuthority.CA_KEY));
    KeyPair keys = ecKeyPair();
    X509Certificate leaf = build(
        X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), keys,
        new X500Name("CN=rogue"), caKey,
        new GeneralName(GeneralName.dNSName, "rogue.example"));
    TlsFiles files = TlsFiles.in(tlsDir);
    PemFiles.createPrivateDirectory(tlsDir);
    PemFiles.writePrivateKey(files.privateKey(), keys.getPrivate());
    PemFiles.writeCertificate(files.certificate(), leaf);
    PemFiles.writeCertificate(files.caCertificate(), ca);
    return files;
  }

  private static X509Certificate build(
      X500Name issuer, KeyPair subjectKeys, X500Name subject, PrivateKey signingKey,
      GeneralName... sans) throws Exception {
    Instant now = Instant.now();
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        issuer, BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minus(Duration.ofMinutes(5))),
        Date.from(now.plus(Duration.ofDays(1))), subject, subjectKeys.getPublic());
    builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    if (sans.length > 0) {
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
    }
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signingKey)));
  }
}
