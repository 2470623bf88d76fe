import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Db } from './db.js';

/** How long a lease holds without renewal, and how often a host with jobs renews it. */
export const LEASE_TTL_S = 90;
export const LEASE_RENEW_MS = 20_000;

export interface LeaseRow {
  id: string;
  machine: string;
  pid: number;
  kind: string;
  startedAt: number;
  renewedAt: number;
  ttlS: number;
}

const seconds = () => Date.now() / 1000;

/** Writes (or renews) a lease; `at` is seconds since the Unix epoch. */
export function renewLease(
  db: Db,
  lease: Omit<LeaseRow, 'startedAt' | 'renewedAt'>,
  at = seconds(),
): void {
  db.prepare(
    `INSERT INTO host_leases (id, machine, pid, kind, started_at, renewed_at, ttl_s)
     VALUES (@id, @machine, @pid, @kind, @at, @at, @ttlS)
     ON CONFLICT (id) DO UPDATE SET renewed_at = excluded.renewed_at, ttl_s = excluded.ttl_s`,
  ).run({ ...lease, at });
}

export function releaseLease(db: Db, id: string): void {
  db.prepare('DELETE FROM host_leases WHERE id = ?').run(id);
}

export function getLease(db: Db, id: string): LeaseRow | undefined {
  return db
    .prepare(
      `SELECT id, machine, pid, kind, started_at AS startedAt, renewed_at AS renewedAt, ttl_s AS ttlS
       FROM host_leases WHERE id = ?`,
    )
    .get(id) as LeaseRow | undefined;
}

/** Whether a lease holds at `at`: it exists and was renewed within its time to live. */
export function leaseHolds(lease: LeaseRow | undefined, at = seconds()): lease is LeaseRow {
  return lease !== undefined && lease.renewedAt + lease.ttlS >= at;
}

/** Whether a process of this machine exists (one of another user's counts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the host of a lease is gone: the lease lapsed or was released, or it was taken on this
 * machine by a process that no longer exists (a killed host cannot release it, and waiting out
 * its time to live would leave its work stranded that long).
 */
export function hostGone(
  lease: LeaseRow | undefined,
  at = seconds(),
  alive: (pid: number) => boolean = processAlive,
): boolean {
  if (!leaseHolds(lease, at)) return true;
  return lease.machine === os.hostname() && lease.pid !== process.pid && !alive(lease.pid);
}

/** Drops leases that expired long ago (a host that crashed), keeping the table small. */
export function pruneLeases(db: Db, at = seconds()): void {
  db.prepare('DELETE FROM host_leases WHERE renewed_at + ttl_s * 10 < ?').run(at);
}

/**
 * This process's lease on one database: written when the first job starts, renewed every
 * {@link LEASE_RENEW_MS} while any job runs, released when the last one ends. Runs and queued
 * runs carry its id, so another host that opens the home can tell live work from abandoned.
 */
export class HostLease {
  readonly id = randomUUID();
  private holders = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    readonly kind: string,
    private readonly onRenewFailure: (err: unknown) => void = () => {},
  ) {}

  /** Renews the lease now (a failed renewal is retried on the next beat). */
  renew(): void {
    try {
      renewLease(this.db, {
        id: this.id,
        machine: os.hostname(),
        pid: process.pid,
        kind: this.kind,
        ttlS: LEASE_TTL_S,
      });
    } catch (err) {
      this.onRenewFailure(err);
    }
  }

  /** One more job relies on the lease; returns the function that ends that reliance. */
  hold(): () => void {
    if (this.holders++ === 0) {
      this.renew();
      this.timer = setInterval(() => this.renew(), LEASE_RENEW_MS);
      this.timer.unref();
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.holders === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  get held(): boolean {
    return this.holders > 0;
  }

  /** Deletes the lease (the host is closing): what still names it is abandoned. */
  release(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.holders = 0;
    try {
      releaseLease(this.db, this.id);
    } catch {
      // Unwritable now, it expires by itself.
    }
  }
}

const leases = new WeakMap<Db, HostLease>();

/** The lease this process holds on `db` (one per database connection, made on first use). */
export function hostLease(db: Db, kind = 'cli'): HostLease {
  let lease = leases.get(db);
  if (!lease) {
    lease = new HostLease(db, kind);
    leases.set(db, lease);
  }
  return lease;
}
