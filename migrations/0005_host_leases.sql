-- Hosts say they are alive by renewing a lease; a run or queued run belongs to the lease of the
-- host that holds it, so liveness no longer rests on a process id (reused, or on another machine).
CREATE TABLE host_leases (
  id TEXT PRIMARY KEY,
  machine TEXT NOT NULL,
  pid INTEGER NOT NULL,
  -- 'cli', 'serve', 'electron', or a cluster host's own name
  kind TEXT NOT NULL,
  started_at REAL NOT NULL,
  -- seconds since the Unix epoch; the lease holds until renewed_at + ttl_s
  renewed_at REAL NOT NULL,
  ttl_s REAL NOT NULL
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN host_id TEXT;

-- Every job a host has started (training, evaluation, features, embeddings), so that what a job
-- reads (its dataset) is not removed under it by this host or another.
CREATE TABLE active_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  host_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  run_id INTEGER,
  dataset_id INTEGER,
  started_at REAL NOT NULL
);

CREATE INDEX active_jobs_dataset ON active_jobs (dataset_id);

-- The GPU the scheduler gave a training run (its index as nvidia-smi counts them), or NULL.
ALTER TABLE runs ADD COLUMN gpu INTEGER;
