import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostMessageSchema, type HostMessage } from '../../schema/messages.js';
import type { ClusterProfile } from '../../schema/cluster.js';
import {
  insertClusterJob,
  openClusterJobs,
  setSlurmJobId,
  type ClusterJobRow,
} from '../../store/cluster-jobs.js';
import { transaction, type Db } from '../../store/db.js';
import { getLease, hostGone, hostLease } from '../../store/leases.js';
import { errorMessage } from '../../util/errors.js';
import { workerEntry, type JobHost, type JobStartOptions, type OrphanedJob } from '../host.js';
import { abandonClusterJob, claimClusterJob } from '../slurm/takeover.js';
import { sbatch, SlurmError } from '../slurm/commands.js';
import { SlurmJob } from '../slurm/job.js';
import { SlurmPoller } from '../slurm/poller.js';
import { batchScript, submissionFiles } from '../slurm/script.js';

type StartMessage = Extract<HostMessage, { type: 'start' }>;

export interface SlurmHostOptions {
  /** How often squeue is asked about the jobs followed. */
  pollMs?: number;
  /** How often their event files are read. */
  tailMs?: number;
}

/** Polling Slurm every 5 s is gentle on a busy controller; event files are read every 0.5 s. */
export const SLURM_POLL_MS = 5_000;
export const SLURM_TAIL_MS = 500;

/**
 * Jobs as Slurm batch jobs on the cluster of one profile: a job is an sbatch script that runs
 * the worker entry on a compute node with the job's payload; cancel is scancel. Workers never
 * open the database (SQLite on a network file system is unsafe): they append their messages to
 * an event file in the spool, which this host reads and writes to the database. Jobs started in
 * one tick (a sweep) go out as one job array.
 */
export class SlurmJobHost implements JobHost {
  readonly remote = true;
  private batch: { job: SlurmJob; start: StartMessage }[] = [];
  private readonly poller: SlurmPoller;

  constructor(
    private readonly db: Db,
    readonly profile: ClusterProfile,
    options: SlurmHostOptions = {},
  ) {
    this.poller = new SlurmPoller(options.pollMs ?? SLURM_POLL_MS, options.tailMs ?? SLURM_TAIL_MS);
  }

  private get context() {
    return {
      db: this.db,
      profile: this.profile,
      submit: (job: SlurmJob, start: StartMessage) => this.queue(job, start),
      unfollow: (job: SlurmJob) => this.poller.remove(job),
      drainMs: Math.max(2_000, 4 * this.poller.tailMs),
    };
  }

  start(options?: JobStartOptions): SlurmJob {
    return new SlurmJob(this.context, Boolean(options?.resubmission));
  }

  /** Jobs whose host has stopped, with the payload each was started with. */
  orphans(): OrphanedJob[] {
    const me = hostLease(this.db).id;
    return openClusterJobs(this.db, this.profile.name)
      .filter(
        (row) => row.hostId !== me && (!row.hostId || hostGone(getLease(this.db, row.hostId))),
      )
      .flatMap((row) => {
        const start = readPayload(row);
        if (!start) {
          abandonClusterJob(
            this.db,
            row,
            `the job's payload in the spool (${row.dir}) is gone or unreadable, so no host can follow it; Slurm job ${row.slurmJobId ?? '(not submitted)'} may still run: scancel it`,
          );
          return [];
        }
        return [{ runId: row.runId, job: start.job, attach: () => this.attach(row) }];
      });
  }

  private attach(row: ClusterJobRow): SlurmJob | null {
    if (!claimClusterJob(this.db, row, hostLease(this.db).id)) return null;
    const job = new SlurmJob(this.context, false);
    job.begin(row);
    this.poller.add(job);
    return job;
  }

  /** Holds a job's start until the end of the tick, so that jobs started together go together. */
  private queue(job: SlurmJob, start: StartMessage): void {
    this.batch.push({ job, start });
    if (this.batch.length === 1) setImmediate(() => void this.submit(this.batch.splice(0)));
  }

  private async submit(batch: { job: SlurmJob; start: StartMessage }[]): Promise<void> {
    const p = this.profile;
    const runs = batch.map((b) => b.start.job.runId);
    const label = runs.length > 1 ? `r${runs[0]}-${runs.at(-1)}` : `r${runs[0]}`;
    const dir = path.join(p.spool, `svw-${label}-${randomBytes(4).toString('hex')}`);
    let id: string;
    try {
      id = await this.sbatch(dir, batch);
    } catch (err) {
      const hint = err instanceof SlurmError && err.hint ? ` (${err.hint})` : '';
      const message = `could not submit to cluster '${p.name}': ${errorMessage(err)}${hint}`;
      for (const { job } of batch) job.fail(message);
      // Nothing was submitted: its files would only be clutter in the spool.
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    const ids = batch.map((_, task) => (batch.length > 1 ? `${id}_${task}` : id));
    try {
      transaction(this.db, () =>
        batch.forEach(({ job }, task) => setSlurmJobId(this.db, job.row!.id, ids[task]!)),
      );
    } catch (err) {
      // The job runs either way; a host that takes it over finds its id by its name.
      process.stderr.write(`svw: could not record Slurm job ${id}: ${errorMessage(err)}\n`);
    }
    batch.forEach(({ job }, task) => {
      job.submitted(ids[task]!);
      job.say(
        'info',
        `submitted to cluster '${p.name}' as Slurm job ${ids[task]}${batch.length > 1 ? ` (task ${task} of array ${id})` : ''}, partition ${p.partition}`,
      );
      this.poller.add(job);
    });
  }

  /**
   * Writes a submission's folder (its jobs' records first, so that a host dying while sbatch
   * answers leaves a trace to find the job by; then the payloads and the script) and submits
   * it; resolves to the Slurm job id.
   */
  private async sbatch(
    dir: string,
    batch: { job: SlurmJob; start: StartMessage }[],
  ): Promise<string> {
    mkdirSync(dir, { recursive: true });
    const hostId = hostLease(this.db).id;
    const rows = transaction(this.db, () =>
      batch.map(({ job, start }, task) =>
        insertClusterJob(this.db, {
          runId: start.job.runId,
          cluster: this.profile.name,
          kind: start.job.kind as ClusterJobRow['kind'],
          dir,
          task,
          hostId,
          resubmission: job.resubmission,
        }),
      ),
    );
    batch.forEach(({ job, start }, task) => {
      job.begin(rows[task]!);
      writeAtomic(submissionFiles(dir, task).payload, JSON.stringify(start));
    });
    const script = submissionFiles(dir, 0).script;
    writeAtomic(
      script,
      batchScript({
        profile: this.profile,
        name: path.basename(dir),
        dir,
        tasks: batch.length,
        node: process.execPath,
        worker: workerEntry(),
      }),
    );
    return sbatch(script);
  }

  /** Stops following every job (they go on in the cluster). */
  close(): void {
    this.poller.clear();
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function readPayload(row: ClusterJobRow): StartMessage | null {
  try {
    const parsed = hostMessageSchema.parse(
      JSON.parse(readFileSync(submissionFiles(row.dir, row.task).payload, 'utf8')),
    );
    return parsed.type === 'start' ? parsed : null;
  } catch {
    return null;
  }
}
