package eu.hanse.agent;

import java.util.List;

/**
 * A checkpoint as the coordinator names it: its content address and size, its job and round, and
 * the lineage (parent, updates) its consortium signature covers.
 */
record CheckpointAddress(String job, long round, String sha256, long sizeBytes, String parentSha256,
    List<String> updateIds, byte[] signature) {
  CheckpointAddress {
    updateIds = List.copyOf(updateIds);
  }
}
