import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readNpyInfo } from '../../core/util/npy.js';
import { CIFAR_SMALL, svw, svwJson, tempDir } from '../helpers/cli.js';

/**
 * The whole path a user takes: import the shared CIFAR sample, train alexnet-cifar in a worker
 * process, and find the run, its parameters, metrics, per-class results and checkpoints in
 * the database. A few epochs must beat chance (90% top-1 error) clearly.
 */
const home = tempDir('svw-home-');
const env = { SVW_HOME: home.dir };
afterAll(() => home.cleanup());

const EPOCHS = 3;
// Three epochs of 5000 images on one core, while other test files share the machine.
const BUDGET_MS = 15 * 60_000;
let runId = 0;

describe('svw train on the shared CIFAR sample', () => {
  it(
    'learns well above chance, and every row of the run is in the database',
    () => {
      svwJson(['dataset', 'import', CIFAR_SMALL, '--name', 'cifar', '--json'], env);
      const result = svwJson<{ runId: number; status: string; metrics: Record<string, number> }>(
        [
          'train',
          '--dataset',
          'cifar',
          '--preset',
          'alexnet-cifar',
          '--epochs',
          String(EPOCHS),
          '--set',
          'batch=64',
          // Adam reaches a clear margin over chance in fewer epochs than the paper's SGD, which
          // keeps this test within the suite's time budget on two cores.
          '--set',
          'optimizer=adam',
          '--set',
          'lr=0.001',
          '--json',
        ],
        env,
      );
      expect(result.status).toBe('completed');
      runId = result.runId;
      expect(result.metrics.val_top1_error).toBeLessThanOrEqual(0.7);

      const db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
      try {
        const id = result.runId;
        const run = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Record<
          string,
          unknown
        >;
        expect(run).toMatchObject({
          status: 'completed',
          epochs_done: EPOCHS,
          epochs_total: EPOCHS,
          backend: 'wasm',
          preset: 'alexnet-cifar',
        });
        expect(run.engine_version).toBe('4.22.0');
        expect(run.started_at).toBeTruthy();
        expect(run.ended_at).toBeTruthy();
        const param = (key: string) =>
          (
            db.prepare('SELECT value FROM params WHERE run_id = ? AND key = ?').get(id, key) as {
              value: string;
            }
          ).value;
        expect(param('optim.lr')).toBe('0.001');
        expect(param('optim.type')).toBe('adam');
        expect(param('batchSize')).toBe('64');
        expect(param('model.lrn.k')).toBe('2');
        const count = (key: string) =>
          (
            db
              .prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND key = ?')
              .get(id, key) as { n: number }
          ).n;
        const steps = EPOCHS * Math.ceil(5000 / 64);
        expect(count('train_loss')).toBe(steps);
        expect(count('lr')).toBe(steps);
        expect(count('val_top1_error')).toBe(EPOCHS);
        const evaluations = db
          .prepare(
            'SELECT images, per_class_error, per_class_count, confusion FROM evaluations WHERE run_id = ? ORDER BY id',
          )
          .all(id) as {
          images: number;
          per_class_error: Buffer;
          per_class_count: Buffer;
          confusion: Buffer | null;
        }[];
        expect(evaluations).toHaveLength(EPOCHS);
        const last = evaluations.at(-1)!;
        expect(last.images).toBe(1000);
        expect(
          new Int32Array(
            last.per_class_count.buffer.slice(
              last.per_class_count.byteOffset,
              last.per_class_count.byteOffset + last.per_class_count.byteLength,
            ),
          ),
        ).toEqual(new Int32Array(10).fill(100));
        const confusion = new Int32Array(
          last.confusion!.buffer.slice(
            last.confusion!.byteOffset,
            last.confusion!.byteOffset + last.confusion!.byteLength,
          ),
        );
        let total = 0;
        for (let i = 2; i < confusion.length; i += 3) total += confusion[i]!;
        expect(total).toBe(1000);
        const kinds = db
          .prepare('SELECT kind FROM checkpoints WHERE run_id = ? ORDER BY kind')
          .all(id);
        expect(kinds).toEqual([{ kind: 'best' }, { kind: 'last' }]);
      } finally {
        db.close();
      }

      const show = svwJson<{
        perClass: { class: string; error: number }[];
        checkpoints: unknown[];
      }>(['runs', 'show', String(result.runId), '--json'], env);
      expect(show.perClass.map((c) => c.class)).toContain('airplane');
      expect(show.perClass.every((c) => c.error >= 0 && c.error <= 1)).toBe(true);
    },
    BUDGET_MS,
  );

  it(
    'finds same-class neighbours by fc7 features well above chance',
    () => {
      expect(runId).toBeGreaterThan(0);
      const missing = svw(['search', String(runId), '--dataset-image', '0'], env);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/no feature index.*\n.*svw index build/);

      const index = svwJson<{ count: number; dims: number; path: string; split: string }>(
        ['index', 'build', String(runId), '--split', 'train', '--json'],
        env,
      );
      expect(index).toMatchObject({ count: 5000, dims: 1024, split: 'train' });
      const info = readNpyInfo(index.path);
      expect(info).toMatchObject({ dtype: '<f4', shape: [5000, 1024] });
      const first = readFileSync(index.path);
      svwJson(['index', 'build', String(runId), '--split', 'train', '--json'], env);
      expect(readFileSync(index.path).equals(first)).toBe(true); // deterministic

      const evaluation = svwJson<{ precision: Record<string, number>; queries: number }>(
        ['retrieval-eval', String(runId), '--json'],
        env,
      );
      expect(evaluation.queries).toBe(1000);
      expect(evaluation.precision['p@5']).toBeGreaterThan(0.2); // chance is 0.1
      const shown = svwJson<{ metrics: Record<string, number> }>(
        ['runs', 'show', String(runId), '--json'],
        env,
      );
      expect(shown.metrics.retrieval_p_at_5).toBeCloseTo(evaluation.precision['p@5']!, 6);

      // A query file from outside the index is preprocessed exactly like the dataset's own images:
      // a val image given as a file finds the same neighbours, at the same distances, as by its id.
      const db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
      const valImage = db
        .prepare(`SELECT idx, path FROM dataset_images WHERE split = 'val' ORDER BY idx LIMIT 1`)
        .get() as { idx: number; path: string };
      db.close();
      type Search = { neighbors: { imageId: number; label: string; distance: number }[] };
      const byId = svwJson<Search>(
        ['search', String(runId), '--dataset-image', String(valImage.idx), '-k', '8', '--json'],
        env,
      );
      const byFile = svwJson<Search>(
        ['search', String(runId), '--image', valImage.path, '-k', '8', '--json'],
        env,
      );
      expect(byFile.neighbors.map((n) => n.imageId)).toEqual(byId.neighbors.map((n) => n.imageId));
      byFile.neighbors.forEach((n, i) =>
        expect(n.distance).toBeCloseTo(byId.neighbors[i]!.distance, 3),
      );
      expect(byId.neighbors).toHaveLength(8);

      const bad = svw(
        ['search', String(runId), '--image', path.join(home.dir, 'workbench.db')],
        env,
      );
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/cannot read image .*workbench\.db/);
    },
    BUDGET_MS,
  );
});
