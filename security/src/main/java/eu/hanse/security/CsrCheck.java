package eu.hanse.security;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/**
 * The CA's checks on a PKCS#10 certificate request before it issues anything for it.
 * Stateless.
 */
final class CsrCheck {
  private CsrCheck() {}

  /**
   * The request's public key, once the request parses, carries an EC P-256 key and is signed by
   * that key.
   *
   * @throws IllegalArgumentException saying which of these failed
   */
  static PublicKey verifiedEcP256Key(byte[] der) {
    PKCS10CertificationRequest csr;
    try {
      csr = new PKCS10CertificationRequest(der);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "Not a DER-encoded PKCS#10 certificate request (" + e.getMessage() + "); send the bytes"
              + " of CertificateRequest.der()", e);
    }
    SubjectPublicKeyInfo keyInfo = csr.getSubjectPublicKeyInfo();
    AlgorithmIdentifier algorithm = keyInfo.getAlgorithm();
    ASN1Encodable curve = algorithm.getParameters();
    // Checked before the signature so an RSA or Ed25519 request gets the message that matters.
    if (!X9ObjectIdentifiers.id_ecPublicKey.equals(algorithm.getAlgorithm())
        || !X9ObjectIdentifiers.prime256v1.equals(curve)) {
      throw new IllegalArgumentException(
          "The certificate request's key is " + describe(algorithm) + "; Hanse issues TLS"
              + " certificates only for EC P-256 keys. Generate the request with"
              + " CertificateRequest.generate.");
    }
    boolean signatureValid;
    try {
      signatureValid = csr.isSignatureValid(
          new JcaContentVerifierProviderBuilder().build(keyInfo));
    } catch (OperatorCreationException | PKCSException | RuntimeException e) {
      throw new IllegalArgumentException(
          "The certificate request's signature cannot be checked (" + e.getMessage() + ")", e);
    }
    if (!signatureValid) {
      throw new IllegalArgumentException(
          "The certificate request's signature does not verify with its own key: it was altered"
              + " in transit or not made by the holder of the key. Generate a new request.");
    }
    try {
      return KeyFactory.getInstance("EC").generatePublic(
          new X509EncodedKeySpec(keyInfo.getEncoded()));
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException(
          "The certificate request's EC key cannot be decoded (" + e.getMessage() + ")", e);
    }
  }

  private static String describe(AlgorithmIdentifier algorithm) {
    String oid = algorithm.getAlgorithm().getId();
    return switch (oid) {
      case "1.2.840.113549.1.1.1" -> "RSA";
      case "1.3.101.112" -> "Ed25519";
      case "1.3.101.113" -> "Ed448";
      case "1.2.840.10045.2.1" -> "EC on curve " + algorithm.getParameters();
      default -> "of algorithm " + oid;
    };
  }
}
