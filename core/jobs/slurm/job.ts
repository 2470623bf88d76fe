import { EventFileReader } from '../event-file.js';
import type { JobOutcome, JobProcess, QueueState, Receipt } from '../host.js';
import type { HostMessage, WorkerMessage } from '../../schema/messages.js';
import type { ClusterProfile } from '../../schema/cluster.js';
import {
  commitOffset,
  discardClusterJob,
  endClusterJob,
  getClusterJob,
  markCancelRequested,
  recordSighting,
  setSlurmJobId,
  type ClusterJobRow,
} from '../../store/cluster-jobs.js';
import type { Db } from '../../store/db.js';
import { errorMessage } from '../../util/errors.js';
import { scancel } from './commands.js';
import { submissionFiles } from './script.js';
import { jobOutcome, slurmPhase, type SlurmPhase, type SlurmSighting } from './states.js';
import { recallEvents, submittedId } from './takeover.js';

type Ended = Extract<SlurmPhase, { phase: 'ended' }>;

/** The longest an ended job's file is read for a worker that goes on writing. */
const MAX_DRAIN_MS = 120_000;

/** How long after its submission began a job without a Slurm id may still be getting one. */
const SUBMIT_GRACE_S = 120;

/** What a Slurm job needs of its host: the database, the profile, and submitting its start. */
export interface SlurmJobContext {
  db: Db;
  profile: ClusterProfile;
  submit(job: SlurmJob, start: Extract<HostMessage, { type: 'start' }>): void;
  unfollow(job: SlurmJob): void;
  /** How long an ended job's event file is still read for its worker's last report. */
  drainMs: number;
}

/**
 * One job on a Slurm cluster, seen as a worker process: its messages are the lines of its event
 * file, each handed over with a receipt that moves the stored offset past it in the same
 * transaction; its exit is the end Slurm reports, once the file has been read to its end.
 */
export class SlurmJob implements JobProcess {
  readonly pid = undefined;
  row: ClusterJobRow | null = null;
  private reader: EventFileReader | null = null;
  private onMessageHandler: (message: unknown, receipt?: Receipt) => void = () => {};
  private onExitHandler: (
    code: number | null,
    reason: string,
    outcome?: JobOutcome,
    receipt?: Receipt,
  ) => void = () => {};
  private onQueueHandler: (state: QueueState) => void = () => {};
  private lastDetail: string | null = null;
  private cancelRequested = false;
  private sawStarted = false;
  private sawEnd = false;
  private ending: { phase: Ended; since: number; state: string } | null = null;
  /** The event file's size when it last grew, and when that was. */
  private seenBytes = 0;
  private lastGrowth = 0;
  private warned = false;
  /** A `done` stored before this host took the job over, and an error, see recall(). */
  private replay: unknown = null;
  private priorError: string | null = null;
  finished = false;

  constructor(
    private readonly ctx: SlurmJobContext,
    readonly resubmission: boolean,
  ) {}

  send(message: HostMessage): void {
    if (message.type === 'start') this.ctx.submit(this, message);
    else this.cancel();
  }

  /** Slurm escalates to SIGKILL by itself after its KillWait, so a kill is a cancel too. */
  kill(): void {
    this.cancel();
  }

  onMessage(handler: (message: unknown, receipt?: Receipt) => void): void {
    this.onMessageHandler = handler;
  }

  onExit(handler: SlurmJob['onExitHandler']): void {
    this.onExitHandler = handler;
  }

  onQueueState(handler: (state: QueueState) => void): void {
    this.onQueueHandler = handler;
  }

  detach(): void {
    this.finished = true;
    this.ctx.unfollow(this);
  }

  get slurmJobId(): string | null {
    return this.row?.slurmJobId ?? null;
  }

  /** Its worker has reported its end, and Slurm has not yet: worth asking soon. */
  get awaitingEnd(): boolean {
    return this.sawEnd && !this.ending && !this.finished;
  }

  /** Starts following the job: submitted now, or taken over at the offset a stopped host left. */
  begin(row: ClusterJobRow): void {
    this.row = row;
    const events = submissionFiles(row.dir, row.task).events;
    this.reader = new EventFileReader(events, row.eventsOffset, row.eventsLine);
    this.cancelRequested ||= row.cancelRequested;
    if (row.eventsOffset > 0) this.recall(events, row.eventsOffset);
  }

  /**
   * What the host that stored the file up to `offset` knew: whether the worker started, and
   * reported its end. A `done` it stored is handed on again (it writes nothing), so the run ends
   * as the worker said; an error it stored is the run's error.
   */
  private recall(events: string, offset: number): void {
    const { started, done, error } = recallEvents(events, offset);
    this.sawStarted = started;
    this.replay = done;
    this.priorError = error;
    this.sawEnd = done !== null || error !== null;
  }

  /** sbatch has answered: a cancel asked for meanwhile goes out now. */
  submitted(slurmJobId: string): void {
    this.row!.slurmJobId = slurmJobId;
    this.row!.state = 'PENDING';
    if (this.cancelRequested) this.cancel();
  }

  /**
   * A job taken over from a host that died while sbatch answered: its id is found by its name
   * (the submission folder's); when Slurm has no such job after a while, it was never submitted.
   */
  async recoverSubmission(): Promise<void> {
    const row = this.row;
    if (!row || row.slurmJobId || this.finished) return;
    let id: string | null;
    try {
      id = await submittedId(row);
    } catch (err) {
      return this.unreachable(errorMessage(err));
    }
    if (id) {
      setSlurmJobId(this.ctx.db, row.id, id);
      return this.submitted(id);
    }
    if (Date.now() / 1000 - row.submittedAt > SUBMIT_GRACE_S)
      this.fail(
        'the workbench stopped while submitting this job, and Slurm has no job of its name: it was never submitted; start the run again',
      );
  }

  /**
   * The job could not be submitted: it ends failed with the reason, and its record goes (nothing
   * ran); the run keeps everything else, to be started again.
   */
  fail(message: string): void {
    const row = this.row;
    const pending = row !== null && row.slurmJobId === null;
    this.finish({ status: 'failed', message }, 'was not submitted', () => {
      if (pending) discardClusterJob(this.ctx.db, row.id);
      else if (row) endClusterJob(this.ctx.db, row.id);
    });
  }

  private cancel(): void {
    this.cancelRequested = true;
    const row = this.row;
    if (!row) return; // not submitted yet: cancelled as soon as sbatch answers (submitted)
    try {
      markCancelRequested(this.ctx.db, row.id);
      row.cancelRequested = true;
    } catch {
      // Unwritable now: the CANCELLED state still ends the run, only worded as not ours.
    }
    if (row.slurmJobId)
      scancel(row.slurmJobId).catch((err: unknown) =>
        this.say('warn', `scancel ${row.slurmJobId} failed: ${errorMessage(err)}`),
      );
  }

  /** A line for the run's log from the host itself (no offset moves with it). */
  say(level: 'info' | 'warn' | 'error', message: string): void {
    this.onMessageHandler({ type: 'log', level, message } satisfies WorkerMessage);
  }

  /** The controller could not be asked: said once in the run's log, until it answers again. */
  unreachable(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.say(
      'warn',
      `cannot ask Slurm about job ${this.slurmJobId}: ${message}; the job's reports are still read from its event file`,
    );
  }

  /** Hands over every complete line written since the last call; ends the job once drained. */
  tail(): void {
    if (this.finished || !this.reader || !this.row) return;
    const row = this.row;
    if (this.replay) {
      this.onMessageHandler(this.replay);
      this.replay = null;
    }
    let lines;
    try {
      lines = this.reader.read();
    } catch (err) {
      return this.unreadable(err);
    }
    for (const line of lines) {
      const receipt = () => commitOffset(this.ctx.db, row.id, line.end, line.line);
      if (!line.ok) {
        this.onMessageHandler({ type: 'log', level: 'warn', message: line.problem }, receipt);
        continue;
      }
      const type = (line.value as { type?: unknown } | null)?.type;
      if (type === 'started') this.sawStarted = true;
      if (type === 'done' || type === 'error') this.sawEnd = true;
      this.onMessageHandler(line.value, receipt);
    }
    const now = Date.now();
    if (lines.length > 0 || this.reader.offset + this.reader.unfinished() !== this.seenBytes) {
      this.seenBytes = this.reader.offset + this.reader.unfinished();
      this.lastGrowth = now;
    }
    if (this.ending && this.drained(now)) this.conclude();
  }

  /**
   * Whether an ended job's file has all its worker will write. Slurm reports an end before the
   * worker is gone (it signals it, and kills it a KillWait later; a failed node's worker may
   * even run on), and a shared file system shows the last lines late: a job that ran is read
   * until its worker reports its end, or its file has been quiet for a while, so that its last
   * messages are stored and a resubmission never races the worker it replaces.
   */
  private drained(now: number): boolean {
    const row = this.row!;
    const ran = row.node !== null || this.sawStarted;
    if (this.sawEnd || !ran) return true;
    const { since } = this.ending!;
    const quiet = now - Math.max(since, this.lastGrowth) >= this.ctx.drainMs;
    return quiet || now - since >= MAX_DRAIN_MS;
  }

  private unreadable(err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.say('warn', `cannot read the event file: ${errorMessage(err)}`);
  }

  /** What Slurm says of the job now; null when it has forgotten the job. */
  observe(seen: SlurmSighting | null): void {
    if (this.finished || this.ending || !this.row) return;
    const row = this.row;
    if (this.warned) {
      this.warned = false;
      this.say('info', `Slurm answers again about job ${row.slurmJobId}`);
    }
    if (!seen) {
      const message = this.sawEnd
        ? 'the Slurm job ended'
        : `Slurm no longer knows job ${row.slurmJobId}, and its worker did not report an end`;
      this.ending = {
        phase: { phase: 'ended', status: 'failed', message, resubmit: false },
        since: Date.now(),
        state: 'UNKNOWN',
      };
      return;
    }
    try {
      recordSighting(this.ctx.db, row.id, seen);
    } catch {
      // Only the display lags; the next poll writes it.
    }
    if (seen.node) row.node = seen.node;
    // Another process (svw runs cancel) may have asked for the cancel this job now shows.
    if (/^CANCELLED/.test(seen.state) && !row.cancelRequested)
      row.cancelRequested = Boolean(getClusterJob(this.ctx.db, row.id)?.cancelRequested);
    const phase = slurmPhase(seen, {
      cancelRequested: this.cancelRequested || row.cancelRequested,
      ran: row.node !== null || this.sawStarted,
      time: this.ctx.profile.time,
      mem: this.ctx.profile.mem,
    });
    if (phase.phase !== 'ended') {
      if (phase.detail !== this.lastDetail) {
        this.lastDetail = phase.detail;
        this.onQueueHandler({ status: phase.phase, detail: phase.detail, node: seen.node });
      }
      return;
    }
    // Slurm put it back in its queue: cancel that, the host resubmits it resuming.
    if (phase.requeued && row.slurmJobId) void scancel(row.slurmJobId).catch(() => undefined);
    this.ending = { phase, since: Date.now(), state: seen.state };
  }

  /** The job has ended and its file is read: reports the end with what it means for the run. */
  private conclude(): void {
    const row = this.row!;
    const cut = this.reader!.finish();
    if (cut)
      this.onMessageHandler({ type: 'log', level: 'warn', message: cut.problem }, () =>
        commitOffset(this.ctx.db, row.id, cut.end, cut.line),
      );
    const { phase, state } = this.ending!;
    const outcome = jobOutcome(phase, {
      reported: this.sawEnd,
      kind: row.kind,
      attempt: row.attempt,
      maxResubmits: this.ctx.profile.maxResubmits,
    });
    this.finish(
      outcome?.status === 'failed' && this.priorError
        ? { status: 'failed', message: this.priorError }
        : outcome,
      `ended ${state} (Slurm job ${row.slurmJobId})`,
    );
  }

  private finish(outcome: JobOutcome | undefined, reason: string, receipt?: Receipt): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.unfollow(this);
    const row = this.row;
    this.onExitHandler(
      null,
      reason,
      outcome,
      receipt ?? (row ? () => endClusterJob(this.ctx.db, row.id) : undefined),
    );
  }
}
