package eu.hanse.coordinator.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.job.SitePhases;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {
  @TempDir Path dir;

  private static final String SHA0 = "0".repeat(64);
  private static final String SHA1 = "1".repeat(64);

  private static StateStore.StoredUpdate update(String site, long round) {
    return new StateStore.StoredUpdate("pilot", round, site, "id-" + site, "nonce-" + site, "/spool/" + site, 100,
        1.5, 4000, 2.0, round, 1.5);
  }

  private static RoundRecord record(long round) {
    return new RoundRecord(round, "COMMITTED", List.of("alpha", "beta"), List.of(), SHA1, "/c/" + SHA1,
        Map.of("alpha", 1.5, "beta", 1.5), Map.of("alpha", 4000L, "beta", 4000L), null, 1.0, "weighted mean of 2",
        null, Map.of("alpha", new SitePhases(0.5, 3, 2, 0.25, 1, 0.125)), 0.75);
  }

  @Test
  void aRoundCommitsWithItsUpdatesAndEverythingSurvivesAReopen() {
    try (StateStore store = StateStore.open(dir)) {
      assertTrue(store.addJob("pilot", "job: pilot\n", "lead"));
      assertFalse(store.addJob("pilot", "job: pilot\nrounds: 3\n", "lead"), "an id is taken once");
      store.addInitial(new StateStore.StoredCheckpoint("pilot", 0, SHA0, 10, "", List.of(), new byte[] {1}, null, null));
      store.acceptUpdate(update("alpha", 1));
      store.acceptUpdate(update("beta", 1));
      assertTrue(store.nonceSeen("pilot", "alpha", "nonce-alpha"));
      assertFalse(store.nonceSeen("pilot", "beta", "nonce-alpha"), "nonces are per site");
      assertEquals(List.of("alpha", "beta"), store.acceptedUpdates("pilot", 1).stream()
          .map(StateStore.StoredUpdate::site).toList());
    }
    try (StateStore store = StateStore.open(dir)) {
      assertEquals(List.of(update("alpha", 1), update("beta", 1)), store.acceptedUpdates("pilot", 1),
          "accepted updates survive a restart");
      store.commitRound(new StateStore.StoredCheckpoint("pilot", 1, SHA1, 11, SHA0, List.of("id-alpha", "id-beta"),
          new byte[] {2, 3}, "f".repeat(64), null), record(1));
      assertEquals(List.of(), store.acceptedUpdates("pilot", 1), "a committed round's updates are applied");
      store.setHeldOutLoss("pilot", 1, 2.5, null);
    }
    try (StateStore store = StateStore.open(dir)) {
      List<StateStore.StoredCheckpoint> checkpoints = store.checkpoints("pilot");
      assertEquals(List.of(0L, 1L), checkpoints.stream().map(StateStore.StoredCheckpoint::round).toList());
      assertEquals(List.of("id-alpha", "id-beta"), checkpoints.get(1).updateIds());
      assertArrayEquals(new byte[] {2, 3}, checkpoints.get(1).signature());
      assertEquals(2.5, checkpoints.get(1).heldOutLoss());
      assertEquals(List.of(record(1)), store.rounds("pilot"));
      assertEquals("job: pilot\n", store.job("pilot").orElseThrow().definition());
      assertEquals(Map.of("alpha", 1.5, "beta", 1.5), store.deviceSeconds("pilot"));
    }
  }

  @Test
  void aCommitThatFailsLeavesTheRoundOpen() {
    try (StateStore store = StateStore.open(dir)) {
      store.addJob("pilot", "job: pilot\n", "lead");
      store.addInitial(new StateStore.StoredCheckpoint("pilot", 0, SHA0, 10, "", List.of(), new byte[0], null, null));
      store.acceptUpdate(update("alpha", 1));
      store.commitRound(new StateStore.StoredCheckpoint("pilot", 1, SHA1, 11, SHA0, List.of(), new byte[0], null,
          null), record(1));
      store.acceptUpdate(update("alpha", 2));
      // A stray row for round 2 (written behind the store's back): round 2's checkpoint goes in, then its
      // record clashes, and all of the commit is rolled back.
      try (var connection = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
          var statement = connection.createStatement()) {
        statement.execute("INSERT INTO rounds (job, round, record) VALUES ('pilot', 2, '{}')");
      } catch (java.sql.SQLException e) {
        throw new AssertionError(e);
      }
      assertThrows(IllegalStateException.class, () -> store.commitRound(new StateStore.StoredCheckpoint("pilot", 2,
          "2".repeat(64), 11, SHA1, List.of(), new byte[0], null, null), record(2)));
      assertEquals(List.of(0L, 1L), store.checkpoints("pilot").stream().map(StateStore.StoredCheckpoint::round).toList());
      assertEquals(1, store.acceptedUpdates("pilot", 2).size(), "round 2's update is still accepted, not applied");
    }
  }

  @Test
  void aStateFromANewerHanseIsRefused() throws Exception {
    StateStore.open(dir).close();
    try (var connection = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
        var statement = connection.createStatement()) {
      // What a Hanse with a third migration leaves in Flyway's history.
      statement.execute("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, "
          + "checksum, installed_by, execution_time, success) VALUES (3, '3', 'from the future', 'SQL', "
          + "'V3__from_the_future.sql', 0, '', 0, 1)");
    }
    IllegalStateException error = assertThrows(IllegalStateException.class, () -> StateStore.open(dir));
    assertTrue(error.getMessage().contains("written by a newer Hanse (schema 3; this one reads up to 2)"),
        error.getMessage());

    Path legacy = dir.resolve("legacy");
    java.nio.file.Files.createDirectories(legacy);
    try (var connection = DriverManager.getConnection("jdbc:sqlite:" + legacy.resolve("state.db"));
        var statement = connection.createStatement()) {
      statement.execute("PRAGMA user_version=99");
    }
    IllegalStateException older = assertThrows(IllegalStateException.class, () -> StateStore.open(legacy));
    assertTrue(older.getMessage().contains("written by a newer Hanse (schema 99"), older.getMessage());
  }

  @Test
  void failedTrainingCountsAgainstTheBudgetOncePerRun() {
    try (StateStore store = StateStore.open(dir)) {
      store.addJob("pilot", "job: pilot\n", "lead");
      store.acceptUpdate(update("alpha", 1));
      assertTrue(store.recordFailedTraining("pilot", 2, "alpha", "run-a", 7200));
      assertFalse(store.recordFailedTraining("pilot", 2, "alpha", "run-a", 7200), "a report sent twice counts once");
      assertTrue(store.recordFailedTraining("pilot", 2, "alpha", "run-b", 100), "a second attempt counts too");
      assertTrue(store.recordFailedTraining("pilot", 2, "beta", "run-a", 60));
      assertEquals(Map.of("alpha", 7301.5, "beta", 60.0), store.deviceSeconds("pilot"));
    }
  }

  @Test
  void aStateWrittenBeforeFailedTrainingWasKeptIsUpgradedInPlace() throws Exception {
    try (StateStore store = StateStore.open(dir)) {
      store.addJob("pilot", "job: pilot\n", "lead");
      store.acceptUpdate(update("alpha", 1));
    }
    try (var connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
        var statement = connection.createStatement()) {
      // As a Hanse before the migrations left schema 1: no failed_training, no history, the schema in user_version.
      statement.execute("DROP TABLE failed_training");
      statement.execute("DROP TABLE flyway_schema_history");
      statement.execute("PRAGMA user_version=1");
    }
    try (StateStore store = StateStore.open(dir)) {
      assertEquals(Map.of("alpha", 1.5), store.deviceSeconds("pilot"), "what schema 1 held is still there");
      assertTrue(store.recordFailedTraining("pilot", 2, "alpha", "run-a", 10));
      assertEquals(Map.of("alpha", 11.5), store.deviceSeconds("pilot"));
    }
  }
}
