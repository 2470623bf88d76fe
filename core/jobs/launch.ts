import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireReadableImages } from '../data/probe.js';
import { findCluster } from '../store/clusters.js';
import { findDataset } from '../store/datasets.js';
import { discardAfterEpoch, getRun, type RunRow } from '../store/runs.js';
import type { Workbench } from '../store/workbench.js';
import { checkpointEpoch, resolveCheckpoint, type CheckpointKind } from '../train/checkpoint.js';
import { transaction } from '../store/db.js';
import { checkAgainstDataset } from '../train/prepare.js';
import { AUTO_THREADS, checkThreads, resolveThreads } from '../train/threads.js';
import { jobsOnMachine } from '../store/active-jobs.js';
import { validateRunConfig } from '../schema/run-config.js';
import { NotFoundError, RefusedError, UserError } from '../util/errors.js';
import type { JobHost } from './host.js';
import { requireCurrentGallery, requireSameNetwork } from '../retrieval/query.js';
import type { FeatureIndexRow } from '../store/indexes.js';
import { datasetPayload } from './payload.js';
import { RunningJob, type JobOptions } from './run-job.js';

export function requireRun(wb: Workbench, id: string | number): RunRow {
  const runId = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : NaN;
  const run = Number.isFinite(runId) ? getRun(wb.db, runId) : undefined;
  if (!run) throw new NotFoundError(`no run '${id}'`, 'svw runs list shows the runs');
  return run;
}

/** A run's validated config and the payload of its dataset version, for a job. */
export function runInputs(wb: Workbench, run: RunRow) {
  if (run.datasetId === null) throw new UserError(`run ${run.id}'s dataset has been removed`);
  const dataset = findDataset(wb.db, run.datasetId)!;
  const payload = datasetPayload(wb.db, wb.paths, run.datasetId, run.datasetVersion);
  const config = checkAgainstDataset(validateRunConfig(JSON.parse(run.config)), {
    ...dataset,
    trainCount: payload.trainIdx.length,
  });
  return { config, dataset: payload };
}

/**
 * Starts training a run in a worker. With `resume`, it continues from the run's last complete
 * checkpoint (optimizer and schedule state included); a run that never finished an epoch starts over.
 */
export function startTraining(
  wb: Workbench,
  host: JobHost,
  run: RunRow,
  resume: boolean,
  options: JobOptions,
): RunningJob {
  if (run.status === 'running') throw new RefusedError(`run ${run.id} is already running`);
  const runDir = wb.paths.run(run.id);
  let resumeFrom: string | null = null;
  if (resume) {
    try {
      resumeFrom = resolveCheckpoint(runDir, 'last');
    } catch {
      resumeFrom = null;
    }
  }
  const { config, dataset } = runInputs(wb, run);
  let threads: number;
  if (host.remote) {
    // On a cluster, auto threads are the CPUs the profile asks Slurm for (one when it asks for
    // none); the node, not this machine, has to have them.
    const cpus = run.cluster ? findCluster(wb.db, run.cluster)?.cpus : null;
    threads = config.engine.threads !== AUTO_THREADS ? config.engine.threads : (cpus ?? 1);
  } else {
    // A run queued on a bigger machine (a shared home) is refused here, before anything starts.
    checkThreads(config);
    threads =
      options.threads ??
      resolveThreads(config, os.availableParallelism(), jobsOnMachine(wb.db, os.hostname()) + 1);
  }
  if (resume) {
    const epoch = resumeFrom ? checkpointEpoch(resumeFrom) : 0;
    transaction(wb.db, () => discardAfterEpoch(wb.db, run.id, epoch));
  }
  return new RunningJob(
    wb.db,
    host,
    { kind: 'train', runId: run.id, config, runDir, dataset, resumeFrom, threads },
    options,
  );
}

/** Evaluates a run's checkpoint in a worker; the evaluation is stored with the run. */
export function startEvaluation(
  wb: Workbench,
  host: JobHost,
  run: RunRow,
  request: { checkpoint: CheckpointKind; split: 'train' | 'val'; tenCrop: boolean },
  options: JobOptions,
): RunningJob {
  const runDir = wb.paths.run(run.id);
  const checkpointDir = resolveCheckpoint(runDir, request.checkpoint);
  if (!existsSync(checkpointDir))
    throw new UserError(`run ${run.id} has no ${request.checkpoint} checkpoint`);
  const { config, dataset } = runInputs(wb, run);
  if (request.split === 'val' && dataset.valIdx.length === 0)
    throw new UserError('the dataset has no validation images');
  return new RunningJob(
    wb.db,
    host,
    { kind: 'eval', runId: run.id, config, runDir, dataset, checkpointDir, ...request },
    options,
  );
}

/** Extracts fc7 features of a split from a checkpoint in a worker, recorded as the run's index. */
export function startIndexBuild(
  wb: Workbench,
  host: JobHost,
  run: RunRow,
  request: { checkpoint: CheckpointKind; split: 'train' | 'val' | 'all' },
  options: JobOptions,
): RunningJob {
  const runDir = wb.paths.run(run.id);
  const checkpointDir = resolveCheckpoint(runDir, request.checkpoint);
  const { config, dataset } = runInputs(wb, run);
  const base = path.join(runDir, 'features', `${request.checkpoint}-${request.split}`);
  mkdirSync(path.dirname(base), { recursive: true });
  return new RunningJob(
    wb.db,
    host,
    {
      kind: 'features',
      runId: run.id,
      config,
      runDir,
      dataset,
      checkpointDir,
      ...request,
      outPath: `${base}.npy`,
      idsPath: `${base}.ids.json`,
    },
    options,
  );
}

/**
 * fc7 features of image files (outside the dataset) from a checkpoint, computed in a worker,
 * with the SHA-256 of the weights that computed them.
 */
export async function embedFiles(
  wb: Workbench,
  host: JobHost,
  run: RunRow,
  checkpoint: CheckpointKind,
  files: string[],
  options: JobOptions,
): Promise<{ features: number[][]; checkpointSha256: string }> {
  const runDir = wb.paths.run(run.id);
  const checkpointDir = resolveCheckpoint(runDir, checkpoint);
  const { config, dataset } = runInputs(wb, run);
  let embedded: { features: number[][]; checkpointSha256: string } | null = null;
  let failure: string | null = null;
  const job = new RunningJob(
    wb.db,
    host,
    { kind: 'embed', runId: run.id, config, runDir, dataset, checkpointDir, files },
    {
      ...options,
      onMessage: (m) => {
        if (m.type === 'embedding')
          embedded = { features: m.features, checkpointSha256: m.checkpointSha256 };
        if (m.type === 'error') failure = m.error.message;
        options.onMessage?.(m);
      },
    },
  );
  await job.done;
  if (!embedded) throw new UserError(failure ?? 'the worker computed no features');
  return embedded;
}

/**
 * fc7 features of an image file, to query `gallery` with: computed in a worker by the
 * gallery's own network. A gallery whose checkpoint has since been replaced is refused, and so
 * is a file that is not a readable image, before any worker starts.
 */
export async function fileFeatures(
  wb: Workbench,
  host: JobHost,
  run: RunRow,
  gallery: FeatureIndexRow,
  file: string,
  options: JobOptions,
): Promise<Float32Array> {
  requireCurrentGallery(wb, run, gallery);
  await requireReadableImages([file]);
  const embedded = await embedFiles(wb, host, run, gallery.checkpoint, [file], options);
  requireSameNetwork(run, gallery, embedded);
  return Float32Array.from(embedded.features[0]!);
}
