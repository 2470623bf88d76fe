import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterHosts } from '../../core/jobs/clusters.js';
import { eventFileWriter } from '../../core/jobs/event-file.js';
import { datasetPayload } from '../../core/jobs/payload.js';
import { RunningJob } from '../../core/jobs/run-job.js';
import { Scheduler } from '../../core/jobs/scheduler.js';
import { submissionFiles } from '../../core/jobs/slurm/script.js';
import type { SlurmSighting } from '../../core/jobs/slurm/states.js';
import type { JobSpec, WorkerMessage } from '../../core/schema/messages.js';
import {
  getClusterJob,
  latestClusterJob,
  openClusterJobOf,
} from '../../core/store/cluster-jobs.js';
import { addCluster, removeCluster } from '../../core/store/clusters.js';
import { hostLease } from '../../core/store/leases.js';
import { getRun, insertRun, runLogs, setRunCluster } from '../../core/store/runs.js';
import { openWorkbench, type Workbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir, waitFor } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';

/**
 * The Slurm host end to end with Slurm's commands replaced by a scripted cluster: submission
 * (one job array for runs started together), queue states, ingest of the event file exactly
 * once across a host that dies, garbled and cut-off lines, resubmission after interruptions up
 * to the profile's count, cancel, and a controller that is down. The real cluster's tests are
 * test/integration/slurm.test.ts.
 */
const cluster = vi.hoisted(() => ({
  jobs: new Map<string, SlurmSighting>(),
  scripts: [] as string[],
  cancelled: [] as string[],
  next: 100,
  down: false,
  sbatchError: null as string | null,
}));

vi.mock('../../core/jobs/slurm/commands.js', async (actual) => {
  const real = await actual<typeof import('../../core/jobs/slurm/commands.js')>();
  const unreachable = () =>
    new real.SlurmError('Unable to contact slurm controller (connect failure)', true);
  return {
    ...real,
    sbatch: async (script: string) => {
      if (cluster.sbatchError) throw new real.SlurmError(cluster.sbatchError, true);
      cluster.scripts.push(script);
      const id = String(cluster.next++);
      // Like Slurm, the controller knows a job (every task of an array) once sbatch answers.
      const tasks = /--array=0-(\d+)/.exec(readFileSync(script, 'utf8'))?.[1];
      const ids = tasks ? Array.from({ length: Number(tasks) + 1 }, (_, t) => `${id}_${t}`) : [id];
      for (const job of ids)
        cluster.jobs.set(job, { state: 'PENDING', reason: 'None', node: null, exitCode: null });
      return id;
    },
    squeue: async (ids: string[]) => {
      if (cluster.down) throw unreachable();
      return new Map([...cluster.jobs].filter(([id]) => ids.includes(id.split('_')[0]!)));
    },
    scontrolJob: async (id: string) => cluster.jobs.get(id) ?? null,
    sacctJob: async () => null,
    jobsNamed: async () => [],
    scancel: async (id: string) => {
      cluster.cancelled.push(id);
      const job = cluster.jobs.get(id);
      if (job) cluster.jobs.set(id, { ...job, state: 'CANCELLED', exitCode: '0:15' });
    },
  };
});

const home = tempDir('svw-cluster-jobs-');
const spool = tempDir('svw-cluster-spool-');
let wb: Workbench;
let datasetId: number;
const fast = { pollMs: 20, tailMs: 10 };

beforeAll(() => {
  wb = openWorkbench(home.dir);
  datasetId = seedDataset(wb, 'tiny');
  addCluster(wb.db, {
    name: 'hpc',
    partition: 'gpu',
    gres: null,
    cpus: 1,
    mem: '2G',
    time: '10',
    account: null,
    spool: spool.dir,
    maxResubmits: 1,
  });
});
afterAll(() => {
  wb.close();
  home.cleanup();
  spool.cleanup();
});
beforeEach(() => {
  cluster.down = false;
  cluster.sbatchError = null;
});

function newRun(db = wb.db): number {
  const id = insertRun(db, {
    experiment: 'cluster',
    datasetId,
    config: prepareRun(db, { dataset: datasetId, preset: 'alexnet-cifar' }).config,
  });
  setRunCluster(db, id, 'hpc');
  return id;
}

function host(w: Workbench = wb) {
  const clusters = new ClusterHosts(w.db, fast);
  const scheduler = new Scheduler(w, new FakeHost(), {
    concurrency: 1,
    backend: 'wasm',
    hostFor: (name) => clusters.hostFor(name),
    remoteHosts: () => clusters.all(),
  });
  return { clusters, scheduler };
}

/** The run's newest job, once sbatch has given it an id. */
const submitted = (runId: number, db = wb.db) =>
  waitFor(
    () => {
      const job = latestClusterJob(db, runId);
      return job?.slurmJobId ? job : undefined;
    },
    5000,
    `run ${runId}'s submission`,
  );

const set = (id: string, state: string, extra: Partial<SlurmSighting> = {}) =>
  cluster.jobs.set(id, { state, reason: null, node: 'n1', exitCode: null, ...extra });

const metric = (step: number): WorkerMessage => ({
  type: 'metrics',
  metrics: [{ key: 'train_loss', step, epoch: step / 10, value: 1 / step, wallTime: step }],
});
const started: WorkerMessage = {
  type: 'started',
  pid: 4242,
  engine: { backend: 'wasm', tfBackend: 'wasm', package: 'p', version: '1', detail: 'd' },
  skipped: [],
};

const trainLosses = (runId: number, db = wb.db) =>
  db
    .prepare(`SELECT step FROM metrics WHERE run_id = ? AND key = 'train_loss' ORDER BY rowid`)
    .pluck()
    .all(runId) as number[];

describe('the Slurm job host', () => {
  it('stores every message exactly once, across a host that dies mid-run', async () => {
    const first = host();
    const id = newRun();
    first.scheduler.enqueue(id);
    const job = await submitted(id);
    const events = submissionFiles(job.dir, job.task).events;
    set(job.slurmJobId!, 'PENDING', { reason: 'Resources', node: null });
    await waitFor(() => latestClusterJob(wb.db, id)?.reason === 'Resources', 5000, 'PENDING');
    expect(getRun(wb.db, id)).toMatchObject({ status: 'queued', cluster: 'hpc', startedAt: null });

    set(job.slurmJobId!, 'RUNNING');
    await waitFor(() => getRun(wb.db, id)?.status === 'running', 5000, 'RUNNING');
    expect(getRun(wb.db, id)).toMatchObject({ node: 'n1' });
    const worker = eventFileWriter(events);
    worker.append(started);
    for (const step of [1, 2, 3]) worker.append(metric(step));
    appendFileSync(events, '{"type":"metrics","metr\n');
    worker.append(metric(4));
    await waitFor(() => trainLosses(id).length === 4, 5000, 'four metrics');
    expect(
      runLogs(wb.db, id).some(
        (l) => l.level === 'warn' && /^line 5 of the event file is not a message/.test(l.message),
      ),
    ).toBe(true);

    // The host dies: it reads nothing more, and its lease goes with it.
    first.clusters.close();
    hostLease(wb.db).release();
    worker.append(metric(5));
    worker.append(metric(6));

    const second = openWorkbench(home.dir);
    try {
      expect(getRun(second.db, id)!.status).toBe('running');
      const next = host(second);
      expect(next.scheduler.reattach()).toEqual([id]);
      expect(latestClusterJob(second.db, id)!.hostId).toBe(hostLease(second.db).id);
      worker.append(metric(7));
      worker.append({ type: 'done', status: 'completed' });
      appendFileSync(events, '{"type":"log","lev');
      set(job.slurmJobId!, 'COMPLETED', { exitCode: '0:0' });
      await next.scheduler.idle();
      expect(getRun(second.db, id)).toMatchObject({ status: 'completed', error: null });
      expect(trainLosses(id, second.db)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const ended = latestClusterJob(second.db, id)!;
      expect(ended.endedAt).not.toBeNull();
      expect(ended.eventsOffset).toBe(statSync(events).size);
      expect(runLogs(second.db, id).map((l) => l.message)).toContainEqual(
        expect.stringMatching(/^line 11 of the event file was cut off after 18 bytes/),
      );
      next.clusters.close();
    } finally {
      second.close();
    }
    worker.close();
  });

  it('ends a run as its worker said when the host died between the worker’s end and Slurm’s', async () => {
    const first = host();
    const id = newRun();
    first.scheduler.enqueue(id);
    const job = await submitted(id);
    set(job.slurmJobId!, 'RUNNING');
    const events = submissionFiles(job.dir, job.task).events;
    const worker = eventFileWriter(events);
    worker.append(started);
    worker.append(metric(1));
    worker.append({ type: 'error', error: { message: 'the dataset cache is unreadable' } });
    await waitFor(
      () => getClusterJob(wb.db, job.id)!.eventsOffset === statSync(events).size,
      5000,
      'the worker’s end stored',
    );
    first.clusters.close();
    hostLease(wb.db).release();
    set(job.slurmJobId!, 'FAILED', { exitCode: '1:0' });
    const second = openWorkbench(home.dir);
    try {
      const next = host(second);
      expect(next.scheduler.reattach()).toEqual([id]);
      await next.scheduler.idle();
      expect(getRun(second.db, id)).toMatchObject({
        status: 'failed',
        error: 'the dataset cache is unreadable',
      });
      next.clusters.close();
    } finally {
      second.close();
    }
    worker.close();
  });

  it('sends runs started together as one job array, one task each', async () => {
    const { clusters, scheduler } = host();
    const ids = [newRun(), newRun(), newRun(), newRun()];
    for (const id of ids) scheduler.enqueue(id);
    const jobs = await Promise.all(ids.map((id) => submitted(id)));
    const base = jobs[0]!.slurmJobId!.split('_')[0];
    expect(jobs.map((j) => j.slurmJobId)).toEqual([0, 1, 2, 3].map((t) => `${base}_${t}`));
    expect(new Set(jobs.map((j) => j.dir)).size).toBe(1);
    expect(readFileSync(cluster.scripts.at(-1)!, 'utf8')).toContain('#SBATCH --array=0-3');
    for (const [task, id] of ids.entries()) {
      const payload = JSON.parse(readFileSync(submissionFiles(jobs[0]!.dir, task).payload, 'utf8'));
      expect(payload.job.runId).toBe(id);
      set(`${base}_${task}`, 'RUNNING');
      eventFileWriter(submissionFiles(jobs[0]!.dir, task).events).append({
        type: 'done',
        status: 'completed',
      });
      set(`${base}_${task}`, 'COMPLETED', { exitCode: '0:0' });
    }
    await scheduler.idle();
    expect(ids.map((id) => getRun(wb.db, id)!.status)).toEqual(Array(4).fill('completed'));
    clusters.close();
  });

  it('resubmits an interrupted run to resume, up to the profile count, then says why not', async () => {
    const { clusters, scheduler } = host();
    const id = newRun();
    scheduler.enqueue(id);
    const first = await submitted(id);
    set(first.slurmJobId!, 'RUNNING');
    await waitFor(() => getRun(wb.db, id)?.status === 'running', 5000, 'RUNNING');
    set(first.slurmJobId!, 'NODE_FAIL', { reason: 'NodeDown', exitCode: '0:0' });
    const second = await waitFor(
      () => {
        const job = latestClusterJob(wb.db, id)!;
        return job.id !== first.id && job.slurmJobId ? job : undefined;
      },
      5000,
      'the resubmission',
    );
    expect(second.attempt).toBe(2);
    expect(runLogs(wb.db, id).map((l) => l.message)).toContain(
      'node n1 failed; resubmitted to resume from its last checkpoint (resubmission 1 of 1)',
    );
    set(second.slurmJobId!, 'RUNNING');
    await waitFor(() => getRun(wb.db, id)?.status === 'running', 5000, 'RUNNING again');
    set(second.slurmJobId!, 'PREEMPTED', { exitCode: '0:15' });
    await scheduler.idle();
    expect(getRun(wb.db, id)).toMatchObject({
      status: 'interrupted',
      error: 'preempted by Slurm on node n1; not resubmitted: the profile allows 1 resubmission',
    });
    expect(openClusterJobOf(wb.db, id)).toBeUndefined();
    clusters.close();
  });

  it('reads an ended job until its worker stops writing, before it resubmits the run', async () => {
    const { clusters, scheduler } = host();
    const id = newRun();
    scheduler.enqueue(id);
    const job = await submitted(id);
    set(job.slurmJobId!, 'RUNNING');
    const worker = eventFileWriter(submissionFiles(job.dir, job.task).events);
    worker.append(started);
    worker.append(metric(1));
    await waitFor(() => trainLosses(id).length === 1, 5000, 'a metric');
    // Slurm says the node failed; the worker, signalled, still finishes its step and says so.
    set(job.slurmJobId!, 'NODE_FAIL', { exitCode: '0:0' });
    for (const step of [2, 3]) {
      await new Promise((r) => setTimeout(r, 1500));
      worker.append(metric(step));
    }
    await new Promise((r) => setTimeout(r, 1500));
    worker.append({ type: 'done', status: 'cancelled' });
    const next = await waitFor(
      () => {
        const latest = latestClusterJob(wb.db, id)!;
        return latest.id !== job.id ? latest : undefined;
      },
      10_000,
      'the resubmission',
    );
    expect(next.attempt).toBe(2);
    // Every line was stored before the job was ended (the resumed run then redoes the epoch).
    const first = getClusterJob(wb.db, job.id)!;
    expect(first.eventsOffset).toBe(statSync(submissionFiles(job.dir, job.task).events).size);
    expect(first.endedAt).not.toBeNull();
    scheduler.cancel(id);
    await scheduler.idle();
    worker.close();
    clusters.close();
  });

  it('runs an evaluation there without a slot of this machine, and waits for it when idle', async () => {
    const local = new FakeHost();
    const clusters = new ClusterHosts(wb.db, fast);
    const scheduler = new Scheduler(wb, local, {
      concurrency: 1,
      backend: 'wasm',
      hostFor: (name) => clusters.hostFor(name),
    });
    const busy = insertRun(wb.db, {
      experiment: 'cluster',
      datasetId,
      config: prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' }).config,
    });
    scheduler.enqueue(busy);
    expect(scheduler.busySlots).toBe(1);
    const id = newRun();
    const run = getRun(wb.db, id)!;
    const spec: JobSpec = {
      kind: 'eval',
      runId: id,
      config: JSON.parse(run.config),
      runDir: wb.paths.run(id),
      dataset: datasetPayload(wb.db, wb.paths, datasetId),
      checkpointDir: `${wb.paths.run(id)}/checkpoints/best`,
      checkpoint: 'best',
      split: 'val',
      tenCrop: false,
    };
    const host = clusters.hostFor('hpc');
    const evaluation = await scheduler.runOn(
      host,
      10 ** 12,
      () => new RunningJob(wb.db, host, spec, { backend: 'wasm' }),
    );
    const job = await submitted(id);
    expect(job.kind).toBe('eval');
    let idle = false;
    void scheduler.idle().then(() => (idle = true));
    local.last.finish('completed');
    eventFileWriter(submissionFiles(job.dir, job.task).events).append({
      type: 'done',
      status: 'completed',
    });
    set(job.slurmJobId!, 'COMPLETED', { exitCode: '0:0' });
    expect(await evaluation.done).toBe('completed');
    await waitFor(() => idle, 5000, 'idle');
    expect(getClusterJob(wb.db, job.id)!.endedAt).not.toBeNull();
    clusters.close();
  });

  it('cancels with scancel, and a cancelled job reads as the user’s', async () => {
    const { clusters, scheduler } = host();
    const id = newRun();
    scheduler.enqueue(id);
    const job = await submitted(id);
    set(job.slurmJobId!, 'PENDING', { reason: 'Priority', node: null });
    await waitFor(() => latestClusterJob(wb.db, id)?.reason === 'Priority', 5000, 'PENDING');
    expect(scheduler.cancel(id)).toBe(true);
    await scheduler.idle();
    expect(cluster.cancelled).toContain(job.slurmJobId);
    expect(getRun(wb.db, id)).toMatchObject({ status: 'cancelled', error: null });
    expect(latestClusterJob(wb.db, id)!.cancelRequested).toBe(true);
    clusters.close();
  });

  it('fails a run sbatch refused with its reason, and keeps the run to start again', async () => {
    const { clusters, scheduler } = host();
    const id = newRun();
    cluster.sbatchError =
      'sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)';
    scheduler.enqueue(id);
    await scheduler.idle();
    expect(getRun(wb.db, id)).toMatchObject({
      status: 'failed',
      error: `could not submit to cluster 'hpc': ${cluster.sbatchError}`,
      config: expect.any(String),
    });
    expect(openClusterJobOf(wb.db, id)).toBeUndefined();
    cluster.sbatchError = null;
    scheduler.enqueue(id, true);
    const job = await submitted(id);
    set(job.slurmJobId!, 'CANCELLED by 0', { exitCode: '0:15' });
    await scheduler.idle();
    expect(getRun(wb.db, id)!.status).toBe('cancelled');
    expect(runLogs(wb.db, id).map((l) => l.message)).toContain(
      'cancelled outside the workbench (scancel or an administrator) on node n1',
    );
    clusters.close();
  });

  it('goes on reading a job while its controller is down, and says so once', async () => {
    const { clusters, scheduler } = host();
    const id = newRun();
    scheduler.enqueue(id);
    const job = await submitted(id);
    set(job.slurmJobId!, 'RUNNING');
    await waitFor(() => getRun(wb.db, id)?.status === 'running', 5000, 'RUNNING');
    cluster.down = true;
    const worker = eventFileWriter(submissionFiles(job.dir, job.task).events);
    worker.append(metric(1));
    await waitFor(
      () => trainLosses(id).length === 1,
      5000,
      'a metric while the controller is down',
    );
    await new Promise((r) => setTimeout(r, 100));
    const warnings = runLogs(wb.db, id).filter((l) => /cannot ask Slurm/.test(l.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/Unable to contact slurm controller/);
    expect(getRun(wb.db, id)!.status).toBe('running');
    cluster.down = false;
    worker.append({ type: 'done', status: 'completed' });
    set(job.slurmJobId!, 'COMPLETED', { exitCode: '0:0' });
    await scheduler.idle();
    expect(getRun(wb.db, id)!.status).toBe('completed');
    expect(runLogs(wb.db, id).map((l) => l.message)).toContain(
      `Slurm answers again about job ${job.slurmJobId}`,
    );
    worker.close();
    clusters.close();
  });

  it('keeps a profile while runs wait for it, and fails a queued run whose profile is gone', () => {
    const waiting = newRun();
    wb.db
      .prepare(`UPDATE runs SET status = 'queued', host_id = 'a-host-long-gone' WHERE id = ?`)
      .run(waiting);
    expect(() => removeCluster(wb.db, 'hpc')).toThrow(
      new RegExp(`cluster 'hpc' still has runs queued or running there \\(run .*${waiting}`),
    );
    setRunCluster(wb.db, waiting, 'gone');
    const { clusters, scheduler } = host();
    expect(scheduler.recoverQueued()).toEqual([]);
    expect(getRun(wb.db, waiting)).toMatchObject({ status: 'failed', error: "no cluster 'gone'" });
    clusters.close();
  });
});
