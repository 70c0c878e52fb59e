package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;

import eu.hanse.security.AuditLogChain.Tail;
import eu.hanse.security.AuditLogChain.Walk;
import eu.hanse.security.AuditVerification.Problem;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only, tamper-evident audit trail: who enrolled, which updates were accepted or refused,
 * which checkpoints were committed, which sites were revoked.
 *
 * <h2>Files</h2>
 *
 * <ul>
 *   <li>The log, e.g. {@code <data-dir>/audit/audit.log}: one {@link AuditEntry} per line as JSON
 *       (the line format and the hash are documented there). Each entry's {@code prev} is the
 *       previous entry's {@code hash}, so changing, inserting, removing or reordering any entry
 *       breaks the chain from that entry on.
 *   <li>The head, {@code audit.head} next to {@code audit.log} (see {@link AuditLogHead}): the
 *       last entry's seq and hash, Ed25519-signed when a head-signing key is given. A chain with
 *       entries cut off its end is still a valid chain; the head is what shows they are missing.
 *       Rewritten atomically after every append.
 *   <li>The lock, {@code audit.log.lock}: an empty file that writers (and {@link #verify}) lock
 *       while they work.
 * </ul>
 *
 * <p>All three are created owner-only (rw-------), in a directory created owner-only if absent.
 *
 * <h2>Concurrency and durability</h2>
 *
 * <p>An {@code AuditLog} is thread-safe. Several processes may append to the same trail (the
 * coordinator and a CLI command): each append takes an exclusive {@link FileLock} on the lock file,
 * reads and checks whatever other processes appended since, and only then writes. An append
 * returns once its line has been forced to disk. FileLocks belong to a process, and on POSIX
 * systems closing any channel of a file drops the process's locks on it, so within one JVM use one
 * {@code AuditLog} per trail, and its {@link #verify(PublicKey)} rather than the static
 * {@link #verify(Path, PublicKey)}.
 *
 * <h2>What it detects, and what it cannot</h2>
 *
 * <p>{@link #verify(Path, PublicKey)} detects any edited value, any removed, inserted or reordered line, a
 * truncated line, and entries removed from the end. A hash chain has no secret: someone who can
 * write the files can recompute every hash after an edit, and only a signed head (whose key they
 * do not hold) reveals that. Even a signed head cannot reveal a trail rolled back to an earlier
 * state together with that state's head, or the deletion of both files; anchoring the head
 * elsewhere (e.g. a copy on another machine) would. Since the hash covers the entry's content
 * rather than the JSON text, reformatting a line (whitespace, member order) is not an edit.
 *
 * <p>A crash between writing an entry and writing its head leaves the head one entry behind.
 * Verification reports that as {@link Problem#HEAD_MISMATCH}; the next writer accepts that one
 * entry if it chains correctly, rewrites the head and logs a warning, so a crash does not lock the
 * coordinator out of its own trail. Anything else that does not verify makes {@link #open} and
 * {@link #append} refuse.
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

  private final Path file;
  private final Path headFile;
  private final Clock clock;
  private final PrivateKey headKey;
  private final FileChannel channel;
  private final FileChannel lockChannel;
  /** The end of the log as this object last saw it under the lock; guarded by {@code this}. */
  private Tail tail;
  /** Guarded by {@code this}. */
  private boolean closed;

  private AuditLog(
      Path file,
      Clock clock,
      PrivateKey headKey,
      FileChannel channel,
      FileChannel lockChannel,
      Tail tail) {
    this.file = file;
    this.headFile = AuditLogHead.fileFor(file);
    this.clock = clock;
    this.headKey = headKey;
    this.channel = channel;
    this.lockChannel = lockChannel;
    this.tail = tail;
  }

  /**
   * Opens the trail in {@code file}, creating it (and its directory) if absent, or continuing an
   * existing one after checking its whole chain and its head.
   *
   * @param file the log, e.g. {@code <data-dir>/audit/audit.log}
   * @param clock the source of entry times
   * @param headSigningKeyOrNull an Ed25519 private key to sign the head with, or null for an
   *     unsigned head. A trail must always be opened with the same key (or always without one)
   * @throws IllegalStateException if the existing trail does not verify, saying why and where
   * @throws IllegalArgumentException if the key is not an Ed25519 private key
   * @throws UncheckedIOException if the files cannot be created, read or locked
   */
  @SuppressWarnings("try") // The lock is held for the block's sake, never referenced in it.
  /** Opens a trail whose head is signed with {@code headSigningKey}. */
  public static AuditLog openSigned(Path file, Clock clock, SigningKey headSigningKey) {
    return open(file, clock, headSigningKey.privateKey());
  }

  public static AuditLog open(Path file, Clock clock, PrivateKey headSigningKeyOrNull) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(clock, "clock");
    if (headSigningKeyOrNull != null) {
      AuditLogHead.requireSigningKey(headSigningKeyOrNull);
    }
    Path absolute = file.toAbsolutePath();
    PemFiles.createPrivateDirectory(absolute.getParent());
    Path headFile = AuditLogHead.fileFor(absolute);
    FileChannel lockChannel = null;
    FileChannel channel = null;
    try {
      lockChannel = AuditLogFiles.openLockChannel(AuditLogFiles.lockFileFor(absolute));
      try (FileLock lock = AuditLogFiles.lockExclusively(lockChannel)) {
        if (!Files.exists(absolute)) {
          createEmpty(absolute, headFile, headSigningKeyOrNull);
        }
        channel = FileChannel.open(absolute, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Walk walk;
        try (InputStream in = Files.newInputStream(absolute)) {
          walk = AuditLogChain.walk(in, Tail.START);
        }
        if (walk.failure() != null) {
          throw refusal(absolute, walk.failure().describe());
        }
        reconcileHead(absolute, headFile, walk.tail(), headSigningKeyOrNull);
        return new AuditLog(
            absolute, clock, headSigningKeyOrNull, channel, lockChannel, walk.tail());
      }
    } catch (IOException e) {
      closeQuietly(channel, lockChannel);
      throw new UncheckedIOException(
          "Could not open the audit log " + absolute + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(channel, lockChannel);
      throw e;
    }
  }

  /**
   * Appends one entry and forces it to disk before returning.
   *
   * <p>If it throws after the line reached the disk (the head could not be written), the entry
   * stays in the trail and the next append or open brings the head up to date.
   *
   * @param type what happened, e.g. {@code "update.accepted"}; see {@link AuditEntry#TYPE_RULE}
   * @param fields the details, e.g. {@code site}, {@code round}; see
   *     {@link AuditEntry#FIELD_NAME_RULE}. Use {@code Map.of()} for none
   * @return the entry as written, with its seq, time and hash
   * @throws IllegalArgumentException if the type or a field is invalid
   * @throws IllegalStateException if this log is closed, or the trail no longer verifies (someone
   *     changed it since it was opened)
   * @throws UncheckedIOException if it cannot be written
   */
  @SuppressWarnings("try") // The lock is held for the block's sake, never referenced in it.
  public synchronized AuditEntry append(String type, Map<String, String> fields) {
    AuditEntry.requireValidType(type);
    AuditEntry.requireValidFields(fields);
    if (closed) {
      throw new IllegalStateException("The audit log " + file + " is closed");
    }
    try (FileLock lock = AuditLogFiles.lockExclusively(lockChannel)) {
      Tail current = catchUp();
      reconcileHead(file, headFile, current, headKey);
      AuditEntry entry =
          AuditEntry.create(current.seq() + 1, clock.instant(), type, fields, current.hash());
      byte[] line = (AuditEntryCodec.toLine(entry) + "\n").getBytes(UTF_8);
      try {
        AuditLogFiles.writeFully(channel, ByteBuffer.wrap(line), current.bytes());
        channel.force(true);
      } catch (IOException e) {
        undo(current.bytes(), e);
        throw e;
      }
      tail = current.after(entry, line.length);
      AuditLogHead.of(tail.seq(), tail.hash(), headKey).write(headFile);
      return entry;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not append to the audit log " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Verifies a trail: every line, the chain, and the head. Takes the trail's lock while it reads
   * (so it does not see an append half done) when it can create the lock file; a reader without
   * write access verifies without it.
   *
   * @param file the log
   * @param headVerifyingKeyOrNull the Ed25519 public key of the head-signing key, or null to skip
   *     the signature (the head's seq and hash are still checked)
   * @return intact, or the first problem: see {@link AuditVerification}
   * @throws IllegalArgumentException if the key is not an Ed25519 public key
   * @throws UncheckedIOException if the log exists but cannot be read
   */
  public static AuditVerification verify(Path file, PublicKey headVerifyingKeyOrNull) {
    Path absolute = file.toAbsolutePath();
    if (!Files.exists(absolute)) {
      return AuditVerification.broken(0, 0, 0, Problem.LOG_MISSING, absolute + " does not exist");
    }
    FileChannel lockChannel = tryLock(absolute);
    try {
      return verifyLocked(absolute, headVerifyingKeyOrNull);
    } finally {
      closeQuietly(lockChannel);
    }
  }

  /**
   * Verifies this object's trail like {@link #verify(Path, PublicKey)}, but under this object's
   * own lock. In a JVM that has the trail open, use this rather than the static method, which
   * opens (and closes) a second channel on the lock file.
   *
   * @throws IllegalStateException if this log is closed
   */
  @SuppressWarnings("try") // The lock is held for the block's sake, never referenced in it.
  public synchronized AuditVerification verify(PublicKey headVerifyingKeyOrNull) {
    if (closed) {
      throw new IllegalStateException("The audit log " + file + " is closed");
    }
    try (FileLock lock = AuditLogFiles.lockExclusively(lockChannel)) {
      return verifyLocked(file, headVerifyingKeyOrNull);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not lock " + file + ": " + e.getMessage(), e);
    }
  }

  private static AuditVerification verifyLocked(Path file, PublicKey key) {
    if (!Files.exists(file)) {
      return AuditVerification.broken(0, 0, 0, Problem.LOG_MISSING, file + " does not exist");
    }
    try {
      Walk walk;
      try (InputStream in = Files.newInputStream(file)) {
        walk = AuditLogChain.walk(in, Tail.START);
      }
      if (walk.failure() != null) {
        return walk.failure();
      }
      return checkHead(AuditLogHead.fileFor(file), walk.tail(), key);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not read the audit log " + file + ": " + e.getMessage(), e);
    }
  }

  /** The signed head file beside the log. */
  public Path headFile() {
    return AuditLogHead.fileFor(file);
  }

  /** The log file this object appends to. */
  public Path file() {
    return file;
  }

  /** Closes the log. Idempotent; appending afterwards throws IllegalStateException. */
  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      closeQuietly(channel, lockChannel);
    }
  }

  /**
   * Creates an empty trail. The head is written before the log exists, so a log without a head
   * can only mean the head was deleted, never a crash halfway through creating the trail.
   */
  private static void createEmpty(Path file, Path headFile, PrivateKey key) throws IOException {
    AuditLogHead head = readHeadForWriter(file, headFile);
    if (head != null && head.seq() != 0) {
      throw refusal(file, "the log does not exist but its head " + headFile + " records "
          + head.seq() + " entries: the log was deleted or moved; restore it from a backup");
    }
    if (head == null) {
      AuditLogHead.of(0, AuditEntry.GENESIS_PREV, key).write(headFile);
    }
    Files.createFile(file, AuditLogFiles.ownerOnlyAttributes(file.getParent()));
    AuditLogFiles.forceDirectory(file.getParent());
  }

  /**
   * Reads the entries other processes appended since this object last looked, checking them.
   * Must hold the lock.
   */
  private Tail catchUp() throws IOException {
    long size = channel.size();
    if (size < tail.bytes()) {
      throw refusal(file, "the log shrank from " + tail.bytes() + " to " + size
          + " bytes while it was open: entries were removed; check it with AuditLog.verify");
    }
    if (size == tail.bytes()) {
      return tail;
    }
    channel.position(tail.bytes());
    // Not closed: closing the stream would close the channel.
    InputStream added = new BufferedInputStream(Channels.newInputStream(channel), 1 << 16);
    Walk walk = AuditLogChain.walk(added, tail);
    if (walk.failure() != null) {
      throw refusal(file, walk.failure().describe());
    }
    tail = walk.tail();
    return tail;
  }

  /**
   * Checks the head against the log's end, as a writer that holds the head key (or none). Brings a
   * head that is exactly one correctly chained entry behind up to date (a crash between an entry
   * and its head); refuses anything else that does not match.
   */
  private static void reconcileHead(Path file, Path headFile, Tail tail, PrivateKey key) {
    AuditLogHead head = readHeadForWriter(file, headFile);
    if (head == null) {
      throw refusal(file, "its head " + headFile + " is missing, so entries removed from the end"
          + " would go unnoticed; restore the head from a backup");
    }
    if (key != null && !head.signedWith(key)) {
      throw refusal(file, head.signature() == null
          ? "its head " + headFile + " is unsigned but a head-signing key was given: the"
              + " signature was removed, or the trail was started without a key"
          : "its head " + headFile + " was not signed with this key: the head was rewritten, or"
              + " this is not the trail's head-signing key");
    }
    if (key == null && head.signature() != null) {
      throw refusal(file, "its head " + headFile + " is signed; open it with its head-signing"
          + " key, or later heads would silently lose their signature");
    }
    if (head.seq() == tail.seq() - 1 && head.hash().equals(tail.prev())) {
      log.warn("The audit head {} was one entry behind the log {} (seq {} instead of {}), as a"
              + " crash between writing an entry and its head leaves it; accepting entry {} and"
              + " updating the head", headFile, file, head.seq(), tail.seq(), tail.seq());
      AuditLogHead.of(tail.seq(), tail.hash(), key).write(headFile);
      return;
    }
    AuditVerification mismatch = headMismatch(tail, head);
    if (mismatch != null) {
      throw refusal(file, mismatch.describe());
    }
  }

  private static AuditLogHead readHeadForWriter(Path file, Path headFile) {
    try {
      return AuditLogHead.read(headFile);
    } catch (IllegalArgumentException e) {
      throw refusal(file, "its head " + headFile + " is malformed (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + headFile + ": " + e.getMessage(), e);
    }
  }

  /** The head checks of {@link #verify}, after the chain verified up to {@code tail}. */
  private static AuditVerification checkHead(Path headFile, Tail tail, PublicKey key)
      throws IOException {
    AuditLogHead head;
    try {
      head = AuditLogHead.read(headFile);
    } catch (IllegalArgumentException e) {
      return AuditVerification.broken(tail.seq(), 0, 0, Problem.HEAD_MALFORMED,
          headFile + " is malformed (" + e.getMessage() + ")");
    }
    if (head == null) {
      return AuditVerification.broken(tail.seq(), 0, 0, Problem.HEAD_MISSING,
          headFile + " does not exist, so entries removed from the end would go unnoticed");
    }
    if (key != null && head.signature() == null) {
      return AuditVerification.broken(tail.seq(), 0, 0, Problem.HEAD_SIGNATURE_INVALID,
          headFile + " is not signed, but a head-verifying key was given");
    }
    if (key != null && !head.signatureVerifies(key)) {
      return AuditVerification.broken(tail.seq(), 0, 0, Problem.HEAD_SIGNATURE_INVALID,
          "the signature in " + headFile + " does not verify with the given key: the head was"
              + " rewritten (perhaps after entries were removed), or the key is not the trail's");
    }
    AuditVerification mismatch = headMismatch(tail, head);
    return mismatch != null ? mismatch : AuditVerification.intact(tail.seq());
  }

  /**
   * Null if {@code head} records the last entry of a chain that verified up to {@code tail},
   * otherwise how they differ. In a verified chain line n holds seq n, which the line numbers
   * below rely on.
   */
  private static AuditVerification headMismatch(Tail tail, AuditLogHead head) {
    if (head.seq() == tail.seq() && head.hash().equals(tail.hash())) {
      return null;
    }
    if (head.seq() > tail.seq()) {
      return AuditVerification.broken(tail.seq(), tail.seq() + 1, tail.seq() + 1,
          Problem.HEAD_MISMATCH, "the head records " + head.seq() + " entries but the log ends"
              + " at seq " + tail.seq() + ": entries were removed from the end (or the head was"
              + " edited)");
    }
    if (head.seq() < tail.seq()) {
      return AuditVerification.broken(head.seq(), head.seq() + 1, head.seq() + 1,
          Problem.HEAD_MISMATCH, "the head records seq " + head.seq() + " but the log goes on to"
              + " seq " + tail.seq() + ": entries were added without updating the head (a crash"
              + " between writing an entry and its head, or entries added by hand), or the head"
              + " was edited");
    }
    return AuditVerification.broken(tail.seq() - 1, tail.seq(), tail.seq(),
        Problem.HEAD_MISMATCH, "the head's hash " + head.hash() + " is not the last entry's hash "
            + tail.hash() + ": the last entry was replaced, or the head was edited");
  }

  /** Locks the trail for {@link #verify}, or returns null if the lock file cannot be opened. */
  private static FileChannel tryLock(Path file) {
    FileChannel lockChannel;
    try {
      lockChannel = AuditLogFiles.openLockChannel(AuditLogFiles.lockFileFor(file));
    } catch (IOException | UnsupportedOperationException e) {
      // A read-only auditor cannot create or write the lock file; verifying unlocked risks only a
      // spurious failure if an append runs at the same moment.
      return null;
    }
    try {
      AuditLogFiles.lockExclusively(lockChannel);
      return lockChannel;
    } catch (IOException e) {
      closeQuietly(lockChannel);
      throw new UncheckedIOException("Could not lock " + file + ": " + e.getMessage(), e);
    }
  }

  /** Removes a partly written line, so the next append does not find a truncated entry. */
  private void undo(long size, IOException cause) {
    try {
      channel.truncate(size);
      channel.force(true);
    } catch (IOException e) {
      cause.addSuppressed(e);
    }
  }

  private static IllegalStateException refusal(Path file, String reason) {
    return new IllegalStateException("The audit trail " + file + " does not verify: " + reason);
  }

  private static void closeQuietly(FileChannel... channels) {
    for (FileChannel channel : channels) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // Closing after a failure or at shutdown; the data was already forced to disk.
        }
      }
    }
  }
}
