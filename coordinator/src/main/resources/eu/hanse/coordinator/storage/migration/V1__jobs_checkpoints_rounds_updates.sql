-- Schema 1: jobs, their committed checkpoints and rounds, the updates accepted in open rounds, and
-- the nonces of accepted updates.
CREATE TABLE jobs (
  id TEXT PRIMARY KEY, definition TEXT NOT NULL, state TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0,
  reason TEXT, submitted_by TEXT NOT NULL, submitted_at INTEGER NOT NULL);

CREATE TABLE checkpoints (
  job TEXT NOT NULL REFERENCES jobs(id), round INTEGER NOT NULL, sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL, parent TEXT NOT NULL, update_ids TEXT NOT NULL, signature BLOB NOT NULL,
  optimizer_state TEXT, held_out_loss REAL, PRIMARY KEY (job, round));

CREATE TABLE rounds (
  job TEXT NOT NULL REFERENCES jobs(id), round INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (job, round));

CREATE TABLE updates (
  job TEXT NOT NULL REFERENCES jobs(id), round INTEGER NOT NULL, site TEXT NOT NULL,
  update_id TEXT NOT NULL, nonce TEXT NOT NULL, spool_file TEXT NOT NULL, samples INTEGER NOT NULL,
  train_loss REAL NOT NULL, bytes INTEGER NOT NULL, norm REAL NOT NULL, trained_for INTEGER NOT NULL,
  device_seconds REAL NOT NULL,
  state TEXT NOT NULL,
  PRIMARY KEY (job, round, site));

CREATE TABLE nonces (
  job TEXT NOT NULL REFERENCES jobs(id), site TEXT NOT NULL, nonce TEXT NOT NULL,
  PRIMARY KEY (job, site, nonce));
