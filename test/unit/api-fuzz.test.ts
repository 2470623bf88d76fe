import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import seedrandom from 'seedrandom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../core/api/contract.js';
import type { HostService } from '../../core/api/host-service.js';
import { createHostService } from '../../core/api/service.js';
import { startServer, type RunningServer } from '../../core/server/server.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { insertRun } from '../../core/store/runs.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { FakeHost, seedDataset } from '../helpers/fake-jobs.js';

// A thousand generated malformed calls at the real server over the real service: wrong types,
// huge strings, negative and enormous numbers, path traversal in paths and ids, unknown runs and
// methods. Each must be answered with a client error (or, when it happens to be valid, a result),
// never a 500, and the host must keep answering.
const REQUESTS = 1000;
const random = seedrandom('svw-fuzz');
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const STRINGS = [
  '',
  'x'.repeat(100_000),
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/nonexistent/folder',
  'res/image/1/../../../etc/passwd',
  '\u0000',
  'DROP TABLE runs; --',
  "name' OR '1'='1",
  '🙂'.repeat(50),
  'lr=-1',
  'batch=0',
  '=',
  'best',
];
const NUMBERS = [-1, 0, 1, 2, 1e308, -1e308, 2 ** 53, 2 ** 31, 0.5, 123456789];

function value(depth = 0): unknown {
  switch (Math.floor(random() * (depth > 2 ? 4 : 7))) {
    case 0:
      return pick(STRINGS);
    case 1:
      return pick(NUMBERS);
    case 2:
      return pick([true, false, null]);
    case 3:
      return random() < 0.5 ? undefined : pick(STRINGS).slice(0, 20);
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    default:
      return input(depth + 1);
  }
}

const KEYS = [
  'id',
  'runId',
  'datasetId',
  'indexId',
  'path',
  'name',
  'settings',
  'sweep',
  'query',
  'k',
  'ids',
  'filter',
  'sort',
  'limit',
  'offset',
  'epochs',
  'out',
  'key',
  'value',
  'text',
  'preset',
  'split',
  'checkpoint',
  'start',
  'which',
  'kind',
  'base64',
  '__proto__',
  'constructor',
];

function input(depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 5); i > 0; i--) out[pick(KEYS)] = value(depth);
  return out;
}

/** One malformed request: a method (or not), and a body that is rarely what it expects. */
function request(): { method: string; body: string; contentType: string } {
  const method =
    random() < 0.9
      ? pick(METHOD_NAMES)
      : pick(['', 'constructor', '__proto__', '../info', 'a'.repeat(300)]);
  const r = random();
  const body =
    r < 0.05
      ? '{"unterminated'
      : r < 0.1
        ? '[1,2,3]'
        : r < 0.15
          ? '"just a string"'
          : JSON.stringify(input());
  return { method, body, contentType: random() < 0.95 ? 'application/json' : 'text/plain' };
}

describe('the API under malformed requests', () => {
  const dirs = tempDir('svw-fuzz-');
  let service: HostService;
  let server: RunningServer;
  const serverErrors: unknown[] = [];

  beforeAll(async () => {
    const home = path.join(dirs.dir, 'home');
    const wb = openWorkbench(home);
    const datasetId = seedDataset(wb, 'tiny');
    const { config } = prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' });
    insertRun(wb.db, { experiment: 'fuzz', datasetId, config });
    wb.close();
    const site = path.join(dirs.dir, 'site');
    mkdirSync(site);
    writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>t</title>');
    service = createHostService({ home, kind: 'serve', jobHost: new FakeHost(), concurrency: 1 });
    server = await startServer({
      service,
      port: 0,
      staticDir: site,
      onError: (err) => serverErrors.push(err),
    });
  });
  afterAll(async () => {
    await server.close();
    await service.close();
    dirs.cleanup();
  });

  it(`answers ${REQUESTS} generated malformed calls without a server error`, async () => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const { method, body, contentType } = request();
      const res = await fetch(`http://127.0.0.1:${server.port}/api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { 'content-type': contentType, 'x-svw-token': server.token },
        body,
      });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500)
        throw new Error(`${method} ${body.slice(0, 200)} → ${res.status} ${text}`);
      if (res.status !== 200 && contentType === 'application/json')
        expect(JSON.parse(text)).toMatchObject({
          ok: false,
          error: { message: expect.any(String) },
        });
    }
    const rejected = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    // Nearly all of them are wrong in some way; the rest are harmless valid calls.
    expect(rejected).toBeGreaterThan(REQUESTS * 0.8);
    expect(serverErrors).toEqual([]);
    const info = await service.call('info', {});
    expect(info.ok).toBe(true);
  });

  it('serves no file outside the datasets through image URLs', async () => {
    const paths = [
      'res/image/1/../../../etc/passwd',
      'res/image/..%2f..%2f..%2fetc%2fpasswd/1',
      'res/mean/1%00',
      'res/filters/1/../../etc',
      'res/image/-1/0',
      'res/image/99999/0',
      'res/mean/1/extra',
    ];
    for (const p of paths) {
      const res = await fetch(`http://127.0.0.1:${server.port}/${p}`, {
        headers: { 'x-svw-token': server.token },
      });
      expect([400, 403, 404]).toContain(res.status);
      expect(await res.text()).not.toMatch(/root:/);
    }
  });
});
