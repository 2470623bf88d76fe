-- fc7 feature indexes for nearest-neighbour retrieval: a float32 (or float16) .npy matrix
-- [count, dims] in the run's folder, with the dataset image ids of its rows in a JSON file.
CREATE TABLE feature_indexes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  checkpoint TEXT NOT NULL CHECK (checkpoint IN ('best', 'last')),
  checkpoint_epoch INTEGER NOT NULL,
  split TEXT NOT NULL CHECK (split IN ('train', 'val', 'all')),
  count INTEGER NOT NULL,
  dims INTEGER NOT NULL,
  dtype TEXT NOT NULL CHECK (dtype IN ('float32', 'float16')),
  path TEXT NOT NULL,
  ids_path TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (run_id, checkpoint, split)
);
