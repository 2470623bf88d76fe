import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importDataset } from '../core/data/import.js';
import { ClusterHosts } from '../core/jobs/clusters.js';
import { demoFolder } from '../core/jobs/demo.js';
import { eventFileWriter } from '../core/jobs/event-file.js';
import type { JobHost } from '../core/jobs/host.js';
import { forkJobHost } from '../core/jobs/hosts/fork.js';
import { datasetPayload } from '../core/jobs/payload.js';
import { RunningJob } from '../core/jobs/run-job.js';
import { Scheduler } from '../core/jobs/scheduler.js';
import { SlurmJob } from '../core/jobs/slurm/job.js';
import { submissionFiles } from '../core/jobs/slurm/script.js';
import type { BackendChoice } from '../core/engine/backends.js';
import type { JobSpec, WorkerMessage } from '../core/schema/messages.js';
import { insertClusterJob } from '../core/store/cluster-jobs.js';
import { addCluster } from '../core/store/clusters.js';
import { hostLease } from '../core/store/leases.js';
import { insertRun, setRunCluster } from '../core/store/runs.js';
import { openWorkbench, type Workbench } from '../core/store/workbench.js';
import { prepareRun } from '../core/train/prepare.js';
import type { BenchResult } from './result.js';
import { slurmUnavailable, startSlurmCluster, type SlurmCluster } from './slurm-cluster.js';

/** A tiny training job: one epoch of alexnet-cifar at batch 8 over 30 images. */
const SETTINGS = ['batch=8', 'epochs=1'];

/**
 * Jobs on a Slurm cluster against local child processes: the time from submission to the first
 * stored metric and to the end of a tiny training job, on each; and how many worker messages a
 * second the host stores from an event file, each in its own transaction with its offset. Uses
 * the cluster Slurm's commands reach here, or starts a single-node one (as root).
 */
export async function benchCluster(backend: string, quick: boolean): Promise<BenchResult[]> {
  const results = [await benchIngest(quick ? 2_000 : 20_000)];
  let started: SlurmCluster | null = null;
  let partition = defaultPartition();
  if (!partition) {
    const why = slurmUnavailable();
    if (why) {
      process.stderr.write(`no Slurm cluster here, and none can be started (${why})\n`);
      return results;
    }
    started = await startSlurmCluster();
    Object.assign(process.env, started.env);
    partition = started.partition;
  }
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-cluster-'));
  const wb = openWorkbench(home);
  try {
    const { id: datasetId } = await importDataset(
      wb.db,
      demoFolder(),
      { name: 'tiny', maxPerClass: 3 },
      wb.paths,
    );
    addCluster(wb.db, {
      name: 'bench',
      partition,
      gres: null,
      cpus: 1,
      mem: '1500',
      time: null,
      account: null,
      spool: path.join(home, 'spool'),
      maxResubmits: 0,
    });
    const reps = quick ? 1 : 3;
    const local: Timing[] = [];
    const slurm: Timing[] = [];
    for (let i = 0; i < reps; i++) {
      local.push(await timeJob(wb, datasetId, null, backend));
      slurm.push(await timeJob(wb, datasetId, 'bench', backend));
    }
    const med = (ts: Timing[], k: keyof Timing) => median(ts.map((t) => t[k]));
    const row = (name: string, where: string, ms: number): BenchResult => ({
      name,
      backend: where,
      batch: 8,
      imagesPerSec: 0,
      msPerBatch: Math.round(ms),
    });
    results.push(
      row('job: submission → first metric', 'fork', med(local, 'firstMetricMs')),
      row('job: submission → first metric', 'slurm', med(slurm, 'firstMetricMs')),
      row('job: tiny training, submission → end', 'fork', med(local, 'totalMs')),
      row('job: tiny training, submission → end', 'slurm', med(slurm, 'totalMs')),
      row(
        'job: extra cost on Slurm, per job',
        'slurm − fork',
        med(slurm, 'totalMs') - med(local, 'totalMs'),
      ),
    );
    return results;
  } finally {
    wb.close();
    rmSync(home, { recursive: true, force: true });
    started?.stop();
  }
}

interface Timing {
  firstMetricMs: number;
  totalMs: number;
}

/** The default partition of the cluster Slurm's commands reach from here, if they reach one. */
function defaultPartition(): string | null {
  const out = spawnSync('sinfo', ['--noheader', '--format=%P'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (out.status !== 0) return null;
  const names = out.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (names.find((n) => n.endsWith('*')) ?? names[0])?.replace(/\*$/, '') ?? null;
}

/** One tiny training run through the scheduler, on this machine or the cluster profile. */
async function timeJob(
  wb: Workbench,
  datasetId: number,
  cluster: string | null,
  backend: string,
): Promise<Timing> {
  const { config } = prepareRun(wb.db, {
    dataset: datasetId,
    preset: 'alexnet-cifar',
    settings: SETTINGS,
  });
  const runId = insertRun(wb.db, { experiment: 'bench', datasetId, config });
  if (cluster) setRunCluster(wb.db, runId, cluster);
  const clusters = new ClusterHosts(wb.db);
  let firstMetric = 0;
  const scheduler = new Scheduler(wb, forkJobHost, {
    concurrency: 1,
    backend: backend as BackendChoice,
    hostFor: (name) => clusters.hostFor(name),
    onMessage: (_id, m) => {
      if (m.type === 'metrics' && !firstMetric) firstMetric = performance.now();
    },
  });
  const t0 = performance.now();
  scheduler.enqueue(runId);
  await scheduler.idle();
  const end = performance.now();
  clusters.close();
  return { firstMetricMs: firstMetric - t0, totalMs: end - t0 };
}

/**
 * Stores `count` messages from an event file as the Slurm host does: read, parsed, validated,
 * each written in its own transaction with the offset after it. Half are a step's metrics, half
 * its progress, as a training worker sends them.
 */
async function benchIngest(count: number): Promise<BenchResult> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'svw-bench-ingest-'));
  const wb = openWorkbench(home);
  try {
    const dataset = await importDataset(
      wb.db,
      demoFolder(),
      { name: 'tiny', maxPerClass: 2 },
      wb.paths,
    );
    const { config } = prepareRun(wb.db, { dataset: dataset.id, preset: 'alexnet-cifar' });
    const runId = insertRun(wb.db, { experiment: 'bench', datasetId: dataset.id, config });
    const dir = path.join(home, 'spool');
    const row = insertClusterJob(wb.db, {
      runId,
      cluster: 'bench',
      kind: 'train',
      dir,
      task: 0,
      hostId: hostLease(wb.db).id,
      resubmission: false,
    });
    const events = submissionFiles(dir, 0).events;
    mkdirSync(dir, { recursive: true });
    const writer = eventFileWriter(events);
    const steps = count / 2;
    for (let step = 1; step <= steps; step++)
      for (const m of stepMessages(step, steps)) writer.append(m);
    writer.close();
    const job = new SlurmJob(
      {
        db: wb.db,
        profile: {
          name: 'bench',
          partition: 'p',
          gres: null,
          cpus: null,
          mem: null,
          time: null,
          account: null,
          spool: dir,
          maxResubmits: 0,
        },
        submit: () => {},
        unfollow: () => {},
        drainMs: 0,
      },
      false,
    );
    job.begin(row);
    const remote: JobHost = { remote: true, start: () => job };
    const spec: JobSpec = {
      kind: 'train',
      runId,
      config,
      runDir: wb.paths.run(runId),
      dataset: datasetPayload(wb.db, wb.paths, dataset.id),
      resumeFrom: null,
      threads: 1,
    };
    RunningJob.attach(wb.db, remote, spec, job, { backend: 'wasm' });
    const size = statSync(events).size;
    const t0 = performance.now();
    while (
      wb.db.prepare('SELECT events_offset FROM cluster_jobs WHERE id = ?').pluck().get(row.id) !==
      size
    )
      job.tail();
    const seconds = (performance.now() - t0) / 1000;
    job.detach();
    return {
      name: `ingest ${count} event-file messages`,
      backend: 'sqlite',
      batch: 1,
      imagesPerSec: 0,
      msPerBatch: Math.round(seconds * 1000),
      messagesPerSec: Math.round(count / seconds),
    };
  } finally {
    wb.close();
    rmSync(home, { recursive: true, force: true });
  }
}

function stepMessages(step: number, steps: number): WorkerMessage[] {
  const epoch = step / 100;
  const point = (key: string, value: number) => ({ key, step, epoch, value, wallTime: step });
  return [
    {
      type: 'metrics',
      metrics: [point('train_loss', 1 / step), point('train_top1_error', 0.5), point('lr', 0.01)],
    },
    {
      type: 'progress',
      epoch: 0,
      epochs: 1,
      batch: step,
      batches: steps,
      step,
      loss: 1 / step,
      imagesPerSec: 100,
      phase: 'train',
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
