import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostService } from '../../core/api/host-service.js';
import type { SweepDetail } from '../../core/sweep/summary.js';
import { createHostService } from '../../core/api/service.js';
import { forkJobHost } from '../../core/jobs/hosts/fork.js';
import { ROOT, svw, svwJson, svwSpawn, tempDir, waitFor } from '../helpers/cli.js';
import {
  slurmUnavailable,
  startSlurmCluster,
  type SlurmCluster,
} from '../helpers/slurm-cluster.js';

/**
 * The Slurm job host against a real single-node cluster started for this file (the helper
 * writes its own slurm.conf and starts munged, slurmctld and slurmd): training, a sweep as a job
 * array, cancels, a killed worker, a failed node, a killed host, a garbled event file, and a
 * missing sbatch or a controller that is down. Tiny alexnet-cifar runs on a few dozen images.
 */
const reason = slurmUnavailable();
if (reason) console.log(`skipping the Slurm cluster tests: ${reason}`);

const home = tempDir('svw-slurm-home-');
let slurm: SlurmCluster;
let env: NodeJS.ProcessEnv;
let db: Database.Database;
let datasetId = 0;

/** Tiny runs: a batch of 8 over 30 images, a few steps an epoch. */
const TINY = ['--preset', 'alexnet-cifar', '--set', 'batch=8', '--set', 'evalEvery=1'];

beforeAll(async () => {
  if (reason) return;
  slurm = await startSlurmCluster();
  env = {
    SVW_HOME: home.dir,
    ...slurm.env,
    SVW_SLURM_POLL_MS: '500',
    SVW_SLURM_TAIL_MS: '200',
  };
  Object.assign(process.env, env);
  const demo = path.join(ROOT, 'demo/cifar10-demo');
  datasetId = svwJson<{ id: number }>(
    ['dataset', 'import', demo, '--name', 'tiny', '--max-per-class', '3', '--json'],
    env,
  ).id;
  svwJson(
    [
      'cluster',
      'add',
      'c',
      '--partition',
      slurm.partition,
      '--cpus',
      '1',
      '--mem',
      '1500',
      '--json',
    ],
    env,
  );
  db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
});
afterAll(() => {
  db?.close();
  slurm?.stop();
  home.cleanup();
});

const run = (id: number) =>
  db
    .prepare(
      'SELECT status, error, cluster, node, worker_pid AS pid, epochs_done AS epochs FROM runs WHERE id = ?',
    )
    .get(id) as {
    status: string;
    error: string | null;
    cluster: string | null;
    node: string | null;
    pid: number | null;
    epochs: number;
  };
const jobs = (id: number) =>
  db
    .prepare(
      'SELECT slurm_job_id AS slurmJobId, state, reason, attempt, dir, task, ended_at AS endedAt FROM cluster_jobs WHERE run_id = ? ORDER BY id',
    )
    .all(id) as {
    slurmJobId: string;
    state: string;
    reason: string;
    attempt: number;
    dir: string;
    task: number;
    endedAt: number | null;
  }[];
const logs = (id: number) =>
  db
    .prepare('SELECT message FROM run_logs WHERE run_id = ? ORDER BY rowid')
    .pluck()
    .all(id) as string[];
const metricRows = (id: number) =>
  db
    .prepare(
      'SELECT key, step, epoch, value FROM metrics WHERE run_id = ? ORDER BY key, step, rowid',
    )
    .all(id) as { key: string; step: number; epoch: number; value: number }[];
/** The id of the run of that name, once `svw train --name NAME` has made it. */
const runNamed = (name: string) =>
  db.prepare('SELECT id FROM runs WHERE name = ?').pluck().get(name) as number | undefined;
/**
 * Waits for the named run to have a metric stored, and returns its id. A run that never gets
 * there fails the test with what the workbench and Slurm said about it.
 */
const whenTraining = async (name: string, host?: { done: Promise<{ stderr: string }> }) => {
  let hostSaid = '';
  void host?.done.then((r) => (hostSaid = r.stderr));
  try {
    return await waitFor(
      () => {
        const id = runNamed(name);
        return id && metricRows(id).length > 0 ? id : undefined;
      },
      180_000,
      `run ${name} training`,
    );
  } catch (err) {
    const id = runNamed(name);
    const queue = spawnSync('squeue', ['--noheader', '--states=all', '--format=%i %j %T %r'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    throw new Error(
      [
        (err as Error).message,
        `run: ${JSON.stringify(id && run(id))}`,
        `its Slurm jobs: ${JSON.stringify(id && jobs(id))}`,
        `its log: ${JSON.stringify(id && logs(id))}`,
        `squeue: ${queue.stdout}${queue.stderr}`,
        `the host process, if it ended: ${hostSaid}`,
      ].join('\n'),
      { cause: err },
    );
  }
};
const train = (name: string, epochs: number, ...more: string[]) =>
  svwSpawn(
    [
      'train',
      '--dataset',
      'tiny',
      ...TINY,
      '--epochs',
      String(epochs),
      '--on',
      'c',
      '--name',
      name,
      ...more,
    ],
    env,
  );

/** Every metric point the run's workers wrote to their event files, in the same order. */
function fileMetrics(id: number) {
  const points = jobs(id).flatMap((j) =>
    readFileSync(path.join(j.dir, `task-${j.task}.events.jsonl`), 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          const m = JSON.parse(line) as {
            type: string;
            metrics?: { key: string; step: number; epoch: number; value: number }[];
          };
          return m.type === 'metrics' ? m.metrics! : [];
        } catch {
          return [];
        }
      }),
  );
  return points
    .map(({ key, step, epoch, value }) => ({ key, step, epoch, value }))
    .sort((a, b) => a.key.localeCompare(b.key) || a.step - b.step);
}

const squeueState = (slurmJobId: string) =>
  spawnSync('squeue', ['--noheader', '--states=all', `--jobs=${slurmJobId}`, '--format=%T'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  }).stdout.trim();

describe.skipIf(reason)('jobs on a Slurm cluster', () => {
  it('trains a run there with every metric stored exactly once, then evaluates and indexes it there', async () => {
    const out = svwJson<{ runId: number; status: string }>(
      ['train', '--dataset', 'tiny', ...TINY, '--epochs', '1', '--on', 'c', '--json'],
      env,
    );
    expect(out.status).toBe('completed');
    const id = out.runId;
    expect(run(id)).toMatchObject({
      status: 'completed',
      cluster: 'c',
      node: slurm.node,
      epochs: 1,
    });
    const [job] = jobs(id);
    expect(job).toMatchObject({ state: 'COMPLETED', attempt: 1, endedAt: expect.any(Number) });
    expect(metricRows(id)).toEqual(fileMetrics(id));
    expect(metricRows(id).filter((m) => m.key === 'train_loss').length).toBeGreaterThan(1);
    expect(existsSync(path.join(home.dir, 'runs', String(id), 'checkpoints/last'))).toBe(true);
    expect(readFileSync(path.join(job!.dir, 'task-0.log'), 'utf8')).not.toMatch(/error/i);
    expect(svw(['runs', 'show', String(id)], env).stdout).toContain(
      `ran on cluster c, node ${slurm.node}; Slurm job ${job!.slurmJobId} COMPLETED, log ${path.join(job!.dir, 'task-0.log')}`,
    );
    expect(svw(['runs', 'list', '--filter', 'cluster = c', '--json'], env).stdout).toContain(
      `"id": ${id}`,
    );

    const evaluated = svwJson<{ top1Error: number; images: number }>(
      ['eval', String(id), '--on', 'c', '--json'],
      env,
    );
    expect(evaluated.images).toBeGreaterThan(0);
    const index = svwJson<{ count: number; path: string }>(
      ['index', 'build', String(id), '--split', 'val', '--on', 'c', '--json'],
      env,
    );
    expect(index.count).toBe(evaluated.images);
    expect(existsSync(index.path)).toBe(true);
    expect(jobs(id).map((j) => [j.state, j.endedAt !== null])).toEqual(
      Array(3).fill(['COMPLETED', true]),
    );
  });

  describe('through the host service', () => {
    let service: HostService;
    beforeAll(() => {
      service = createHostService({ home: home.dir, kind: 'serve', jobHost: forkJobHost });
    });
    afterAll(() => service.close());
    const ok = async <T>(method: string, input: unknown): Promise<T> => {
      const outcome = await service.call(method, input);
      if (!outcome.ok) throw new Error(`${method}: ${JSON.stringify(outcome.error)}`);
      return outcome.result as T;
    };

    it('sends a 4-combination sweep as one job array', async () => {
      const { runIds } = await ok<{ runIds: number[] }>('createRuns', {
        datasetId,
        preset: 'alexnet-cifar',
        settings: ['batch=8', 'epochs=1'],
        sweep: { lr: ['0.01', '0.02'], momentum: ['0.9', '0.8'] },
        start: true,
        on: 'c',
      });
      expect(runIds).toHaveLength(4);
      await waitFor(
        () => runIds.every((id) => run(id).status === 'completed'),
        200_000,
        'the sweep',
      );
      const ids = runIds.map((id) => jobs(id)[0]!.slurmJobId);
      const base = ids[0]!.split('_')[0];
      expect(ids).toEqual([0, 1, 2, 3].map((t) => `${base}_${t}`));
      for (const id of runIds) expect(metricRows(id)).toEqual(fileMetrics(id));
      const detail = await ok<{ cluster: { slurmJobId: string; state: string; node: string } }>(
        'getRun',
        { id: runIds[3] },
      );
      expect(detail.cluster).toMatchObject({
        slurmJobId: `${base}_3`,
        state: 'COMPLETED',
        node: slurm.node,
      });
      const log = await ok<{ text: string; path: string }>('runClusterLog', { id: runIds[3] });
      expect(log.path).toMatch(/task-3\.log$/);
    });

    it('cancels a run from the service with scancel', async () => {
      const { runIds } = await ok<{ runIds: number[] }>('createRuns', {
        datasetId,
        preset: 'alexnet-cifar',
        settings: ['batch=8', 'epochs=30'],
        start: true,
        on: 'c',
      });
      const id = runIds[0]!;
      await waitFor(() => run(id).status === 'running', 60_000, 'running');
      await ok('cancelRun', { id });
      await waitFor(() => run(id).status === 'cancelled', 60_000, 'cancelled');
      expect(run(id).error).toBeNull();
      expect(jobs(id)[0]!.state).toBe('CANCELLED');
    });
  });

  it('cancels a run from the command line while another process follows it', async () => {
    const host = train('cancel-me', 30);
    const id = await whenTraining('cancel-me', host);
    const cancelled = svw(['runs', 'cancel', String(id)], env);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stderr).toMatch(/cancelled Slurm job \d+/);
    expect(cancelled.stderr).toMatch(/the workbench process following it records the end/);
    const ended = await host.done;
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(new RegExp(`run ${id} cancelled`));
    expect(run(id)).toMatchObject({ status: 'cancelled', error: null });
    expect(jobs(id)[0]).toMatchObject({ state: 'CANCELLED' });
  });

  it('fails a run whose worker is killed on its node, with the reason', async () => {
    const host = train('kill-me', 30);
    const id = await whenTraining('kill-me', host);
    process.kill(run(id).pid!, 'SIGKILL');
    await host.done;
    expect(run(id).status).toBe('failed');
    expect(run(id).error).toMatch(
      new RegExp(`^the Slurm job failed on node ${slurm.node}: killed by SIGKILL$`),
    );
    expect(metricRows(id)).toEqual(fileMetrics(id));
  });

  it('runs an ASHA sweep there from the command line, cancelling each trial it prunes', () => {
    const sweep = svwJson<SweepDetail>(
      [
        'sweep',
        'run',
        '--dataset',
        String(datasetId),
        '--preset',
        'alexnet-cifar',
        '--set',
        'batch=8',
        '--sweep',
        'lr=0.01,0.02,0.03',
        '--asha',
        // Ranked by the learning rate each run reports, so that verdicts do not hang on losses.
        '--metric',
        'lr',
        '--grace',
        '1',
        '--eta',
        '3',
        '--max-epochs',
        '2',
        '--on',
        'c',
        '--json',
      ],
      env,
    );
    expect(sweep.runs).toHaveLength(3);
    const [rung] = sweep.rungs;
    for (const r of sweep.runs) {
      expect(run(r.id).cluster).toBe('c');
      expect(jobs(r.id)[0]!.slurmJobId).toMatch(/^\d+/);
      // Which trials a rung stops depends on the order they reached it; each verdict holds.
      const entry = rung!.entries.find((e) => e.runId === r.id)!;
      if (entry.pruned) {
        expect(r).toMatchObject({ status: 'pruned', epochsDone: 1 });
        expect(r.error).toMatch(/^lr 0\.0\d at epoch 1, rung cutoff /);
        expect(jobs(r.id).at(-1)!.state).toMatch(/CANCELLED|COMPLETED/);
      } else expect(r).toMatchObject({ status: 'completed', epochsDone: 2 });
    }
    // The lowest rate is never above a cutoff (a quantile of values it is among).
    expect(sweep.runs.find((r) => r.values.lr === 0.01)).toMatchObject({ status: 'completed' });
  });

  it('resubmits a run whose node failed, and resumes it from its checkpoint to the end', async () => {
    const host = train('fail-my-node', 3);
    const id = await waitFor(
      () => {
        const found = runNamed('fail-my-node');
        return found && metricRows(found).some((m) => m.epoch > 1) ? found : undefined;
      },
      90_000,
      'epoch 2',
    );
    const down = spawnSync(
      'scontrol',
      ['update', `NodeName=${slurm.node}`, 'State=DOWN', 'Reason=svw-test'],
      {
        env: { ...process.env, ...env },
      },
    );
    expect(down.status).toBe(0);
    await waitFor(() => jobs(id).length === 2, 60_000, 'the resubmission');
    spawnSync('scontrol', ['update', `NodeName=${slurm.node}`, 'State=RESUME'], {
      env: { ...process.env, ...env },
    });
    const ended = await host.done;
    expect(ended.code).toBe(0);
    expect(run(id)).toMatchObject({ status: 'completed', epochs: 3, error: null });
    const [first, second] = jobs(id);
    expect(first).toMatchObject({ state: 'NODE_FAIL', attempt: 1 });
    expect(second).toMatchObject({ state: 'COMPLETED', attempt: 2 });
    expect(logs(id)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `node ${slurm.node} failed; resubmitted to resume from its last checkpoint \\(resubmission 1 of 2\\)`,
        ),
      ),
    );
    // The resumed worker redid the epoch the failed one had not finished: each step once.
    const steps = metricRows(id)
      .filter((m) => m.key === 'train_loss')
      .map((m) => m.step);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));
  });

  let kept = 0;

  it('says clearly when sbatch is missing or the controller is down, and keeps the run', () => {
    const missing = svw(
      ['train', '--dataset', 'tiny', ...TINY, '--epochs', '3', '--on', 'c', '--name', 'kept'],
      {
        ...env,
        PATH: '/nonexistent',
      },
    );
    expect(missing.code).toBe(1);
    kept = runNamed('kept')!;
    expect(missing.stderr).toMatch(
      /could not submit to cluster 'c': sbatch was not found on this machine \(Slurm's client commands must be installed/,
    );
    expect(run(kept)).toMatchObject({ status: 'failed', cluster: 'c' });
    slurm.stopController();
    try {
      const down = svw(['train', '--resume', String(kept)], env);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(
        /could not submit to cluster 'c': .*Unable to contact slurm controller/,
      );
      const status = svw(['cluster', 'status', 'c'], env);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/^svw: error: .*Unable to contact slurm controller/m);
    } finally {
      slurm.startController();
    }
    // Slurm never took either submission: no job of them is left to follow.
    expect(jobs(kept)).toEqual([]);
    expect(run(kept)).toMatchObject({ status: 'failed', cluster: 'c' });
  });

  it('takes over the job of a killed host and ingests the rest once, past a garbled line and a controller that is down', async () => {
    // The run kept above, started again now that Slurm answers.
    const host = svwSpawn(['train', '--resume', String(kept)], env);
    await whenTraining('kept');
    host.child.kill('SIGKILL');
    await host.done;
    const [job] = jobs(kept);
    expect(squeueState(job!.slurmJobId)).toBe('RUNNING');
    // A host that opens the workbench meanwhile leaves the run running: it goes on in Slurm.
    expect(svwJson<{ status: string }>(['runs', 'show', String(kept), '--json'], env).status).toBe(
      'running',
    );
    appendFileSync(
      path.join(job!.dir, 'task-0.events.jsonl'),
      '{"type":"metrics","metrics":[{"ke\n',
    );
    slurm.stopController();
    const attach = svwSpawn(['cluster', 'attach'], env);
    try {
      const before = metricRows(kept).length;
      await waitFor(
        () => metricRows(kept).length > before,
        90_000,
        'metrics while the controller is down',
      );
      await waitFor(
        () => logs(kept).some((l) => /cannot ask Slurm about job/.test(l)),
        60_000,
        'the warning',
      );
    } finally {
      slurm.startController();
    }
    const attached = await attach.done;
    expect(attached.code).toBe(0);
    expect(attached.stderr).toMatch(new RegExp(`following run ${kept}`));
    expect(run(kept)).toMatchObject({ status: 'completed', epochs: 3 });
    expect(metricRows(kept)).toEqual(fileMetrics(kept));
    expect(logs(kept)).toContainEqual(
      expect.stringMatching(/^line \d+ of the event file is not a message/),
    );
    expect(logs(kept)).toContain(`Slurm answers again about job ${job!.slurmJobId}`);
  });
});
