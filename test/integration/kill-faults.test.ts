import { readdirSync } from 'node:fs';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import Database from 'better-sqlite3';
import seedrandom from 'seedrandom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDir } from '../../core/model/io.js';
import { resolveCheckpoint } from '../../core/train/checkpoint.js';
import { ROOT, svwJson, svwSpawn, tempDir, waitFor } from '../helpers/cli.js';

/**
 * kill -9 of the worker at twenty points of a run's life: while it loads, mid-step, and while it
 * writes a checkpoint. Every run must end failed with the reason (never stuck running), keep
 * every metric it committed, leave a last checkpoint that loads (never a half-written one), and
 * resume to completion.
 */
const home = tempDir('svw-kill-');
const env = { SVW_HOME: home.dir };
const random = seedrandom('svw-kills');
const PHASES = ['loading', 'mid-step', 'checkpoint'] as const;
const RUNS = 20;
const RESUMED_PER_PHASE = 1;

let db: Database.Database;
const runRow = (id: number) =>
  db.prepare('SELECT status, error, worker_pid AS pid FROM runs WHERE id = ?').get(id) as {
    status: string;
    error: string | null;
    pid: number | null;
  };
const metricRows = (id: number) =>
  (db.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id = ?').get(id) as { n: number }).n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  const demo = path.join(ROOT, 'demo/cifar10-demo');
  svwJson(['dataset', 'import', demo, '--name', 'small', '--max-per-class', '20', '--json'], env);
  db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
});
afterAll(() => {
  db.close();
  home.cleanup();
});

/** Waits for the moment of the phase, then kills the worker; returns the metric rows seen. */
async function killAt(id: number, phase: (typeof PHASES)[number]): Promise<number> {
  const pid = await waitFor(() => runRow(id)?.pid ?? undefined, 60_000, 'the worker');
  const checkpoints = path.join(home.dir, 'runs', String(id), 'checkpoints');
  if (phase === 'loading') await sleep(random() * 1500);
  if (phase === 'mid-step') {
    await waitFor(() => metricRows(id) > 0, 60_000, 'a step');
    await sleep(random() * 400);
  }
  if (phase === 'checkpoint') {
    // A checkpoint is written to a temporary folder first: kill while that folder exists.
    const start = Date.now();
    for (;;) {
      let names: string[] = [];
      try {
        names = readdirSync(checkpoints);
      } catch {
        /* not created yet */
      }
      if (names.some((n) => n.includes('.tmp-'))) break;
      if (Date.now() - start > 60_000) throw new Error('no checkpoint write seen');
      await new Promise((r) => setImmediate(r));
    }
  }
  const committed = metricRows(id);
  process.kill(pid, 'SIGKILL');
  return committed;
}

describe('workers killed at random points', () => {
  const outcomes: { id: number; phase: string; committed: number }[] = [];

  it(`fails all ${RUNS} killed runs with the reason and keeps what they committed`, async () => {
    for (let i = 0; i < RUNS; i++) {
      const phase = PHASES[i % PHASES.length]!;
      const before =
        (db.prepare('SELECT MAX(id) AS id FROM runs').get() as { id: number | null }).id ?? 0;
      const cli = svwSpawn(
        [
          'train',
          '--dataset',
          'small',
          '--preset',
          'alexnet-cifar',
          '--epochs',
          '2',
          '--set',
          'batch=32',
          '--backend',
          'wasm',
          '--json',
        ],
        env,
      );
      const id = await waitFor(
        () => {
          const row = db.prepare('SELECT MAX(id) AS id FROM runs').get() as { id: number | null };
          return row.id !== null && row.id > before ? row.id : undefined;
        },
        30_000,
        'the run',
      );
      const committed = await killAt(id, phase);
      await cli.done;
      const after = runRow(id);
      expect(after.status, `run ${id} (${phase})`).toBe('failed');
      expect(after.error).toMatch(/SIGKILL/);
      expect(metricRows(id)).toBeGreaterThanOrEqual(committed);
      // Whatever checkpoint exists is complete: every file matches what model.json claims.
      const runDir = path.join(home.dir, 'runs', String(id));
      let last: string | null;
      try {
        last = resolveCheckpoint(runDir, 'last');
      } catch {
        last = null; // killed before the first epoch ended
      }
      if (last) (await loadModelDir(last)).model.dispose();
      outcomes.push({ id, phase, committed });
    }
    expect(outcomes).toHaveLength(RUNS);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  }, 900_000);

  it('resumes killed runs of every phase to completion', async () => {
    const picked = PHASES.flatMap((p) =>
      outcomes.filter((o) => o.phase === p).slice(0, RESUMED_PER_PHASE),
    );
    for (const { id } of picked) {
      const { code, stderr } = await svwSpawn(
        ['train', '--resume', String(id), '--backend', 'wasm', '--json'],
        env,
      ).done;
      expect(code, stderr).toBe(0);
      expect(runRow(id).status).toBe('completed');
      // Epochs redone after the kill replace what the killed worker reported: one row each.
      const epochs = db
        .prepare(
          `SELECT epoch FROM metrics WHERE run_id = ? AND key = 'epoch_train_loss' ORDER BY epoch`,
        )
        .all(id) as { epoch: number }[];
      expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    }
  }, 900_000);
});
