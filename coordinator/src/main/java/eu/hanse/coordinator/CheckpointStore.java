package eu.hanse.coordinator;

import eu.hanse.aggregation.ModelState;
import eu.hanse.aggregation.Safetensors;
import eu.hanse.security.Digests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Content-addressed checkpoint files under {@code <data-dir>/checkpoints}: each committed checkpoint
 * is {@code <sha256>.safetensors}, written to a temporary file, forced to disk and renamed, so a
 * file with a checkpoint's name is always whole.
 *
 * <p>Thread-safe: files are immutable once named.
 */
final class CheckpointStore {
  private final Path directory;

  CheckpointStore(Path dataDir) {
    this(dataDir, "checkpoints");
  }

  /** A store in {@code <data-dir>/<name>}: the outer optimizers' states live beside the checkpoints. */
  CheckpointStore(Path dataDir, String name) {
    this.directory = dataDir.resolve(name);
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create checkpoint store " + directory, e);
    }
  }

  /** Writes the state durably and returns its content address. */
  CheckpointRef commit(ModelState state, long round) {
    try {
      Path temporary = Files.createTempFile(directory, "commit-", ".part");
      Safetensors.write(state, temporary);
      String sha = Digests.sha256Hex(temporary);
      Path target = directory.resolve(sha + ".safetensors");
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      forceDirectory();
      return CheckpointRef.unsealed(sha, Files.size(target), round, target);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit checkpoint of round " + round + ": " + e.getMessage(), e);
    }
  }

  /** Writes an outer optimizer's state durably; returns its content address. */
  String commitState(java.util.Map<String, float[]> state) {
    java.util.List<String> names = state.keySet().stream().sorted().toList();
    ModelState tensors = new ModelState(
        names.stream().map(name -> eu.hanse.aggregation.TensorSpec.of(name, state.get(name).length)).toList(),
        names.stream().map(state::get).toList(), java.util.Map.of());
    return commit(tensors, -1).sha256();
  }

  /** An optimizer state {@link #commitState} wrote. */
  java.util.Map<String, float[]> readState(String sha256) {
    Path file = find(sha256).orElseThrow(() -> new IllegalStateException("optimizer state " + sha256
        + " is missing from " + directory));
    ModelState tensors = Safetensors.read(file);
    java.util.Map<String, float[]> state = new java.util.HashMap<>();
    for (int t = 0; t < tensors.tensorCount(); t++) {
      state.put(tensors.specs().get(t).name(), tensors.data(t));
    }
    return state;
  }

  /** The file of a committed checkpoint, if this store has it. */
  Optional<Path> find(String sha256) {
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
