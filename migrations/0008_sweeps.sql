-- Sweeps: runs searched together, as one object with its own page. A grid of values, a random
-- search over ranges, either of them with ASHA's early stopping, or the paper's ablation study.
CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('grid', 'random', 'asha', 'ablation')),
  experiment_id INTEGER NOT NULL REFERENCES experiments (id),
  dataset_id INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
  preset TEXT NOT NULL,
  -- the request as JSON: base settings, the space, trials, seed, ASHA's settings or the variants
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  cancelled_at TEXT
);

-- The runs table again, rebuilt because SQLite cannot change a CHECK constraint in place: a run
-- may now end 'pruned' (stopped early by its sweep), and names its sweep and its place in it.
-- Every column of the table as 0001–0007 left it is kept, in the same order.
-- The migration runner turns foreign keys off around migrations, so dropping the old table
-- cascades nothing; every row is copied as it is.
CREATE TABLE runs_rebuilt (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id),
  name TEXT NOT NULL,
  dataset_id INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
  preset TEXT NOT NULL,
  status TEXT NOT NULL CHECK (
    status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted', 'pruned')
  ),
  created_at TEXT NOT NULL,
  started_at TEXT,
  ended_at TEXT,
  -- why the run failed, or why its sweep pruned it
  error TEXT,
  error_stack TEXT,
  backend TEXT,
  engine_package TEXT,
  engine_version TEXT,
  device TEXT,
  seed INTEGER NOT NULL,
  config_hash TEXT NOT NULL,
  config TEXT NOT NULL,
  host_pid INTEGER,
  worker_pid INTEGER,
  epochs_done INTEGER NOT NULL DEFAULT 0,
  epochs_total INTEGER NOT NULL,
  host_id TEXT,
  gpu INTEGER,
  cluster TEXT,
  node TEXT,
  sweep_id INTEGER REFERENCES sweeps (id) ON DELETE SET NULL,
  -- the trial's number in its sweep, or the ablation variant it belongs to
  sweep_trial TEXT
);

INSERT INTO runs_rebuilt (id, experiment_id, name, dataset_id, preset, status, created_at, started_at,
  ended_at, error, error_stack, backend, engine_package, engine_version, device, seed, config_hash,
  config, host_pid, worker_pid, epochs_done, epochs_total, host_id, gpu, cluster, node)
SELECT id, experiment_id, name, dataset_id, preset, status, created_at, started_at, ended_at, error,
  error_stack, backend, engine_package, engine_version, device, seed, config_hash, config, host_pid,
  worker_pid, epochs_done, epochs_total, host_id, gpu, cluster, node
FROM runs;

DROP TABLE runs;
ALTER TABLE runs_rebuilt RENAME TO runs;
CREATE INDEX runs_experiment ON runs (experiment_id, id);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_sweep ON runs (sweep_id) WHERE sweep_id IS NOT NULL;

-- ASHA's record: the metric each run reached at each rung it got to, the rung's cutoff when it
-- arrived, and whether it went on or was pruned. Decisions are made by the host that ingests the
-- run's metrics, from these rows, so they outlive any host.
CREATE TABLE sweep_rungs (
  sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  rung INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  value REAL NOT NULL,
  cutoff REAL NOT NULL,
  pruned INTEGER NOT NULL CHECK (pruned IN (0, 1)),
  -- seconds since the Unix epoch
  decided_at REAL NOT NULL,
  PRIMARY KEY (sweep_id, rung, run_id)
) WITHOUT ROWID;

-- A page of the runs list sorted by a metric's best walks one of these in order (see
-- core/store/run-list.ts); the newest value's index is latest_metrics_key.
CREATE INDEX latest_metrics_min ON latest_metrics (key, min_value);
CREATE INDEX latest_metrics_max ON latest_metrics (key, max_value);
