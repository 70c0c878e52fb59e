package eu.hanse.coordinator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Durable copies of incoming updates under {@code <data-dir>/spool/<job>/round-<r>/}. An update is
 * acknowledged only after its spool file is forced to disk. An upload that breaks off keeps its
 * {@code .part} file, so that the site can resume it where it stopped.
 */
final class UpdateSpool {
  private final Path directory;

  UpdateSpool(Path dataDir) {
    this.directory = dataDir.resolve("spool");
  }

  /** Opens a new spool file for one upload. */
  Writer open(JobId job, long round, String site, String nonceHex) {
    Path file = partial(job, round, site, nonceHex);
    try {
      Files.createDirectories(file.getParent());
      return new Writer(file, FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open spool file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reopens an interrupted upload's spool file to go on after its first {@code keepBytes} bytes
   * (anything after them, a chunk cut short or the runs of a striped upload, is dropped).
   */
  Writer resume(JobId job, long round, String site, String nonceHex, long keepBytes) {
    Path file = partial(job, round, site, nonceHex);
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
      channel.truncate(keepBytes);
      channel.force(true);
      Files.deleteIfExists(holes(file));
      return new Writer(file, channel);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot reopen spool file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The bytes an interrupted upload left on disk, forced there first; 0 if it left none, or if it
   * may have holes (a striped upload the coordinator stopped in the middle of).
   */
  long heldBytes(JobId job, long round, String site, String nonceHex) {
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
  Path partial(JobId job, long round, String site, String nonceHex) {
    return directory.resolve(job.value()).resolve("round-" + round).resolve(site + "-" + nonceHex + ".part");
  }

  /** Forces spool files to disk behind their uploads, so that completing one has little left to force. */
  private static final java.util.concurrent.ExecutorService FLUSHER =
      java.util.concurrent.Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("spool-flush").factory());
  /** Bytes written between two flushes behind an upload. */
  private static final long FLUSH_EVERY = 64 << 20;

  /**
   * One upload's spool file, written at chunk positions: in order by one call, or in several runs
   * at once by the calls of a striped upload. Thread-safe.
   */
  static final class Writer implements AutoCloseable {
    private final Path partial;
    private final FileChannel channel;
    private final java.util.concurrent.atomic.AtomicLong unflushed = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean holes;

    private Writer(Path partial, FileChannel channel) {
      this.partial = partial;
      this.channel = channel;
    }

    /** Writes {@code data} at byte {@code position}. */
    void write(long position, ByteBuffer data) {
      try {
        long at = position;
        while (data.hasRemaining()) {
          at += channel.write(data, at);
        }
        if (unflushed.addAndGet(at - position) >= FLUSH_EVERY) {
          unflushed.set(0);
          FLUSHER.execute(this::flushBehind);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write spool file " + partial + ": " + e.getMessage(), e);
      }
    }

    /**
     * Says that bytes are about to be written past ones not written yet: until {@link #suspend} or
     * {@link #complete}, a coordinator that stops leaves a file that a resume may not trust.
     */
    void expectHoles() {
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

    /** Forces what is written so far, while the upload goes on; {@link #complete} forces the rest. */
    private void flushBehind() {
      try {
        if (channel.isOpen()) {
          channel.force(false);
        }
      } catch (IOException e) {
        // Closed meanwhile, or failed: the final force reports what matters; this one only gets ahead of it.
      }
    }

    /** Forces the data to disk and gives the file its final name; returns that path. */
    Path complete() {
      try {
        channel.force(true);
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
     * it can resume after them.
     */
    void suspend(long keepBytes) {
      try {
        if (channel.isOpen()) {
          channel.truncate(keepBytes);
          channel.force(true);
          channel.close();
          Files.deleteIfExists(holes(partial));
        }
      } catch (IOException ignored) {
        // Best effort: a resume checks every chunk it finds against its hash.
      }
    }

    /** Drops an upload that did not complete. */
    @Override
    public void close() {
      try {
        if (channel.isOpen()) {
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
