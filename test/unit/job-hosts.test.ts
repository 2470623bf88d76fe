import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { JOB_HOSTS, openJobHost } from '../../core/jobs/hosts/index.js';
import { forkJobHost } from '../../core/jobs/hosts/fork.js';

const fork = vi.hoisted(() => vi.fn());
vi.mock('node:child_process', async (actual) => ({
  ...(await actual<typeof import('node:child_process')>()),
  fork,
}));
vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).electron);

const root = path.resolve(import.meta.dirname, '../..');

describe('the job host list', () => {
  it('names every host module of core/jobs/hosts/, each once', () => {
    const files = readdirSync(path.join(root, 'core/jobs/hosts'))
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => `core/jobs/hosts/${f}`);
    const listed = JOB_HOSTS.map((h) => h.module);
    expect(listed.filter((m) => m.startsWith('core/')).sort()).toEqual(files.sort());
    expect(new Set(JOB_HOSTS.map((h) => h.name)).size).toBe(JOB_HOSTS.length);
    for (const m of listed) expect(existsSync(path.join(root, m)), m).toBe(true);
  });

  it('opens the hosts core starts itself', async () => {
    expect(await openJobHost('fork')).toBe(forkJobHost);
    await expect(openJobHost('nowhere')).rejects.toThrow(/no job host 'nowhere' \(known: fork,/);
  });

  it("leaves a runtime's own host to that runtime, which exports a JobHost from the named file", async () => {
    const electron = JOB_HOSTS.find((h) => h.name === 'electron')!;
    expect('open' in electron).toBe(false);
    await expect(openJobHost('electron')).rejects.toThrow(/started by its own runtime/);
    const module = (await import(path.join(root, electron.module))) as Record<string, unknown>;
    const hosts = Object.values(module).filter(
      (v) => typeof (v as { start?: unknown } | null)?.start === 'function',
    );
    expect(hosts).toHaveLength(1);
  });
});

describe('the child-process host', () => {
  it("forks the worker entry with the job's own environment on top of the host's", () => {
    fork.mockReturnValue(Object.assign(new EventEmitter(), { pid: 42, connected: true }));
    const job = forkJobHost.start({ env: { CUDA_VISIBLE_DEVICES: '3' } });
    expect(job.pid).toBe(42);
    const [entry, , options] = fork.mock.calls.at(-1)!;
    expect(entry).toMatch(/dist[\\/]core[\\/]jobs[\\/]worker\.js$/);
    expect(options.env).toEqual({ ...process.env, CUDA_VISIBLE_DEVICES: '3' });
    forkJobHost.start();
    expect(fork.mock.calls.at(-1)![2].env).toBeUndefined();
  });
});
