package eu.hanse.coordinator.storage;

import eu.hanse.coordinator.job.JobId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Durable copies of incoming updates under {@code <data-dir>/spool/<job>/round-<r>/}. An update is
 * acknowledged only after its spool file is forced to disk. An upload that breaks off keeps its
 * {@code .part} file, so that the site can resume it where it stopped.
 */
public final class UpdateSpool {
  private final Path directory;

  public UpdateSpool(Path dataDir) {
    this.directory = dataDir.resolve("spool");
  }

  /** Opens a new spool file for one upload. */
  public Writer open(JobId job, long round, String site, String nonceHex) {
    Path file = partial(job, round, site, nonceHex);
    try {
      Files.createDirectories(file.getParent());
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      return new Writer(file, channel, DirectWrites.open(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open spool file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reopens an interrupted upload's spool file to go on after its first {@code keepBytes} bytes
   * (anything after them, a chunk cut short or the runs of a striped upload, is dropped).
   */
  public Writer resume(JobId job, long round, String site, String nonceHex, long keepBytes) {
    Path file = partial(job, round, site, nonceHex);
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
      channel.truncate(keepBytes);
      channel.force(true);
      Files.deleteIfExists(holes(file));
      return new Writer(file, channel, DirectWrites.open(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reopen spool file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The bytes an interrupted upload left on disk, forced there first; 0 if it left none, or if it
   * may have holes (a striped upload the coordinator stopped in the middle of).
   */
  public long heldBytes(JobId job, long round, String site, String nonceHex) {
    Path file = partial(job, round, site, nonceHex);
    if (!Files.isRegularFile(file) || Files.exists(holes(file))) {
      return 0;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
      return channel.size();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spool file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Marks a spool file whose bytes are not all written up to its size. */
  private static Path holes(Path partial) {
    return partial.resolveSibling(partial.getFileName() + ".holes");
  }

  /** Where an upload's bytes go until it completes. */
  public Path partial(JobId job, long round, String site, String nonceHex) {
    return directory.resolve(job.value()).resolve("round-" + round).resolve(site + "-" + nonceHex + ".part");
  }

  /**
   * Bytes written through the page cache between two forces behind an upload, so that completing
   * it has little left to force. Direct writes are on the disk already.
   */
  private static final long FLUSH_EVERY = 64 << 20;
  /** Chunks of one upload being written at once, behind its calls: what they hold beyond their own. */
  static final int WRITES_IN_FLIGHT = 4;

  /**
   * One upload's spool file, written at chunk positions: in order by one call, or in several runs
   * at once by the calls of a striped upload. The writes go on behind the calls, on a thread of the
   * file's own, one at a time in the order they were asked for (so a file written in order holds a
   * prefix of the update whenever the coordinator stops), up to {@link #WRITES_IN_FLIGHT} waiting;
   * {@link #awaitWrites}, {@link #complete}, {@link #suspend} and {@link #close} wait for them, and
   * a failed write is reported by the next call. Thread-safe.
   */
  public static final class Writer implements AutoCloseable {
    private final Path partial;
    private final FileChannel channel;
    /** The same file opened for direct I/O, or null where its file system has none. */
    private final DirectWrites direct;
    /** Bytes written through the page cache since the last force; kept by the writing thread. */
    private long unflushed;
    private final SerialWorker writing = new SerialWorker("spool-write", WRITES_IN_FLIGHT);
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private volatile boolean holes;

    private Writer(Path partial, FileChannel channel, DirectWrites direct) {
      this.partial = partial;
      this.channel = channel;
      this.direct = direct;
    }

    /**
     * Writes {@code data} at byte {@code position}, behind the caller: the buffer must not change
     * afterwards. Waits while {@link #WRITES_IN_FLIGHT} writes are under way.
     *
     * @throws UncheckedIOException if an earlier write failed
     */
    public void write(long position, ByteBuffer data) {
      throwIfFailed();
      boolean queued = writing.submit(() -> {
        try {
          writeNow(position, data);
        } catch (IOException e) {
          failure.compareAndSet(null, e);
        } catch (RuntimeException e) {
          failure.compareAndSet(null, new IOException(e.getMessage(), e));
        }
      });
      if (!queued) {
        throw new IllegalStateException("spool file " + partial + " is closed");
      }
    }

    /**
     * Writes straight to the disk when the position and the bytes are whole blocks (as an update's
     * chunks but its last are), else through the page cache, forcing that now and then. On the
     * writing thread.
     */
    private void writeNow(long position, ByteBuffer data) throws IOException {
      if (direct != null && direct.takes(position, data)) {
        direct.write(position, data);
        return;
      }
      unflushed += data.remaining();
      for (long at = position; data.hasRemaining(); ) {
        at += channel.write(data, at);
      }
      if (unflushed >= FLUSH_EVERY) {
        unflushed = 0;
        channel.force(false);
      }
    }

    /** Waits for the writes under way. */
    void awaitWrites() {
      writing.awaitIdle();
    }

    private void throwIfFailed() {
      IOException failed = failure.get();
      if (failed != null) {
        throw new UncheckedIOException("cannot write spool file " + partial + ": " + failed.getMessage(), failed);
      }
    }

    /**
     * Says that bytes are about to be written past ones not written yet: until {@link #suspend} or
     * {@link #complete}, a coordinator that stops leaves a file that a resume may not trust.
     */
    public void expectHoles() {
      if (holes) {
        return;
      }
      try {
        Files.write(holes(partial), new byte[0]);
        holes = true;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot mark spool file " + partial + ": " + e.getMessage(), e);
      }
    }

    /** Waits for the writes, forces the data to disk and gives the file its final name; returns that path. */
    public Path complete() {
      awaitWrites();
      throwIfFailed();
      try {
        channel.force(true);
        closeDirect();
        channel.close();
        String name = partial.getFileName().toString();
        Path done = partial.resolveSibling(name.substring(0, name.length() - ".part".length()) + ".update");
        Path moved = Files.move(partial, done, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.deleteIfExists(holes(partial));
        return moved;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot complete spool file " + partial + ": " + e.getMessage(), e);
      }
    }

    /**
     * Keeps the first {@code keepBytes} bytes of an upload that broke off, forced to disk, so that
     * it can resume after them; or, if a write failed, drops the file, so that the upload starts
     * afresh.
     */
    public void suspend(long keepBytes) {
      awaitWrites();
      if (failure.get() != null) {
        // A chunk counted as written is not on disk: nothing here can be trusted for a resume.
        close();
        return;
      }
      try {
        if (channel.isOpen()) {
          closeDirect();
          channel.truncate(keepBytes);
          channel.force(true);
          channel.close();
          Files.deleteIfExists(holes(partial));
        }
      } catch (IOException ignored) {
        // Best effort: a resume checks every chunk it finds against its hash.
      }
    }

    private void closeDirect() throws IOException {
      writing.shutdown();
      if (direct != null) {
        direct.close();
      }
    }

    /** Drops an upload that did not complete. */
    @Override
    public void close() {
      awaitWrites();
      try {
        if (channel.isOpen()) {
          closeDirect();
          channel.close();
          Files.deleteIfExists(partial);
          Files.deleteIfExists(holes(partial));
        }
      } catch (IOException ignored) {
        // Best effort: a leftover .part file is never read.
      }
    }
  }
}
