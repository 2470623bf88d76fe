import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEvent } from '../../core/api/contract.js';
import { createHostService } from '../../core/api/service.js';
import { forkJobHost } from '../../core/jobs/hosts/fork.js';
import { ROOT, svw, svwJson, tempDir } from '../helpers/cli.js';
import { relativeError } from '../helpers/numeric.js';
import { webgpuSkipReason } from '../helpers/webgpu.js';

/**
 * Training on webgpu in real workers (the CLI's and a serve host's), on a few dozen real images
 * with a narrow alexnet-cifar and no dropout, so that every run of a seed is deterministic and
 * runs on different engines can be compared step by step.
 */
const skip = await webgpuSkipReason('webgpu-runs');

const home = tempDir('svw-webgpu-home-');
const env = { SVW_HOME: home.dir };
const SETTINGS = [
  ...[1, 2, 3, 4, 5].map((i) => `conv${i}.filters=8`),
  'fc=32,32',
  'dropout=0',
  'batch=8',
  'seed=5',
].flatMap((s) => ['--set', s]);
const TRAIN = ['train', '--dataset', 'tiny', '--preset', 'alexnet-cifar', ...SETTINGS];

let db: Database.Database;
const run = (id: number) =>
  db.prepare('SELECT status, error, backend, device FROM runs WHERE id = ?').get(id) as {
    status: string;
    error: string | null;
    backend: string;
    device: string;
  };
const metric = (id: number, key: string) =>
  (
    db
      .prepare('SELECT value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step')
      .all(id, key) as { value: number }[]
  ).map((r) => r.value);
const train = (args: string[]) =>
  svwJson<{ runId: number; status: string }>([...args, '--json'], env);

describe.skipIf(skip !== null)('webgpu runs', () => {
  let onWebgpu = 0;
  let reference = 0;
  beforeAll(() => {
    svwJson(
      ['dataset', 'import', path.join(ROOT, 'demo/cifar10-demo'), '--name', 'tiny'].concat([
        '--max-per-class',
        '4',
        '--json',
      ]),
      env,
    );
    db = new Database(path.join(home.dir, 'workbench.db'), { readonly: true });
  });
  afterAll(() => {
    db?.close();
    home.cleanup();
  });

  it('trains in a CLI worker on webgpu, records the adapter and lowers the loss', () => {
    const result = train([...TRAIN, '--epochs', '2', '--backend', 'webgpu']);
    onWebgpu = result.runId;
    expect(result.status).toBe('completed');
    const row = run(onWebgpu);
    expect(row.backend).toBe('webgpu');
    const logs = db
      .prepare('SELECT message FROM run_logs WHERE run_id = ? ORDER BY rowid')
      .all(onWebgpu) as { message: string }[];
    const adapter = logs.find((l) => l.message.startsWith('adapter: '))?.message;
    expect(adapter).toMatch(/^adapter: .+ \(vendor .+, architecture .+\)$/);
    // The run's device names the adapter it trained on.
    expect(row.device).toContain(adapter!.slice('adapter: '.length).split(' (vendor')[0]!);
    const [first, second] = metric(onWebgpu, 'epoch_train_loss');
    expect(second).toBeLessThan(first!);
  });

  it('a checkpoint written on webgpu resumes on wasm, to the same losses as wasm alone', () => {
    reference = train([...TRAIN, '--epochs', '3', '--backend', 'wasm']).runId;
    const resumed = train(['train', '--resume', String(onWebgpu), '--epochs', '3']);
    expect(resumed.status).toBe('completed');
    // auto here is wasm (lavapipe is a software adapter), which the run now records.
    expect(run(onWebgpu).backend).toBe('wasm');
    const ours = metric(onWebgpu, 'train_loss');
    const theirs = metric(reference, 'train_loss');
    expect(ours).toHaveLength(theirs.length);
    expect(relativeError(ours, theirs)).toBeLessThanOrEqual(1e-3);
  });

  it("a checkpoint written on wasm resumes on webgpu in a serve host's worker", async () => {
    const onWasm = train([...TRAIN, '--epochs', '1', '--backend', 'wasm']).runId;
    const service = createHostService({
      home: home.dir,
      kind: 'serve',
      jobHost: forkJobHost,
      backend: 'webgpu',
    });
    try {
      const ended = new Promise<PushEvent>((resolve) =>
        service.onEvent((e) => {
          if (e.type === 'run-status' && e.runId === onWasm && e.status !== 'queued')
            if (e.status !== 'running') resolve(e);
        }),
      );
      const outcome = await service.call('resumeRun', { id: onWasm, epochs: 2 });
      expect(outcome.ok).toBe(true);
      expect(await ended).toMatchObject({ status: 'completed', error: null });
    } finally {
      await service.close();
    }
    expect(run(onWasm).backend).toBe('webgpu');
    const ours = metric(onWasm, 'train_loss');
    const theirs = metric(reference, 'train_loss').slice(0, ours.length);
    expect(ours.length).toBeGreaterThan(0);
    expect(relativeError(ours, theirs)).toBeLessThanOrEqual(1e-3);
  });

  it.runIf(process.platform === 'linux')(
    '--backend webgpu without an adapter is refused in one line, before a run exists',
    () => {
      const runs = () => (db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
      const before = runs();
      const result = svw([...TRAIN, '--backend', 'webgpu'], {
        ...env,
        // The Vulkan loader then finds no driver, as on a machine without one.
        VK_ICD_FILENAMES: path.join(home.dir, 'no-such-icd.json'),
      });
      expect(result.code).not.toBe(0);
      const ours = result.stderr.split('\n').filter((l) => l.startsWith('svw:'));
      expect(ours[0]).toMatch(
        /^svw: error: backend 'webgpu' cannot load: Dawn found no WebGPU adapter: install your GPU's Vulkan driver/,
      );
      expect(runs()).toBe(before);
    },
  );
});
