import os from 'node:os';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  getLease,
  HostLease,
  LEASE_RENEW_MS,
  LEASE_TTL_S,
  leaseHolds,
  renewLease,
} from '../../core/store/leases.js';
import { getRun, insertRun, markRunning, recoverInterrupted } from '../../core/store/runs.js';
import { openWorkbench } from '../../core/store/workbench.js';
import { prepareRun } from '../../core/train/prepare.js';
import { tempDir } from '../helpers/cli.js';
import { seedDataset } from '../helpers/fake-jobs.js';

const home = tempDir('svw-lease-');
const wb = openWorkbench(home.dir);
const datasetId = seedDataset(wb, 'tiny');
afterAll(() => {
  wb.close();
  home.cleanup();
});

const runningUnder = (hostId: string, hostPid: number) => {
  const id = insertRun(wb.db, {
    experiment: 'lease',
    datasetId,
    config: prepareRun(wb.db, { dataset: datasetId, preset: 'alexnet-cifar' }).config,
  });
  expect(markRunning(wb.db, id, { hostId, hostPid, workerPid: null })).toBe(true);
  return id;
};

describe('host liveness by lease', () => {
  it('keeps a run whose host renews its lease, though that pid is dead here (another machine)', () => {
    renewLease(wb.db, { id: 'far', machine: 'gpu-box', pid: 999_999, kind: 'serve', ttlS: 90 });
    const id = runningUnder('far', 999_999);
    expect(recoverInterrupted(wb.db)).not.toContain(id);
    expect(getRun(wb.db, id)!.status).toBe('running');
  });

  it('interrupts a run whose lease lapsed, though its pid is alive (reused)', () => {
    const at = Date.now() / 1000 - 10 * LEASE_TTL_S;
    renewLease(wb.db, { id: 'gone', machine: 'here', pid: process.pid, kind: 'cli', ttlS: 90 }, at);
    const id = runningUnder('gone', process.pid);
    expect(recoverInterrupted(wb.db)).toContain(id);
    const run = getRun(wb.db, id)!;
    expect(run.status).toBe('interrupted');
    expect(run.error).toMatch(/on here \(pid \d+\) stopped while this run was running/);
  });

  it('interrupts a run at once whose live lease was taken on this machine by a process now gone', () => {
    renewLease(wb.db, {
      id: 'killed',
      machine: os.hostname(),
      pid: 999_998,
      kind: 'cli',
      ttlS: 90,
    });
    const id = runningUnder('killed', 999_998);
    expect(recoverInterrupted(wb.db, (pid) => pid !== 999_998)).toContain(id);
    expect(getRun(wb.db, id)!.error).toMatch(/pid 999998\) stopped while this run was running/);
  });

  it('interrupts a run whose host released its lease (closed) and left it running', () => {
    const id = runningUnder('never-written', process.pid);
    expect(recoverInterrupted(wb.db)).toContain(id);
  });

  it('is renewed while a job holds it, and left to lapse when none does', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const lease = new HostLease(wb.db, 'serve');
      const release = lease.hold();
      expect(getLease(wb.db, lease.id)).toMatchObject({ renewedAt: 1000, kind: 'serve' });
      vi.advanceTimersByTime(LEASE_RENEW_MS);
      expect(getLease(wb.db, lease.id)!.renewedAt).toBe(1000 + LEASE_RENEW_MS / 1000);
      const second = lease.hold();
      release();
      vi.advanceTimersByTime(LEASE_RENEW_MS);
      expect(getLease(wb.db, lease.id)!.renewedAt).toBe(1000 + (2 * LEASE_RENEW_MS) / 1000);
      second();
      vi.advanceTimersByTime(10 * LEASE_RENEW_MS);
      const row = getLease(wb.db, lease.id);
      expect(row!.renewedAt).toBe(1000 + (2 * LEASE_RENEW_MS) / 1000);
      expect(leaseHolds(row, Date.now() / 1000)).toBe(false);
      lease.release();
      expect(getLease(wb.db, lease.id)).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
