package eu.hanse.coordinator;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A committed checkpoint: a safetensors file named by the SHA-256 of its bytes.
 *
 * @param sha256 lower-case hex SHA-256 of the file
 * @param sizeBytes the file's size
 * @param round the round that committed it, 0 for the initial model
 * @param path where the file lies in the coordinator's store
 */
public record CheckpointRef(String sha256, long sizeBytes, long round, Path path) {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public CheckpointRef {
    if (!HEX.matcher(sha256).matches()) {
      throw new IllegalArgumentException("checkpoint id must be 64 lower-case hex digits, was " + sha256);
    }
  }

  /** True if {@code candidate} is syntactically a checkpoint id. */
  static boolean isId(String candidate) {
    return candidate != null && HEX.matcher(candidate).matches();
  }
}
