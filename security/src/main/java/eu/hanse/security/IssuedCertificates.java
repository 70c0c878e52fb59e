package eu.hanse.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The CA's ledger of every certificate it issued: one line per certificate ({@code serial-hex identity-uri
 * not-after-epoch-seconds}) in {@code <ca-dir>/issued.txt}, so that revoking a site can find all of
 * its certificates, including renewed ones.
 *
 * <p>Append-only and safe across processes (the coordinator and a CLI command may both issue): each
 * append and each read holds a lock on the file.
 */
public final class IssuedCertificates {
  /**
   * A file lock belongs to the whole process: two threads of one JVM taking it at once fail rather
   * than wait. This serializes them first; the file lock then serializes processes.
   */
  private static final Object IN_PROCESS = new Object();

  private final Path file;

  public IssuedCertificates(Path caDir) {
    this.file = caDir.resolve("issued.txt");
  }

  /** Records an issued certificate. */
  public void record(X509Certificate certificate) {
    NodeIdentity identity = NodeIdentity.fromCertificate(certificate).orElseThrow(
        () -> new IllegalArgumentException("certificate " + certificate.getSerialNumber().toString(16)
            + " carries no Hanse identity"));
    String line = certificate.getSerialNumber().toString(16) + " " + identity.uri() + " "
        + certificate.getNotAfter().toInstant().getEpochSecond() + "\n";
    synchronized (IN_PROCESS) {
      append(line);
    }
  }

  private void append(String line) {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND); FileLock lock = channel.lock()) {
      channel.write(java.nio.ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII)));
      channel.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot record issued certificate in " + file + ": " + e.getMessage(), e);
    }
  }

  /** Serial numbers of every certificate issued to this identity, oldest first. */
  public List<BigInteger> serialsOf(NodeIdentity identity) {
    synchronized (IN_PROCESS) {
      return read(identity);
    }
  }

  private List<BigInteger> read(NodeIdentity identity) {
    List<BigInteger> serials = new ArrayList<>();
    if (!Files.exists(file)) {
      return serials;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      String content = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII);
      for (String line : content.split("\n")) {
        String[] parts = line.trim().split(" ");
        if (parts.length == 3 && parts[1].equals(identity.uri())) {
          serials.add(new BigInteger(parts[0], 16));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    } catch (NumberFormatException e) {
      throw new IllegalStateException(file + " is corrupt: " + e.getMessage(), e);
    }
    return serials;
  }
}
