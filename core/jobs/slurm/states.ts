import os from 'node:os';
import type { JobOutcome } from '../host.js';

/**
 * What a Slurm job state means for our run. Slurm's states (squeue --states, `scontrol show job`)
 * are many; a run is queued, running, or has ended with one of our statuses and a reason.
 */

export interface SlurmSighting {
  /** As squeue's %T or scontrol's JobState prints it (`CANCELLED by 0` is read as CANCELLED). */
  state: string;
  /** squeue's %r: why a job waits (Resources, Priority) or ended (NodeDown, TimeLimit). */
  reason: string | null;
  node: string | null;
  /** `exit:signal`, as scontrol's ExitCode prints it. */
  exitCode: string | null;
}

export interface SightingContext {
  /** The user cancelled it (from the UI, the CLI or Ctrl-C). */
  cancelRequested: boolean;
  /** It was seen on a node, or its worker reported starting: a later PENDING is a requeue. */
  ran: boolean;
  /** The profile's --time and --mem, to say which limit a job hit. */
  time: string | null;
  mem: string | null;
}

export type SlurmPhase =
  | { phase: 'queued'; detail: string }
  | { phase: 'running'; detail: string }
  | {
      phase: 'ended';
      /** completed means Slurm saw exit 0; the worker's own report says whether it finished. */
      status: 'completed' | 'failed' | 'cancelled' | 'interrupted';
      message: string;
      /** Interrupted through no fault of the job: it may resume from its checkpoint. */
      resubmit: boolean;
      /** Slurm put it back in its queue itself: cancel that before resubmitting our own. */
      requeued?: boolean;
    };

const QUEUED = ['PENDING', 'CONFIGURING', 'RESV_DEL_HOLD'];
const REQUEUED = ['REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED'];
const RUNNING = ['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT', 'RESIZING'];
const PAUSED = ['SUSPENDED', 'STOPPED'];

/** Whether a job in that state may still run (Slurm has not ended it). */
export function stillActive(state: string): boolean {
  const s = state.trim().split(/\s+/)[0]!.toUpperCase();
  return [...QUEUED, ...REQUEUED, ...RUNNING, ...PAUSED].includes(s);
}

/** `PENDING (Resources)`: the state with its reason, when Slurm gives one. */
export function describeSighting(s: Pick<SlurmSighting, 'state' | 'reason'>): string {
  const reason = s.reason && s.reason !== 'None' && s.reason !== '(null)' ? s.reason : null;
  return reason ? `${s.state} (${reason})` : s.state;
}

/** `exit code 1`, `killed by SIGKILL`, or null for a clean 0:0. */
export function describeExit(exitCode: string | null): string | null {
  const m = /^(\d+):(\d+)$/.exec(exitCode ?? '');
  if (!m) return null;
  const [code, signal] = [Number(m[1]), Number(m[2])];
  if (signal) return `killed by ${signalName(signal)}`;
  // A shell reports a child killed by signal N as exit code 128 + N.
  if (code > 128 && code < 160) return `killed by ${signalName(code - 128)} (exit code ${code})`;
  return code ? `exit code ${code}` : null;
}

function signalName(n: number): string {
  const entry = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : `signal ${n}`;
}

/** The phase of a job from what Slurm says of it. */
export function slurmPhase(seen: SlurmSighting, ctx: SightingContext): SlurmPhase {
  const state = seen.state.trim().split(/\s+/)[0]!.toUpperCase().replace(/\+$/, '');
  const on = seen.node ? ` on node ${seen.node}` : '';
  const exit = describeExit(seen.exitCode);
  const ended = (
    status: 'completed' | 'failed' | 'cancelled' | 'interrupted',
    message: string,
    resubmit = false,
  ): SlurmPhase => ({ phase: 'ended', status, message, resubmit });
  if (REQUEUED.includes(state) || (ctx.ran && QUEUED.includes(state)))
    return {
      phase: 'ended',
      status: 'interrupted',
      message: `Slurm requeued the job${on}`,
      resubmit: true,
      requeued: true,
    };
  if (QUEUED.includes(state)) return { phase: 'queued', detail: describeSighting(seen) };
  if (RUNNING.includes(state)) return { phase: 'running', detail: describeSighting(seen) };
  if (PAUSED.includes(state))
    return { phase: 'running', detail: `${describeSighting(seen)}: paused by Slurm` };
  switch (state) {
    case 'COMPLETED':
      return ended('completed', `the Slurm job completed${on}`);
    case 'CANCELLED':
      return ctx.cancelRequested
        ? ended('cancelled', 'cancelled')
        : ended('cancelled', `cancelled outside the workbench (scancel or an administrator)${on}`);
    case 'FAILED':
      return ended('failed', `the Slurm job failed${on}${exit ? `: ${exit}` : ''}`);
    case 'OUT_OF_MEMORY':
      return ended(
        'failed',
        `ran out of memory${on}${ctx.mem ? ` (the profile asks for --mem ${ctx.mem})` : ''}; a profile with more memory, or a smaller batch, fits`,
      );
    case 'TIMEOUT':
      return ended(
        'interrupted',
        `reached its time limit${ctx.time ? ` (--time ${ctx.time})` : ''}${on}`,
        true,
      );
    case 'PREEMPTED':
      return ended('interrupted', `preempted by Slurm${on}`, true);
    case 'NODE_FAIL':
      return ended('interrupted', `node ${seen.node ?? '(unknown)'} failed`, true);
    case 'BOOT_FAIL':
      return ended('interrupted', `node ${seen.node ?? '(unknown)'} failed to boot`, true);
    case 'DEADLINE':
      return ended('failed', `missed its Slurm deadline${on}`);
    case 'REVOKED':
      return ended('failed', 'Slurm revoked the job (it ran on another federated cluster)');
    case 'SPECIAL_EXIT':
      return ended('failed', `the Slurm job ended in SPECIAL_EXIT${on}${exit ? `: ${exit}` : ''}`);
    default:
      return { phase: 'running', detail: describeSighting(seen) };
  }
}

/**
 * What an ended job means for its run: nothing to add when Slurm completed it and its worker
 * reported its end; otherwise Slurm's end, and for an interrupted training run whether it is
 * resubmitted (its `attempt` is within the profile's count) and why not.
 */
export function jobOutcome(
  phase: Extract<SlurmPhase, { phase: 'ended' }>,
  job: { reported: boolean; kind: string; attempt: number; maxResubmits: number },
): JobOutcome | undefined {
  switch (phase.status) {
    case 'completed':
      return job.reported
        ? undefined
        : { status: 'failed', message: `${phase.message}, but its worker did not report an end` };
    case 'interrupted': {
      const max = job.maxResubmits;
      const trains = job.kind === 'train';
      const resubmit = phase.resubmit && trains && job.attempt <= max;
      const next = resubmit
        ? `; resubmitted to resume from its last checkpoint (resubmission ${job.attempt} of ${max})`
        : trains
          ? `; not resubmitted: the profile allows ${max} resubmission${max === 1 ? '' : 's'}`
          : '';
      return { status: 'interrupted', message: phase.message + next, resubmit };
    }
    default:
      return { status: phase.status, message: phase.message };
  }
}
