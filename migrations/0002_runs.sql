-- Experiments group runs; a run is one training job and everything it produced.
CREATE TABLE experiments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id),
  name TEXT NOT NULL,
  dataset_id INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
  preset TEXT NOT NULL,
  status TEXT NOT NULL CHECK (
    status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')
  ),
  created_at TEXT NOT NULL,
  started_at TEXT,
  ended_at TEXT,
  error TEXT,
  error_stack TEXT,
  -- the engine the run used: ladder rung, tfjs package and version, device detail
  backend TEXT,
  engine_package TEXT,
  engine_version TEXT,
  device TEXT,
  seed INTEGER NOT NULL,
  config_hash TEXT NOT NULL,
  -- the full run config (model, optimiser, schedule, data) as JSON
  config TEXT NOT NULL,
  host_pid INTEGER,
  worker_pid INTEGER,
  epochs_done INTEGER NOT NULL DEFAULT 0,
  epochs_total INTEGER NOT NULL
);

CREATE INDEX runs_experiment ON runs (experiment_id, id);
CREATE INDEX runs_status ON runs (status);

-- Every hyperparameter, flattened (model.lrn.k, optim.lr, ...); num is set when the value is numeric.
CREATE TABLE params (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  num REAL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE INDEX params_key ON params (key, num);

CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  step INTEGER NOT NULL,
  epoch REAL NOT NULL,
  value REAL NOT NULL,
  -- seconds since the Unix epoch
  wall_time REAL NOT NULL
);

CREATE INDEX metrics_run_key ON metrics (run_id, key, step);

-- The newest value of each metric per run, with its best (min and max), for fast run lists.
CREATE TABLE latest_metrics (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value REAL NOT NULL,
  step INTEGER NOT NULL,
  epoch REAL NOT NULL,
  min_value REAL NOT NULL,
  max_value REAL NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE INDEX latest_metrics_key ON latest_metrics (key, value);

-- One row per evaluation. Per-class arrays are little-endian BLOBs: float32 errors and int32
-- counts [classes]; the confusion matrix is sparse int32 triples (true, predicted, count) and is
-- kept only for the best and the last evaluation of a run.
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL,
  step INTEGER NOT NULL,
  split TEXT NOT NULL CHECK (split IN ('train', 'val')),
  ten_crop INTEGER NOT NULL DEFAULT 0,
  checkpoint TEXT,
  images INTEGER NOT NULL,
  loss REAL,
  top1_error REAL NOT NULL,
  top5_error REAL NOT NULL,
  per_class_error BLOB NOT NULL,
  per_class_count BLOB NOT NULL,
  confusion BLOB,
  created_at TEXT NOT NULL
);

CREATE INDEX evaluations_run ON evaluations (run_id, id);

CREATE TABLE checkpoints (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('last', 'best')),
  epoch INTEGER NOT NULL,
  step INTEGER NOT NULL,
  path TEXT NOT NULL,
  -- the validation top-1 error at this checkpoint, when one was measured
  val_top1_error REAL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, kind)
) WITHOUT ROWID;

CREATE TABLE tags (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE notes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE INDEX notes_run ON notes (run_id);

CREATE TABLE run_logs (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  time REAL NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  message TEXT NOT NULL
);

CREATE INDEX run_logs_run ON run_logs (run_id, time);
