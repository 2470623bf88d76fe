-- Dataset versions: relabelled or excluded images, made from a run's review of its data. Version 1
-- is the dataset as imported and has no row; each later version lists every change it makes to
-- version 1 (not only those against its parent), so the images of a version are one lookup. The
-- cached pixels are shared by every version.
CREATE TABLE dataset_versions (
  dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  version INTEGER NOT NULL CHECK (version >= 2),
  parent INTEGER NOT NULL CHECK (parent >= 1 AND parent < version),
  note TEXT NOT NULL DEFAULT '',
  -- the run whose review made it, when one did
  source_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (dataset_id, version)
) WITHOUT ROWID;

CREATE TABLE dataset_version_changes (
  dataset_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  image_idx INTEGER NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('relabel', 'exclude')),
  -- the image's label in this version (relabel), NULL when excluded
  label INTEGER,
  PRIMARY KEY (dataset_id, version, image_idx),
  FOREIGN KEY (dataset_id, version) REFERENCES dataset_versions (dataset_id, version) ON DELETE CASCADE,
  CHECK ((action = 'relabel') = (label IS NOT NULL))
) WITHOUT ROWID;

-- The version of its dataset a run trains and is evaluated on.
ALTER TABLE runs ADD COLUMN dataset_version INTEGER NOT NULL DEFAULT 1;
