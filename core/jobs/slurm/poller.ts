import { errorMessage } from '../../util/errors.js';
import { sacctJob, scontrolJob, squeue, SlurmError } from './commands.js';
import type { SlurmJob } from './job.js';
import { stillActive, type SlurmSighting } from './states.js';

/**
 * Follows a cluster's jobs: reads their event files every `tailMs`, and asks squeue about all of
 * them in one call every `pollMs`. A job squeue shows as ended (or no longer shows) is asked of
 * scontrol, then sacct, for its exit code and node.
 */
export class SlurmPoller {
  private readonly jobs = new Set<SlurmJob>();
  private tailTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private pollSoon = false;

  constructor(
    readonly pollMs: number,
    readonly tailMs: number,
  ) {}

  add(job: SlurmJob): void {
    this.jobs.add(job);
    this.tailTimer ??= setInterval(() => this.tail(), this.tailMs);
    this.pollTimer ??= setInterval(() => void this.poll(), this.pollMs);
    // A new job's first state (PENDING, and why) is worth showing at once.
    this.soon();
  }

  /** Asks squeue before the next regular poll (once per tail interval at most). */
  private soon(): void {
    if (this.pollSoon) return;
    this.pollSoon = true;
    setImmediate(() => {
      this.pollSoon = false;
      void this.poll();
    });
  }

  remove(job: SlurmJob): void {
    this.jobs.delete(job);
    if (this.jobs.size === 0) this.clear();
  }

  clear(): void {
    this.jobs.clear();
    clearInterval(this.tailTimer);
    clearInterval(this.pollTimer);
    this.tailTimer = this.pollTimer = undefined;
  }

  private tail(): void {
    for (const job of [...this.jobs]) job.tail();
    // A worker that reported its end is about to end in Slurm too: its run need not wait a
    // whole poll interval to be recorded as ended.
    if ([...this.jobs].some((j) => j.awaitingEnd)) this.soon();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.jobs.size === 0) return;
    this.polling = true;
    try {
      for (const job of [...this.jobs]) if (!job.slurmJobId) await job.recoverSubmission();
      const followed = [...this.jobs].filter((j) => j.slurmJobId);
      let seen: Map<string, SlurmSighting>;
      try {
        seen = await squeue(followed.map((j) => j.slurmJobId!.split('_')[0]!));
      } catch (err) {
        const message = err instanceof SlurmError ? err.message : errorMessage(err);
        for (const job of followed) job.unreachable(message);
        return;
      }
      for (const job of followed) {
        const id = job.slurmJobId!;
        let sighting = seen.get(id) ?? null;
        if (!sighting || !stillActive(sighting.state))
          sighting = (await scontrolJob(id).catch(() => null)) ?? sighting ?? (await sacctJob(id));
        job.observe(sighting);
      }
    } finally {
      this.polling = false;
    }
  }
}
