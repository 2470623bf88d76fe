import type { BackendChoice } from '../engine/backends.js';
import type { WorkerMessage } from '../schema/messages.js';
import type { Workbench } from '../store/workbench.js';
import type { JobHost, OrphanedJob, QueueState } from './host.js';
import { RunningJob } from './run-job.js';

export interface RemoteJobsOptions {
  backend: BackendChoice;
  /** The remote hosts whose orphaned jobs are taken over. */
  remoteHosts?: () => JobHost[];
  onMessage?: (runId: number, message: WorkerMessage) => void;
  onQueueState: (runId: number, state: QueueState) => void;
  /** Hands a training run's job to the scheduler, which follows it as one of its own. */
  followRun: (runId: number, job: RunningJob) => void;
  /** Whether the scheduler already follows the run. */
  follows: (runId: number) => boolean;
  /** A job tracked here has ended. */
  ended: () => void;
}

/**
 * The scheduler's remote jobs besides its training runs (evaluations and index builds on a
 * cluster, which take no slot of this machine), and the taking over of the jobs a stopped host
 * left running in a cluster.
 */
export class RemoteJobs {
  private readonly jobs = new Set<RunningJob>();

  constructor(
    private readonly wb: Workbench,
    private readonly options: RemoteJobsOptions,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  /** Follows a job until it ends. */
  track(job: RunningJob): void {
    this.jobs.add(job);
    void job.done.finally(() => {
      this.jobs.delete(job);
      this.options.ended();
    });
  }

  /** Stops following every one (host shutdown); they go on in their cluster. */
  detachAll(): void {
    for (const job of this.jobs) job.detach();
  }

  /**
   * Follows again the remote jobs a stopped host left running (its lease lapsed, or its process
   * is gone): each resumes reading its event file where that host stopped. `only` picks runs.
   * Returns the runs taken over.
   */
  reattach(only: (runId: number) => boolean): number[] {
    const taken: number[] = [];
    for (const host of this.options.remoteHosts?.() ?? [])
      for (const orphan of host.orphans?.() ?? [])
        if (only(orphan.runId) && this.adopt(host, orphan)) taken.push(orphan.runId);
    return taken;
  }

  private adopt(host: JobHost, orphan: OrphanedJob): boolean {
    const { runId } = orphan;
    if (this.options.follows(runId)) return false;
    const process = orphan.attach();
    if (!process) return false;
    const job = RunningJob.attach(this.wb.db, host, orphan.job, process, {
      backend: this.options.backend,
      onMessage: (m) => this.options.onMessage?.(runId, m),
      onQueueState: (state) => this.options.onQueueState(runId, state),
    });
    if (orphan.job.kind === 'train') this.options.followRun(runId, job);
    else this.track(job);
    return true;
  }
}
