-- The SHA-256 of the weights an index's features came from: the checkpoint's kind and epoch do
-- not tell two checkpoints apart (a resumed run writes another epoch 5), and features of two
-- networks must never be compared. NULL for indexes built before it was recorded.
ALTER TABLE feature_indexes ADD COLUMN checkpoint_sha256 TEXT;

-- Metric series are downsampled in SQL, bucket by bucket: with the value in the index, a
-- bucket's lowest and highest points are found without reading the table.
DROP INDEX metrics_run_key;
CREATE INDEX metrics_run_key ON metrics (run_id, key, step, value);
