package eu.hanse.coordinator.storage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import java.nio.file.Path;
import java.sql.Connection;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The coordinator's state in one SQLite file, {@code <data-dir>/state.db}: jobs, committed
 * checkpoints with their lineage, round records, the accepted updates of open rounds, and every
 * update nonce seen. The database runs in WAL mode with {@code synchronous=FULL}, so a call that
 * returned has reached the disk: the coordinator acknowledges an update only after
 * {@link #acceptUpdate} returns, and a round's commit (checkpoint, record, its updates applied) is
 * one transaction. Model data lives in files (the content-addressed checkpoint store and the
 * spool); the database holds their names.
 *
 * <p>Thread-safe: one connection, one caller at a time.
 */
public final class StateStore implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The newest schema this Hanse knows: its last migration's version. */
  private static final int SCHEMA_VERSION = 2;
  private static final String MIGRATIONS = "classpath:eu/hanse/coordinator/storage/migration";

  private final Path file;
  private final Connection connection;

  /** A stored job: its file's text, its state, and whether a lead paused it. */
  public record StoredJob(String id, String definition, String state, boolean paused, String reason, String submittedBy,
      long submittedAtMillis) {}

  /** A committed checkpoint's row: what {@link CheckpointRef} needs, plus the optimizer state beside it. */
  public record StoredCheckpoint(String job, long round, String sha256, long sizeBytes, String parent, List<String> updateIds,
      byte[] signature, String optimizerState, Double heldOutLoss) {}

  /** An update accepted in an open round: durable, not yet applied. */
  public record StoredUpdate(String job, long round, String site, String updateId, String nonce, String spoolFile,
      long samples, double trainLoss, long bytes, double norm, long trainedFor, double deviceSeconds) {}

  private StateStore(Path file, Connection connection) {
    this.file = file;
    this.connection = connection;
  }

  public static StateStore open(Path dataDir) {
    Path file = dataDir.resolve("state.db");
    try {
      migrate(file);
      Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
      try (Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA journal_mode=WAL");
        statement.execute("PRAGMA synchronous=FULL");
        statement.execute("PRAGMA foreign_keys=ON");
        statement.execute("PRAGMA busy_timeout=10000");
      }
      return new StateStore(file, connection);
    } catch (SQLException | FlywayException e) {
      throw new IllegalStateException("cannot open the coordinator's state " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Brings the database to this Hanse's schema with Flyway, from the migrations under
   * {@code eu/hanse/coordinator/storage/migration} ({@code V<n>__<what>.sql}, never edited once
   * released). A state that a Hanse before the migrations wrote says its schema in SQLite's
   * {@code user_version}: Flyway starts from it. A state a newer Hanse wrote is refused.
   */
  private static void migrate(Path file) throws SQLException {
    int written;
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery("PRAGMA user_version")) {
      written = result.getInt(1);
    }
    requireKnown(file, written);
    Flyway flyway = Flyway.configure(StateStore.class.getClassLoader())
        .dataSource("jdbc:sqlite:" + file, null, null)
        .locations(MIGRATIONS)
        .baselineOnMigrate(written > 0)
        .baselineVersion(Integer.toString(Math.max(written, 1)))
        .load();
    MigrationInfo current = flyway.info().current();
    if (current != null && current.getVersion() != null) {
      requireKnown(file, Integer.parseInt(current.getVersion().getVersion()));
    }
    flyway.migrate();
  }

  private static void requireKnown(Path file, int schema) {
    if (schema > SCHEMA_VERSION) {
      throw new IllegalStateException(file + " was written by a newer Hanse (schema " + schema
          + "; this one reads up to " + SCHEMA_VERSION + ")");
    }
  }

  /** Adds a job; false if a job with that id exists already (nothing changes then). */
  public synchronized boolean addJob(String id, String definition, String submittedBy) {
    return update("INSERT OR IGNORE INTO jobs (id, definition, state, submitted_by, submitted_at) VALUES (?, ?, ?, ?, ?)",
        id, definition, JobStatus.RUNNING, submittedBy, System.currentTimeMillis()) == 1;
  }

  public synchronized Optional<StoredJob> job(String id) {
    return query("SELECT id, definition, state, paused, reason, submitted_by, submitted_at FROM jobs WHERE id = ?",
        StateStore::job, id).stream().findFirst();
  }

  /** Every job, in the order they were submitted. */
  public synchronized List<StoredJob> jobs() {
    return query("SELECT id, definition, state, paused, reason, submitted_by, submitted_at FROM jobs "
        + "ORDER BY submitted_at, id", StateStore::job);
  }

  private static StoredJob job(ResultSet row) throws SQLException {
    return new StoredJob(row.getString(1), row.getString(2), row.getString(3), row.getInt(4) != 0, row.getString(5),
        row.getString(6), row.getLong(7));
  }

  public synchronized void setJobState(String id, String state, String reason) {
    update("UPDATE jobs SET state = ?, reason = ? WHERE id = ?", state, reason, id);
  }

  public synchronized void setPaused(String id, boolean paused) {
    update("UPDATE jobs SET paused = ? WHERE id = ?", paused ? 1 : 0, id);
  }

  /** The job's initial checkpoint (round 0), before any round. */
  public synchronized void addInitial(StoredCheckpoint initial) {
    insertCheckpoint(initial);
  }

  /**
   * Commits a round in one transaction: its checkpoint, its record, and its accepted updates marked
   * applied, so that after a crash either all of it happened or none.
   */
  public synchronized void commitRound(StoredCheckpoint checkpoint, RoundRecord record) {
    inTransaction(() -> {
      insertCheckpoint(checkpoint);
      update("INSERT INTO rounds (job, round, record) VALUES (?, ?, ?)", checkpoint.job(), checkpoint.round(),
          json(record));
      update("UPDATE updates SET state = 'APPLIED' WHERE job = ? AND round = ? AND state = 'ACCEPTED'",
          checkpoint.job(), checkpoint.round());
    });
  }

  /** Sets the held-out loss of a committed checkpoint, once its evaluation is in. */
  public synchronized void setHeldOutLoss(String job, long round, double loss, RoundRecord record) {
    inTransaction(() -> {
      update("UPDATE checkpoints SET held_out_loss = ? WHERE job = ? AND round = ?", loss, job, round);
      if (record != null) {
        update("UPDATE rounds SET record = ? WHERE job = ? AND round = ?", json(record), job, round);
      }
    });
  }

  private void insertCheckpoint(StoredCheckpoint c) {
    update("INSERT INTO checkpoints (job, round, sha256, size_bytes, parent, update_ids, signature, optimizer_state, "
        + "held_out_loss) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", c.job(), c.round(), c.sha256(), c.sizeBytes(),
        c.parent(), String.join(",", c.updateIds()), c.signature(), c.optimizerState(), c.heldOutLoss());
  }

  /** The job's checkpoints, from the initial one (round 0) on. */
  public synchronized List<StoredCheckpoint> checkpoints(String job) {
    return query("SELECT job, round, sha256, size_bytes, parent, update_ids, signature, optimizer_state, held_out_loss "
        + "FROM checkpoints WHERE job = ? ORDER BY round", row -> new StoredCheckpoint(row.getString(1),
            row.getLong(2), row.getString(3), row.getLong(4), row.getString(5),
            row.getString(6).isEmpty() ? List.of() : List.of(row.getString(6).split(",")), row.getBytes(7),
            row.getString(8), (Double) row.getObject(9)), job);
  }

  /** The job's committed rounds' records, in order. */
  public synchronized List<RoundRecord> rounds(String job) {
    return query("SELECT record FROM rounds WHERE job = ? ORDER BY round",
        row -> read(row.getString(1), RoundRecord.class), job);
  }

  /** Records an update accepted in an open round, and its nonce; durable when this returns. */
  public synchronized void acceptUpdate(StoredUpdate u) {
    inTransaction(() -> {
      update("INSERT INTO updates (job, round, site, update_id, nonce, spool_file, samples, train_loss, bytes, norm, "
          + "trained_for, device_seconds, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ACCEPTED')", u.job(),
          u.round(), u.site(), u.updateId(), u.nonce(), u.spoolFile(), u.samples(), u.trainLoss(), u.bytes(), u.norm(),
          u.trainedFor(), u.deviceSeconds());
      update("INSERT OR IGNORE INTO nonces (job, site, nonce) VALUES (?, ?, ?)", u.job(), u.site(), u.nonce());
    });
  }

  /** The updates accepted, and not yet applied, in a job's round. */
  public synchronized List<StoredUpdate> acceptedUpdates(String job, long round) {
    return query("SELECT job, round, site, update_id, nonce, spool_file, samples, train_loss, bytes, norm, trained_for, "
        + "device_seconds FROM updates WHERE job = ? AND round = ? AND state = 'ACCEPTED' ORDER BY rowid",
        row -> new StoredUpdate(row.getString(1), row.getLong(2), row.getString(3), row.getString(4), row.getString(5),
            row.getString(6), row.getLong(7), row.getDouble(8), row.getLong(9), row.getDouble(10), row.getLong(11),
            row.getDouble(12)), job, round);
  }

  /** Device-seconds each site's accepted updates in a job took, as the sites reported them. */
  public synchronized java.util.Map<String, Double> deviceSeconds(String job) {
    java.util.Map<String, Double> used = new java.util.TreeMap<>();
    query("SELECT site, SUM(device_seconds) FROM updates WHERE job = ? AND state != 'DISCARDED' GROUP BY site",
        row -> used.merge(row.getString(1), row.getDouble(2), Double::sum), job);
    query("SELECT site, SUM(device_seconds) FROM failed_training WHERE job = ? GROUP BY site",
        row -> used.merge(row.getString(1), row.getDouble(2), Double::sum), job);
    return used;
  }

  /**
   * Records the device time a site's failed training run for a round took; false if that run was
   * recorded already (a report sent twice counts once; each failed attempt is a run of its own).
   */
  public synchronized boolean recordFailedTraining(String job, long round, String site, String run, double deviceSeconds) {
    return update("INSERT OR IGNORE INTO failed_training (job, round, site, run, device_seconds) VALUES (?, ?, ?, ?, ?)",
        job, round, site, run, deviceSeconds) == 1;
  }

  /** Takes an accepted update out of its round (its site was revoked before the round committed). */
  public synchronized void discardUpdate(String job, long round, String site) {
    update("UPDATE updates SET state = 'DISCARDED' WHERE job = ? AND round = ? AND site = ? AND state = 'ACCEPTED'",
        job, round, site);
  }

  /** Whether a site's update with this nonce was seen in the job before. */
  public synchronized boolean nonceSeen(String job, String site, String nonce) {
    return !query("SELECT 1 FROM nonces WHERE job = ? AND site = ? AND nonce = ?", row -> true, job, site, nonce)
        .isEmpty();
  }

  @Override
  public synchronized void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot close " + file + ": " + e.getMessage(), e);
    }
  }

  private interface RowReader<T> {
    T read(ResultSet row) throws SQLException;
  }

  private interface Work {
    void run() throws SQLException;
  }

  private void inTransaction(Work work) {
    try {
      connection.setAutoCommit(false);
      try {
        work.run();
        connection.commit();
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot write the coordinator's state " + file + ": " + e.getMessage(), e);
    }
  }

  private int update(String sql, Object... parameters) {
    try (PreparedStatement statement = prepare(sql, parameters)) {
      return statement.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot write the coordinator's state " + file + ": " + e.getMessage(), e);
    }
  }

  private <T> List<T> query(String sql, RowReader<T> reader, Object... parameters) {
    try (PreparedStatement statement = prepare(sql, parameters); ResultSet rows = statement.executeQuery()) {
      List<T> result = new ArrayList<>();
      while (rows.next()) {
        result.add(reader.read(rows));
      }
      return result;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the coordinator's state " + file + ": " + e.getMessage(), e);
    }
  }

  private PreparedStatement prepare(String sql, Object... parameters) throws SQLException {
    PreparedStatement statement = connection.prepareStatement(sql);
    for (int i = 0; i < parameters.length; i++) {
      statement.setObject(i + 1, parameters[i]);
    }
    return statement;
  }

  private static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static <T> T read(String json, Class<T> type) {
    try {
      return JSON.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a stored " + type.getSimpleName() + " cannot be read: " + e.getMessage(), e);
    }
  }
}
