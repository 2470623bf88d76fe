-- Chart reductions of the long metric series of runs that have ended, made once and read from
-- here: Compare reads a hundred runs' curves at once. Writing any metric of a run drops its rows.
CREATE TABLE series_cache (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  -- the most points the reduction keeps
  max_points INTEGER NOT NULL,
  -- how many points the series has
  total INTEGER NOT NULL,
  -- step, epoch, value and wall time of each point kept, as little-endian float64s
  points BLOB NOT NULL,
  PRIMARY KEY (run_id, key, max_points)
) WITHOUT ROWID;
