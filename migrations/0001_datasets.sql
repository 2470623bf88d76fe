-- Imported datasets: the decoded uint8 cache lives in datasets/<id>/ under the workbench home.
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  source_path TEXT NOT NULL,
  layout TEXT NOT NULL CHECK (layout IN ('imagefolder', 'split-folders', 'cifar10-binary')),
  image_size INTEGER NOT NULL CHECK (image_size > 0),
  class_count INTEGER NOT NULL CHECK (class_count >= 2),
  train_count INTEGER NOT NULL,
  val_count INTEGER NOT NULL,
  skipped_count INTEGER NOT NULL,
  val_split REAL,
  seed INTEGER NOT NULL,
  max_per_class INTEGER,
  -- sha256 over the sorted (relative path, size) list of the source files
  fingerprint TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE dataset_classes (
  dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  train_count INTEGER NOT NULL,
  val_count INTEGER NOT NULL,
  PRIMARY KEY (dataset_id, idx)
) WITHOUT ROWID;

-- One row per cached image; idx is its position in the cache file.
CREATE TABLE dataset_images (
  dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  split TEXT NOT NULL CHECK (split IN ('train', 'val')),
  label INTEGER NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (dataset_id, idx)
) WITHOUT ROWID;

CREATE INDEX dataset_images_split ON dataset_images (dataset_id, split, label);

CREATE TABLE dataset_skipped (
  dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT
);

CREATE INDEX dataset_skipped_dataset ON dataset_skipped (dataset_id);
