package eu.hanse.coordinator.storage;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A committed checkpoint: a safetensors file named by the SHA-256 of its bytes.
 *
 * @param sha256 lower-case hex SHA-256 of the file
 * @param sizeBytes the file's size
 * @param round the round that committed it, 0 for the initial model
 * @param path where the file lies in the coordinator's store
 * @param jobId the job that committed it
 * @param parentSha256 the checkpoint it was computed from; empty for an initial one
 * @param updateIds the updates folded into it, in fold order: its lineage
 * @param signature the consortium's Ed25519 signature over these claims; empty until sealed
 */
public record CheckpointRef(String sha256, long sizeBytes, long round, Path path, String jobId, String parentSha256,
    java.util.List<String> updateIds, byte[] signature) {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public CheckpointRef {
    if (!HEX.matcher(sha256).matches()) {
      throw new IllegalArgumentException("checkpoint id must be 64 lower-case hex digits, was " + sha256);
    }
    updateIds = java.util.List.copyOf(updateIds);
    signature = signature.clone();
  }

  /** An unsealed reference to a file just written. */
  public static CheckpointRef unsealed(String sha256, long sizeBytes, long round, Path path) {
    return new CheckpointRef(sha256, sizeBytes, round, path, "", "", java.util.List.of(), new byte[0]);
  }

  /** The claims the consortium signs for this checkpoint. */
  public eu.hanse.security.CheckpointClaims claims(String job, String parent, java.util.List<String> updates) {
    return new eu.hanse.security.CheckpointClaims(job, round, sha256, parent, updates);
  }

  /** This reference with its lineage and the consortium's signature. */
  public CheckpointRef sealed(String job, String parent, java.util.List<String> updates, byte[] sealSignature) {
    return new CheckpointRef(sha256, sizeBytes, round, path, job, parent, updates, sealSignature);
  }

  @Override
  public byte[] signature() {
    return signature.clone();
  }

  /** True if {@code candidate} is syntactically a checkpoint id. */
  static boolean isId(String candidate) {
    return candidate != null && HEX.matcher(candidate).matches();
  }
}
