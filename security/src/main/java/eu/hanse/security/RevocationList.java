package eu.hanse.security;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CRLException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The serial numbers of revoked certificates, as read from the CA's certificate revocation list.
 *
 * <p>Immutable, hence safe to share between threads: {@link #with} returns a new list. A server
 * that must see revocations at once keeps the current list in a volatile field or an
 * {@link java.util.concurrent.atomic.AtomicReference} and gives
 * {@link TlsContexts#forServer(TlsFiles, java.util.function.Predicate)} a predicate that reads
 * it, e.g. {@code cert -> current.get().isRevoked(cert)}.
 *
 * <p>Persisting is the caller's job, in this order: {@code next = list.with(serial)}, then
 * {@code RevocationList.write(file, ca.issueCrl(next.serials(), validity))}, then publish
 * {@code next} to the field. Writing first means a crash never forgets a revocation that was
 * already in effect.
 *
 * <p>Serials are matched alone, without the issuer: every certificate Hanse accepts comes from
 * the one consortium CA (TLS checks that first), and serials are random 128-bit numbers.
 */
public final class RevocationList {
  /** PEM type of a CRL file. */
  static final String CRL_PEM = "X509 CRL";

  private static final RevocationList EMPTY = new RevocationList(Collections.emptySortedSet());

  private final SortedSet<BigInteger> serials;

  private RevocationList(SortedSet<BigInteger> serials) {
    this.serials = serials;
  }

  /** The list that revokes nothing. */
  public static RevocationList empty() {
    return EMPTY;
  }

  /**
   * Reads the CRL in {@code crlPem} ({@code BEGIN X509 CRL}, as written by {@link #write}) after
   * checking that {@code caCertificate} issued and signed it. A missing file is an empty list:
   * a consortium that never revoked anything has no CRL.
   *
   * <p>A CRL past its nextUpdate is still accepted: the coordinator reads its own CRL, and
   * refusing it would lock every site out rather than only the revoked ones.
   *
   * @throws IllegalStateException naming the file if it is not a PEM CRL, was not issued by
   *     {@code caCertificate}, or its signature does not verify
   * @throws java.io.UncheckedIOException if the file exists but cannot be read
   */
  public static RevocationList load(Path crlPem, X509Certificate caCertificate) {
    Objects.requireNonNull(crlPem, "crlPem");
    Objects.requireNonNull(caCertificate, "caCertificate");
    if (!Files.exists(crlPem)) {
      return EMPTY;
    }
    X509CRL crl;
    try {
      crl = (X509CRL) CertificateFactory.getInstance("X.509")
          .generateCRL(new ByteArrayInputStream(PemFiles.readPem(crlPem, CRL_PEM)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          crlPem + " holds a malformed CRL (" + e.getMessage() + ")", e);
    }
    try {
      return of(crl, caCertificate);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          crlPem + ": " + e.getMessage() + ". Revocations cannot be trusted; restore the CRL"
              + " from a backup or issue a new one with this CA.", e);
    }
  }

  /**
   * The serials {@code crl} revokes, after checking that {@code caCertificate} issued and signed
   * it.
   *
   * @throws IllegalArgumentException if {@code caCertificate} did not issue or sign {@code crl}
   */
  public static RevocationList of(X509CRL crl, X509Certificate caCertificate) {
    Objects.requireNonNull(crl, "crl");
    Objects.requireNonNull(caCertificate, "caCertificate");
    if (!crl.getIssuerX500Principal().equals(caCertificate.getSubjectX500Principal())) {
      throw new IllegalArgumentException(
          "the CRL was issued by '" + crl.getIssuerX500Principal().getName() + "', not by this"
              + " CA '" + caCertificate.getSubjectX500Principal().getName() + "'");
    }
    try {
      crl.verify(caCertificate.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "the CRL's signature does not verify with the CA's key (" + e.getMessage()
              + "): it comes from another CA or was altered", e);
    }
    Set<? extends X509CRLEntry> entries = crl.getRevokedCertificates();
    if (entries == null || entries.isEmpty()) {
      return EMPTY;
    }
    SortedSet<BigInteger> serials = new TreeSet<>();
    for (X509CRLEntry entry : entries) {
      serials.add(entry.getSerialNumber());
    }
    return new RevocationList(Collections.unmodifiableSortedSet(serials));
  }

  /**
   * Writes {@code crl} as PEM ({@code BEGIN X509 CRL}, rw-r--r--) to {@code crlPem} via a
   * temporary file in the same directory and an atomic move, so readers see the old CRL or the
   * new one, never half of one. The directory must exist.
   *
   * @throws java.io.UncheckedIOException if the file cannot be written
   */
  public static void write(Path crlPem, X509CRL crl) {
    Objects.requireNonNull(crlPem, "crlPem");
    Objects.requireNonNull(crl, "crl");
    byte[] der;
    try {
      der = crl.getEncoded();
    } catch (CRLException e) {
      throw new IllegalStateException("Could not encode the CRL for " + crlPem, e);
    }
    PemFiles.writePem(crlPem, CRL_PEM, der, false);
  }

  /** Whether {@code certificate}'s serial number is revoked. */
  public boolean isRevoked(X509Certificate certificate) {
    return isRevoked(Objects.requireNonNull(certificate, "certificate").getSerialNumber());
  }

  /** Whether {@code serial} is revoked. */
  public boolean isRevoked(BigInteger serial) {
    return serials.contains(Objects.requireNonNull(serial, "serial"));
  }

  /**
   * This list plus {@code serial}; this list itself is unchanged. Nothing is persisted: see the
   * class comment.
   *
   * @throws IllegalArgumentException if {@code serial} is not positive (no CA serial is)
   */
  public RevocationList with(BigInteger serial) {
    Objects.requireNonNull(serial, "serial");
    if (serial.signum() <= 0) {
      throw new IllegalArgumentException("Certificate serials are positive, got " + serial);
    }
    if (serials.contains(serial)) {
      return this;
    }
    SortedSet<BigInteger> next = new TreeSet<>(serials);
    next.add(serial);
    return new RevocationList(Collections.unmodifiableSortedSet(next));
  }

  /** The revoked serials in ascending order, unmodifiable; pass them to {@code issueCrl}. */
  public SortedSet<BigInteger> serials() {
    return serials;
  }

  /** The revoked serials in hex, as logs and {@code hanse ca} commands show them. */
  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("RevocationList[");
    String separator = "";
    for (BigInteger serial : serials) {
      text.append(separator).append(serial.toString(16));
      separator = ", ";
    }
    return text.append(']').toString();
  }
}
