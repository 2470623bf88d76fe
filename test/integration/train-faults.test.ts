import { truncateSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, svw, svwJson, svwSpawn, tempDir, waitFor } from '../helpers/cli.js';

/**
 * Training runs under faults, with real worker processes and a real database: a small dataset
 * (30 images a class of the bundled CIFAR sample) keeps each run to seconds.
 */
const home = tempDir('svw-home-');
const env = { SVW_HOME: home.dir };
const TRAIN = [
  'train',
  '--dataset',
  'small',
  '--preset',
  'alexnet-cifar',
  '--set',
  'batch=32',
  '--backend',
  'wasm',
];

interface RunRow {
  status: string;
  error: string | null;
  worker_pid: number | null;
  epochs_done: number;
}

let db: Database.Database;
const run = (id: number) =>
  db.prepare('SELECT status, error, worker_pid, epochs_done FROM runs WHERE id = ?').get(id) as
    RunRow | undefined;
const metricCount = (id: number, key: string) =>
  (
    db.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND key = ?').get(id, key) as {
      n: number;
    }
  ).n;
const newestRunId = () =>
  (db.prepare('SELECT MAX(id) AS id FROM runs').get() as { id: number | null }).id ?? undefined;

beforeAll(() => {
  svwJson(
    [
      'dataset',
      'import',
      path.join(ROOT, 'demo/cifar10-demo'),
      '--name',
      'small',
      '--max-per-class',
      '30',
      '--json',
    ],
    env,
  );
  db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
});
afterAll(() => {
  db.close();
  home.cleanup();
});

/** Starts `svw train` and waits until its run is past `minSteps` training steps. */
async function startRun(extra: string[], minSteps: number) {
  const before = newestRunId() ?? 0;
  const cli = svwSpawn([...TRAIN, ...extra, '--json'], env);
  const id = await waitFor(
    () => {
      const newest = newestRunId();
      return newest !== undefined && newest > before ? newest : undefined;
    },
    30_000,
    'the run to be created',
  );
  await waitFor(() => metricCount(id, 'train_loss') >= minSteps, 120_000, `${minSteps} steps`);
  return { id, cli };
}

describe('training under faults', () => {
  it('a worker killed mid-epoch fails the run with the reason, keeps its metrics, and resume finishes it', async () => {
    // 300 images at batch 32: 10 steps an epoch; kill in the middle of the second.
    const { id, cli } = await startRun(['--epochs', '3'], 15);
    const pid = run(id)!.worker_pid!;
    const seen = metricCount(id, 'train_loss');
    expect(run(id)!.status).toBe('running');
    process.kill(pid, 'SIGKILL');
    const result = await cli.done;
    expect(result.code).not.toBe(0);
    const failed = run(id)!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/killed by SIGKILL/);
    expect(metricCount(id, 'train_loss')).toBeGreaterThanOrEqual(seen);
    expect(failed.epochs_done).toBe(1);

    const resumed = svwJson<{ runId: number; status: string; metrics: Record<string, number> }>(
      ['train', '--resume', String(id), '--json'],
      env,
    );
    expect(resumed).toMatchObject({ runId: id, status: 'completed' });
    expect(run(id)!.epochs_done).toBe(3);
    expect(metricCount(id, 'epoch_train_loss')).toBe(3);
    // The half epoch the killed worker reported is redone, not counted twice: 3 × 10 steps.
    expect(metricCount(id, 'train_loss')).toBe(30);
    expect(resumed.metrics.val_top1_error).toBeGreaterThanOrEqual(0);
  });

  it('a host killed mid-run leaves its run interrupted at the next start', async () => {
    const { id, cli } = await startRun(['--epochs', '5'], 3);
    const worker = run(id)!.worker_pid!;
    cli.child.kill('SIGKILL');
    await cli.done;
    // The worker notices its host is gone and stops.
    await waitFor(
      () => {
        try {
          process.kill(worker, 0);
          return false;
        } catch {
          return true;
        }
      },
      30_000,
      'the orphaned worker to exit',
    );
    expect(run(id)!.status).toBe('running'); // nobody has looked yet
    svw(['dataset', 'list'], env); // any workbench start
    const interrupted = run(id)!;
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.error).toMatch(/stopped while this run was running/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('Ctrl-C cancels the run cleanly', async () => {
    const { id, cli } = await startRun(['--epochs', '5'], 3);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: id, status: 'cancelled' });
    expect(run(id)!.status).toBe('cancelled');
  });

  it('a dataset cache that goes bad mid-run fails the run with why, not a bare exit code', async () => {
    // A dataset of its own, since this test breaks it.
    const broken = svwJson<{ id: number }>(
      [
        'dataset',
        'import',
        path.join(ROOT, 'demo/cifar10-demo'),
        '--name',
        'broken',
        '--max-per-class',
        '30',
        '--json',
      ],
      env,
    );
    const { id, cli } = await startRun(['--epochs', '3', '--dataset', 'broken'], 3);
    // The batches being prepared when the first one fails are left behind and then rejected.
    truncateSync(path.join(home.dir, 'datasets', String(broken.id), 'images.u8'), 0);
    const result = await cli.done;
    expect(result.code).not.toBe(0);
    const failed = run(id)!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/batch preparation failed: image \d+ is beyond the end/);
  });

  it('a diverging loss fails the run with a clear reason', () => {
    const result = svw([...TRAIN, '--epochs', '1', '--set', 'lr=1e6', '--json'], env);
    const out = JSON.parse(result.stdout) as { status: string; error: string };
    expect(out.status).toBe('failed');
    expect(out.error).toMatch(/training diverged: the loss became (NaN|Infinity)/);
    expect(result.code).not.toBe(0);
  });

  it('rejects configs that cannot work before any job starts', () => {
    for (const [set, message] of [
      ['lr=0', /optim\.lr/],
      ['batch=0', /batchSize/],
      ['inputSize=40', /larger than/],
      ['classes=7', /7 classes but dataset 'small' has 10/],
    ] as const) {
      const before = newestRunId();
      const result = svw([...TRAIN, '--set', set], env);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(newestRunId()).toBe(before);
    }
  });

  it('the same seed on the same backend gives the same first-epoch loss', () => {
    const a = svwJson<{ runId: number }>(
      [...TRAIN, '--epochs', '1', '--set', 'seed=5', '--json'],
      env,
    );
    const b = svwJson<{ runId: number }>(
      [...TRAIN, '--epochs', '1', '--set', 'seed=5', '--json'],
      env,
    );
    const c = svwJson<{ runId: number }>(
      [...TRAIN, '--epochs', '1', '--set', 'seed=6', '--json'],
      env,
    );
    const losses = (id: number) =>
      (
        db
          .prepare(
            `SELECT value FROM metrics WHERE run_id = ? AND key = 'train_loss' ORDER BY step`,
          )
          .all(id) as { value: number }[]
      ).map((r) => r.value);
    expect(losses(a.runId)).toEqual(losses(b.runId));
    expect(losses(a.runId)).not.toEqual(losses(c.runId));
  });
});
