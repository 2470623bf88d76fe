import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import seedrandom from 'seedrandom';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir, waitFor } from '../helpers/cli.js';

/**
 * A host killed in the middle of database writes: a process that writes metric batches as fast
 * as it can, each in its own transaction as a host does, is killed -9 at random moments. After
 * every kill the database must pass `PRAGMA integrity_check`, every batch must be whole (50 rows
 * or none), and latest_metrics must agree with the rows that are there.
 */
const KILLS = 12;
const BATCH = 50;
const home = tempDir('svw-db-kill-');
const random = seedrandom('svw-db-kill');

// The writer uses the built store code, exactly as a host does.
const WRITER = `
import { openWorkbench } from ${JSON.stringify(path.join(ROOT, 'dist/core/store/workbench.js'))};
import { transaction } from ${JSON.stringify(path.join(ROOT, 'dist/core/store/db.js'))};
import { ensureExperiment, insertMetrics } from ${JSON.stringify(path.join(ROOT, 'dist/core/store/runs.js'))};
const wb = openWorkbench(process.env.SVW_HOME);
const exp = ensureExperiment(wb.db, 'kill');
let run = wb.db.prepare("SELECT id FROM runs WHERE name = 'writer'").get()?.id;
if (!run) run = Number(wb.db.prepare(
  "INSERT INTO runs (experiment_id, name, preset, status, created_at, seed, config_hash, config, epochs_total) VALUES (?, 'writer', 'alexnet-cifar', 'running', ?, 0, 'h', '{}', 1)",
).run(exp, new Date().toISOString()).lastInsertRowid);
let step = wb.db.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id = ?').get(run).n;
process.stdout.write('ready\\n');
for (;;) {
  const points = Array.from({ length: ${BATCH} }, (_, i) => ({
    key: 'k' + (i % 5), step: step + i, epoch: 0, value: Math.random(), wallTime: Date.now() / 1000,
  }));
  transaction(wb.db, () => insertMetrics(wb.db, run, points));
  step += ${BATCH};
}
`;

afterAll(() => home.cleanup());

describe('a host killed during database writes', () => {
  it(`leaves a consistent database after ${KILLS} kills`, async () => {
    let previous = 0;
    for (let i = 0; i < KILLS; i++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER], {
        env: { ...process.env, SVW_HOME: home.dir },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise((r) => child.on('exit', r));
      await waitFor(() => out.includes('ready') || err.length > 0, 30_000, 'the writer');
      expect(err).toBe('');
      await new Promise((r) => setTimeout(r, 50 + random() * 400));
      child.kill('SIGKILL');
      await exited;

      const db = new Database(path.join(home.dir, 'workbench.db'));
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const { n } = db.prepare('SELECT COUNT(*) AS n FROM metrics').get() as { n: number };
        expect(n % BATCH).toBe(0); // whole transactions only
        expect(n).toBeGreaterThan(previous); // each writer committed something, and kept it
        previous = n;
        const latest = db
          .prepare(
            `SELECT l.key, l.step, l.min_value AS lo, l.max_value AS hi,
               (SELECT MAX(step) FROM metrics m WHERE m.run_id = l.run_id AND m.key = l.key) AS maxStep,
               (SELECT MIN(value) FROM metrics m WHERE m.run_id = l.run_id AND m.key = l.key) AS minValue,
               (SELECT MAX(value) FROM metrics m WHERE m.run_id = l.run_id AND m.key = l.key) AS maxValue
             FROM latest_metrics l`,
          )
          .all() as {
          step: number;
          maxStep: number;
          lo: number;
          hi: number;
          minValue: number;
          maxValue: number;
        }[];
        expect(latest).toHaveLength(5);
        for (const row of latest) {
          expect(row.step).toBe(row.maxStep);
          expect(row.lo).toBe(row.minValue);
          expect(row.hi).toBe(row.maxValue);
        }
      } finally {
        db.close();
      }
    }
  }, 300_000);
});
