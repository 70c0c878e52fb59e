package eu.hanse.security;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The durable-file plumbing shared by {@link AuditLog} and {@link EnrolmentTokens}: owner-only
 * files, atomic replacement that survives a crash, and cross-process locks on sibling lock files.
 *
 * <p>Stateless; every method is safe to call from any thread.
 */
final class AuditLogFiles {
  /** How long to wait before retrying a lock another object in this JVM holds. */
  private static final long LOCK_RETRY_MILLIS = 2;

  private static final Set<StandardOpenOption> CREATE_WRITE =
      Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE);

  private AuditLogFiles() {}

  /** The sibling lock file of {@code file}: its name with {@code .lock} appended. */
  static Path lockFileFor(Path file) {
    return file.resolveSibling(file.getFileName() + ".lock");
  }

  /**
   * Opens (creating it owner-only if absent) the lock file of {@code file} and takes an exclusive
   * lock on it, waiting for other processes and for other objects of this JVM that hold it.
   * Closing the returned channel releases the lock.
   */
  static FileChannel lock(Path file) throws IOException {
    FileChannel channel = openLockChannel(lockFileFor(file));
    try {
      lockExclusively(channel);
      return channel;
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** Opens (creating it owner-only if absent) {@code lockFile} for writing, without locking it. */
  static FileChannel openLockChannel(Path lockFile) throws IOException {
    return FileChannel.open(
        lockFile,
        CREATE_WRITE,
        ownerOnlyAttributes(lockFile.toAbsolutePath().getParent()));
  }

  /**
   * Takes an exclusive lock on the whole of {@code channel}'s file.
   *
   * <p>A FileLock belongs to the whole JVM: a second channel of this JVM asking for it gets an
   * {@link OverlappingFileLockException} instead of waiting. Two objects on the same file in one
   * JVM (a test, or a coordinator that runs a CLI command in-process) must still take turns, so
   * that case is retried until the other one lets go, rather than kept in a static registry.
   */
  static FileLock lockExclusively(FileChannel channel) throws IOException {
    while (true) {
      try {
        return channel.lock();
      } catch (OverlappingFileLockException e) {
        try {
          Thread.sleep(LOCK_RETRY_MILLIS);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for the lock on a file");
        }
      }
    }
  }

  /**
   * Replaces {@code file} with {@code content}: written to an owner-only (rw-------) temporary file
   * in the same directory, forced to disk, moved over {@code file} atomically, and the directory
   * forced too, so that after a crash {@code file} holds either the old or the new content, never
   * a mixture, and a completed call is not undone by a power loss.
   */
  static void writeAtomically(Path file, byte[] content) {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      // createTempFile makes files rw------- on POSIX from the first byte.
      tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        writeFully(channel, ByteBuffer.wrap(content), 0);
        channel.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      tmp = null;
      forceDirectory(dir);
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

  /** Writes all of {@code buffer} at {@code position}; a single write may be partial. */
  static void writeFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
    long at = position;
    while (buffer.hasRemaining()) {
      at += channel.write(buffer, at);
    }
  }

  /**
   * Forces a directory's entries (a new or renamed file) to disk. Best effort: some platforms
   * cannot open a directory as a channel, and there the rename is as durable as the OS makes it.
   */
  static void forceDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not supported here (e.g. Windows); nothing better is available.
    }
  }

  /** rw------- where the file system has POSIX permissions, nothing otherwise. */
  static FileAttribute<?>[] ownerOnlyAttributes(Path dir) {
    if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return new FileAttribute<?>[] {
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
      };
    }
    return new FileAttribute<?>[0];
  }
}
