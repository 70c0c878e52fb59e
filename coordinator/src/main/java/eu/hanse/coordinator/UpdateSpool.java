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
 * acknowledged only after its spool file is forced to disk.
 */
final class UpdateSpool {
  private final Path directory;

  UpdateSpool(Path dataDir) {
    this.directory = dataDir.resolve("spool");
  }

  /** Opens a new spool file for one upload. */
  Writer open(JobId job, long round, String site, String nonceHex) {
    Path roundDir = directory.resolve(job.value()).resolve("round-" + round);
    try {
      Files.createDirectories(roundDir);
      Path file = roundDir.resolve(site + "-" + nonceHex + ".part");
      return new Writer(file, FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open spool file in " + roundDir + ": " + e.getMessage(), e);
    }
  }

  /** One upload's spool file. Used by one thread at a time (the upload's serialized callbacks). */
  static final class Writer implements AutoCloseable {
    private final Path partial;
    private final FileChannel channel;
    private long bytes;

    private Writer(Path partial, FileChannel channel) {
      this.partial = partial;
      this.channel = channel;
    }

    void write(ByteBuffer data) {
      try {
        while (data.hasRemaining()) {
          bytes += channel.write(data);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write spool file " + partial + ": " + e.getMessage(), e);
      }
    }

    long bytes() {
      return bytes;
    }

    /** Forces the data to disk and gives the file its final name; returns that path. */
    Path complete() {
      try {
        channel.force(true);
        channel.close();
        String name = partial.getFileName().toString();
        Path done = partial.resolveSibling(name.substring(0, name.length() - ".part".length()) + ".update");
        return Files.move(partial, done, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot complete spool file " + partial + ": " + e.getMessage(), e);
      }
    }

    /** Drops an upload that did not complete. */
    @Override
    public void close() {
      try {
        if (channel.isOpen()) {
          channel.close();
          Files.deleteIfExists(partial);
        }
      } catch (IOException ignored) {
        // Best effort: a leftover .part file is never read.
      }
    }
  }
}
