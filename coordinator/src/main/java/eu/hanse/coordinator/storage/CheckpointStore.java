package eu.hanse.coordinator.storage;

import eu.hanse.model.ModelSource;
import eu.hanse.model.SafetensorsWriter;
import eu.hanse.model.TensorSpec;
import eu.hanse.security.Digests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Content-addressed checkpoint files under {@code <data-dir>/checkpoints}: each committed checkpoint
 * is {@code <sha256>.safetensors}, written to a temporary file, forced to disk and renamed, so a
 * file with a checkpoint's name is always whole.
 *
 * <p>Thread-safe: files are immutable once named.
 */
public final class CheckpointStore {
  private final Path directory;

  public CheckpointStore(Path dataDir) {
    this(dataDir, "checkpoints");
  }

  /** A store in {@code <data-dir>/<name>}: the outer optimizers' states live beside the checkpoints. */
  public CheckpointStore(Path dataDir, String name) {
    this.directory = dataDir.resolve(name);
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create checkpoint store " + directory, e);
    }
  }

  /** Writes the model durably, a block at a time, and returns its content address. */
  public CheckpointRef commit(ModelSource model, long round) {
    try (Pending pending = begin(model.specs(), model.metadata())) {
      pending.writer().writeAll(model.values());
      return pending.finish(round);
    }
  }

  /** Starts a file of this layout, to be filled through {@link Pending#writer()} and then named by its hash. */
  public Pending begin(List<TensorSpec> specs, Map<String, String> metadata) {
    try {
      Path temporary = Files.createTempFile(directory, "commit-", ".part");
      return new Pending(temporary, new SafetensorsWriter(temporary, specs, metadata));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a checkpoint in " + directory + ": " + e.getMessage(), e);
    }
  }

  /** A file being written; closed unfinished, it is deleted. */
  public final class Pending implements AutoCloseable {
    private final Path temporary;
    private final SafetensorsWriter writer;
    private boolean finished;

    private Pending(Path temporary, SafetensorsWriter writer) {
      this.temporary = temporary;
      this.writer = writer;
    }

    public SafetensorsWriter writer() {
      return writer;
    }

    /** Forces the file to disk and names it by the SHA-256 of its bytes. */
    public CheckpointRef finish(long round) {
      writer.finish();
      writer.close();
      try {
        String sha = Digests.sha256Hex(temporary);
        Path target = directory.resolve(sha + ".safetensors");
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        forceDirectory();
        finished = true;
        return CheckpointRef.unsealed(sha, Files.size(target), round, target);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot commit checkpoint of round " + round + ": " + e.getMessage(), e);
      }
    }

    @Override
    public void close() {
      if (!finished) {
        writer.close();
        try {
          Files.deleteIfExists(temporary);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot delete " + temporary + ": " + e.getMessage(), e);
        }
      }
    }
  }

  /** The file of a committed checkpoint, if this store has it. */
  public Optional<Path> find(String sha256) {
    if (!CheckpointRef.isId(sha256)) {
      return Optional.empty();
    }
    Path file = directory.resolve(sha256 + ".safetensors");
    return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
  }

  private void forceDirectory() {
    // Makes the rename durable; some file systems refuse to open a directory, which is harmless.
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException ignored) {
      // Not supported here: the rename is still atomic, only its durability is up to the OS.
    }
  }
}
