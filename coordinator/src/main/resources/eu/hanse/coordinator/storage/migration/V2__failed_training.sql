-- Schema 2: the device time of training that failed, which counts against a site's budget too.
CREATE TABLE failed_training (
  job TEXT NOT NULL REFERENCES jobs(id), round INTEGER NOT NULL, site TEXT NOT NULL, run TEXT NOT NULL,
  device_seconds REAL NOT NULL, PRIMARY KEY (job, round, site, run));
