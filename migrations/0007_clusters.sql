-- Slurm cluster profiles (svw cluster add): where and with what resources `--on NAME` sends jobs.
CREATE TABLE clusters (
  name TEXT PRIMARY KEY,
  partition TEXT NOT NULL,
  -- sbatch's --gres, --cpus-per-task, --mem, --time and --account; NULL leaves Slurm's default
  gres TEXT,
  cpus INTEGER,
  mem TEXT,
  time_limit TEXT,
  account TEXT,
  -- a folder on the file system the compute nodes share: job scripts, payloads, event files, logs
  spool TEXT NOT NULL,
  -- how often a preempted, timed-out or node-failed run is resubmitted to resume
  max_resubmits INTEGER NOT NULL DEFAULT 2,
  created_at TEXT NOT NULL
) WITHOUT ROWID;

-- One row per job sent to a cluster; a resubmission is a row of its own. A job's worker writes
-- its messages to an event file in the spool; the host writes each to the database in the same
-- transaction as the offset after it, so a host that restarts resumes exactly where it stopped.
CREATE TABLE cluster_jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  cluster TEXT NOT NULL,
  -- train, eval or features
  kind TEXT NOT NULL,
  -- 1, then 2, 3… for the automatic resubmissions after an interruption
  attempt INTEGER NOT NULL,
  -- the submission's folder in the spool, and the job's index in its array (0 for a lone job)
  dir TEXT NOT NULL,
  task INTEGER NOT NULL,
  -- '1234', or '1234_2' for a task of a job array; NULL until sbatch has answered
  slurm_job_id TEXT,
  -- the last Slurm state seen (SUBMITTING before sbatch answers), its reason, the node, exit code
  state TEXT NOT NULL,
  reason TEXT,
  node TEXT,
  exit_code TEXT,
  events_offset INTEGER NOT NULL DEFAULT 0,
  events_line INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  -- the lease of the host following the job (see host_leases); when it lapses, another host
  -- that opens the workbench takes the job over where the event file was left
  host_id TEXT,
  -- seconds since the Unix epoch; ended_at is set when the job's outcome has been written
  submitted_at REAL NOT NULL,
  ended_at REAL
);

CREATE INDEX cluster_jobs_run ON cluster_jobs (run_id, id);
CREATE INDEX cluster_jobs_open ON cluster_jobs (ended_at, cluster);

-- Where a run ran: the cluster profile (NULL on the workbench's own machine) and the node.
ALTER TABLE runs ADD COLUMN cluster TEXT;
ALTER TABLE runs ADD COLUMN node TEXT;
