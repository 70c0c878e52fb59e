package eu.hanse.coordinator.round;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.storage.CheckpointStore;
import eu.hanse.coordinator.storage.StateStore;
import java.nio.file.Path;
import java.time.Clock;

/**
 * What every job of one coordinator shares: its stores, its sites, its consortium, where progress
 * lines go, and facts about its server that jobs report.
 *
 * @param dataDir the coordinator's data directory; each job writes {@code jobs/<job>/status.json} under it
 * @param mutualTls whether the coordinator's server requires a client certificate on every
 *     connection, as its TLS context is configured
 */
public record JobContext(StateStore store, SiteSessions sessions, CheckpointStore checkpoints,
    CheckpointStore optimizerStates, ProgressPrinter progress, Path dataDir, Consortium consortium, Clock clock,
    boolean mutualTls) {}
