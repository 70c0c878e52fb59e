package eu.hanse.security;

import java.io.IOException;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x509.Extension;

/**
 * The X.509 extension that binds a node's Ed25519 signing key to its TLS certificate, so whoever
 * trusts the certificate also knows which key signs that node's claims.
 *
 * <p>The extension is non-critical (TLS stacks that do not know it ignore it), has OID
 * {@link #OID} and its value is an OCTET STRING holding the 32 raw Ed25519 public-key bytes.
 *
 * <p>Stateless; safe to use from any thread.
 */
public final class SigningKeyExtension {
  /**
   * OID of the extension: {@code 2.25.<UUID as integer>} (ITU-T X.667), derived from the fixed
   * UUID babb7b28-5eb8-41c4-afaa-fa2a296a93b5 so it needs no registration and collides with no
   * one. Never change it: certificates already issued carry it.
   */
  public static final String OID = "2.25.248209864663362458708735923243329426357";

  private static final ASN1ObjectIdentifier ASN1_OID = new ASN1ObjectIdentifier(OID);

  private SigningKeyExtension() {}

  /**
   * The signing key bound into {@code certificate}, or empty if it carries none.
   *
   * <p>Does not check the certificate itself; use it on certificates that TLS or a
   * {@link java.security.cert.CertPathValidator} already accepted.
   *
   * @throws IllegalArgumentException if the extension is present but does not hold a valid
   *     32-byte Ed25519 key (the CA never issues that, so the certificate is not to be trusted)
   */
  public static Optional<PublicKey> read(X509Certificate certificate) {
    Objects.requireNonNull(certificate, "certificate");
    // getExtensionValue returns the extnValue OCTET STRING, whose content is our OCTET STRING.
    byte[] extnValue = certificate.getExtensionValue(OID);
    if (extnValue == null) {
      return Optional.empty();
    }
    try {
      byte[] inner = ASN1OctetString.getInstance(extnValue).getOctets();
      byte[] raw = ASN1OctetString.getInstance(inner).getOctets();
      return Optional.of(Signatures.publicKeyFromRaw(raw));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "Certificate " + certificate.getSerialNumber().toString(16) + " has a malformed signing"
              + "-key extension (" + OID + "): " + e.getMessage() + ". Do not trust it; re-issue"
              + " the certificate.", e);
    }
  }

  /**
   * The extension for {@code signingKey}, to add to a certificate being built.
   *
   * @throws IllegalArgumentException if {@code signingKey} is not an Ed25519 key
   */
  static Extension of(PublicKey signingKey) {
    try {
      return new Extension(ASN1_OID, false,
          new DEROctetString(Signatures.rawPublicKey(signingKey)).getEncoded());
    } catch (IOException e) {
      // DER-encoding 32 bytes in memory does not fail.
      throw new IllegalStateException("Could not encode the signing-key extension", e);
    }
  }
}
