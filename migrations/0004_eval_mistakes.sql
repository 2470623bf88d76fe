-- The most confident wrong predictions of an evaluation (at most 48, rank 0 = most confident),
-- kept, like the confusion matrix, only for a run's best and newest evaluations.
CREATE TABLE evaluation_mistakes (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  rank INTEGER NOT NULL,
  image_idx INTEGER NOT NULL,
  label INTEGER NOT NULL,
  predicted INTEGER NOT NULL,
  -- softmax probability of the predicted class
  confidence REAL NOT NULL,
  PRIMARY KEY (evaluation_id, rank)
) WITHOUT ROWID;
