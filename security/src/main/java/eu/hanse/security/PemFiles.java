package eu.hanse.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Set;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * Reads and writes the PEM files of the CA and the nodes.
 *
 * <p>Every write goes to a temporary file in the target directory and is then moved into place,
 * so a crash never leaves a half-written key, and a key is owner-only from its first byte rather
 * than after a later chmod.
 */
final class PemFiles {
  private static final String CERTIFICATE = "CERTIFICATE";
  /** PKCS#8, the only private key encoding Netty's PEM reader accepts for every key type. */
  private static final String PRIVATE_KEY = "PRIVATE KEY";

  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      Set.copyOf(PosixFilePermissions.fromString("rwx------"));

  private PemFiles() {}

  /**
   * Creates {@code dir} (and parents) if absent, the directory itself owner-only (rwx------).
   * An existing directory keeps its permissions: it may be one the user shares on purpose, and the
   * key files inside are owner-only regardless.
   */
  static void createPrivateDirectory(Path dir) {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      Files.createDirectories(dir.toAbsolutePath().getParent());
      if (isPosix(dir.toAbsolutePath().getParent())) {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
      } else {
        Files.createDirectory(dir);
      }
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw new IllegalStateException(dir + " exists but is not a directory; move it away", e);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not create directory " + dir + ": " + e.getMessage(), e);
    }
  }

  static void writeCertificate(Path file, X509Certificate certificate) {
    try {
      write(file, pem(CERTIFICATE, certificate.getEncoded()), false);
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("Could not encode certificate for " + file, e);
    }
  }

  /** Writes {@code key} as PKCS#8 PEM, readable and writable by the owner only (rw-------). */
  static void writePrivateKey(Path file, PrivateKey key) {
    if (!"PKCS#8".equals(key.getFormat())) {
      throw new IllegalArgumentException(
          "Private key for " + file + " encodes as " + key.getFormat() + ", expected PKCS#8");
    }
    write(file, pem(PRIVATE_KEY, key.getEncoded()), true);
  }

  static X509Certificate readCertificate(Path file) {
    byte[] der = readPem(file, CERTIFICATE);
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          file + " holds a malformed certificate (" + e.getMessage() + ")", e);
    }
  }

  /** Reads a PKCS#8 EC private key. */
  static PrivateKey readEcPrivateKey(Path file) {
    return readPrivateKey(file, "EC");
  }

  /**
   * Writes {@code der} as one PEM block of {@code type} ({@code "PUBLIC KEY"}, {@code "X509 CRL"}),
   * atomically; owner-only (rw-------) if {@code ownerOnly}, else rw-r--r--.
   */
  static void writePem(Path file, String type, byte[] der, boolean ownerOnly) {
    write(file, pem(type, der), ownerOnly);
  }

  /** Reads a PKCS#8 private key of {@code algorithm} ("EC", "Ed25519"). */
  static PrivateKey readPrivateKey(Path file, String algorithm) {
    byte[] der = readPem(file, PRIVATE_KEY);
    try {
      return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          file + " is not a PKCS#8 " + algorithm + " private key (" + e.getMessage() + ")", e);
    }
  }

  /**
   * The DER content of the first PEM block in {@code file}.
   *
   * @throws IllegalStateException if the file is missing, not PEM, or its block is not {@code type}
   */
  static byte[] readPem(Path file, String type) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new IllegalStateException(file + " does not exist", e);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + file + ": " + e.getMessage(), e);
    }
    PemObject pem;
    try (PemReader reader = new PemReader(new StringReader(text))) {
      pem = reader.readPemObject();
    } catch (IOException e) {
      throw new IllegalStateException(
          file + " is not valid PEM (" + e.getMessage() + "); expected a BEGIN " + type + " block",
          e);
    }
    if (pem == null || !type.equals(pem.getType())) {
      throw new IllegalStateException(
          file + " holds " + (pem == null ? "no PEM block" : "a BEGIN " + pem.getType() + " block")
              + "; expected BEGIN " + type);
    }
    return pem.getContent();
  }

  private static byte[] pem(String type, byte[] der) {
    StringWriter text = new StringWriter();
    try (PemWriter writer = new PemWriter(text)) {
      writer.writeObject(new PemObject(type, der));
    } catch (IOException e) {
      // StringWriter does not fail; this is unreachable.
      throw new UncheckedIOException(e);
    }
    return text.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static void write(Path file, byte[] content, boolean ownerOnly) {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      // createTempFile makes files rw------- on POSIX, which is what keys need from the start.
      tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      Files.write(tmp, content);
      if (!ownerOnly && isPosix(dir)) {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      }
      move(tmp, file);
      tmp = null;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write " + file + ": " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // The write already failed; that error is the one worth reporting.
        }
      }
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static boolean isPosix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
