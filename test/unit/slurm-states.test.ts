import { describe, expect, it } from 'vitest';
import {
  jobOutcome,
  describeExit,
  describeSighting,
  slurmPhase,
  stillActive,
  type SightingContext,
} from '../../core/jobs/slurm/states.js';

const ctx: SightingContext = { cancelRequested: false, ran: true, time: '1:00:00', mem: '4G' };
const seen = (state: string, reason: string | null = null, exitCode: string | null = null) => ({
  state,
  reason,
  node: 'gpu07',
  exitCode,
});

describe('Slurm states as run states', () => {
  it('reads waiting states as queued, with the reason Slurm gives', () => {
    const waiting = { ...ctx, ran: false };
    expect(slurmPhase(seen('PENDING', 'Resources'), waiting)).toEqual({
      phase: 'queued',
      detail: 'PENDING (Resources)',
    });
    expect(slurmPhase(seen('PENDING', 'None'), waiting)).toEqual({
      phase: 'queued',
      detail: 'PENDING',
    });
    expect(slurmPhase(seen('CONFIGURING'), waiting).phase).toBe('queued');
  });

  it('reads running, completing and suspended states as running', () => {
    for (const state of ['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT'])
      expect(slurmPhase(seen(state), ctx)).toMatchObject({ phase: 'running' });
    expect(slurmPhase(seen('SUSPENDED'), ctx)).toEqual({
      phase: 'running',
      detail: 'SUSPENDED: paused by Slurm',
    });
  });

  it('maps every end to completed, failed, cancelled or interrupted with its reason', () => {
    const cases: [string, string | null, string, RegExp, boolean][] = [
      ['COMPLETED', '0:0', 'completed', /completed on node gpu07/, false],
      ['FAILED', '1:0', 'failed', /failed on node gpu07: exit code 1/, false],
      ['FAILED', '0:9', 'failed', /killed by SIGKILL/, false],
      ['FAILED', '137:0', 'failed', /killed by SIGKILL \(exit code 137\)/, false],
      [
        'OUT_OF_MEMORY',
        '0:125',
        'failed',
        /ran out of memory on node gpu07 \(the profile asks for --mem 4G\)/,
        false,
      ],
      ['TIMEOUT', '0:15', 'interrupted', /reached its time limit \(--time 1:00:00\)/, true],
      ['PREEMPTED', '0:15', 'interrupted', /preempted by Slurm on node gpu07/, true],
      ['NODE_FAIL', '0:0', 'interrupted', /node gpu07 failed/, true],
      ['BOOT_FAIL', '0:0', 'interrupted', /node gpu07 failed to boot/, true],
      ['DEADLINE', '0:0', 'failed', /deadline/, false],
      ['CANCELLED', '0:15', 'cancelled', /outside the workbench/, false],
      ['CANCELLED by 0', '0:15', 'cancelled', /outside the workbench/, false],
      ['SPECIAL_EXIT', '3:0', 'failed', /SPECIAL_EXIT.*exit code 3/, false],
      ['REVOKED', null, 'failed', /revoked/, false],
    ];
    for (const [state, exit, status, message, resubmit] of cases) {
      const phase = slurmPhase(seen(state, null, exit), ctx);
      expect(phase, state).toMatchObject({ phase: 'ended', status, resubmit });
      expect(phase.phase === 'ended' && phase.message, state).toMatch(message);
    }
  });

  it("says a cancel was the user's when they asked for it", () => {
    expect(slurmPhase(seen('CANCELLED'), { ...ctx, cancelRequested: true })).toMatchObject({
      status: 'cancelled',
      message: 'cancelled',
    });
  });

  it('reads a job Slurm put back in its queue after it ran as an interruption to resubmit', () => {
    for (const state of ['REQUEUED', 'REQUEUE_HOLD', 'PENDING'])
      expect(slurmPhase(seen(state, 'BeginTime'), ctx)).toMatchObject({
        phase: 'ended',
        status: 'interrupted',
        resubmit: true,
        requeued: true,
      });
    expect(slurmPhase(seen('PENDING'), { ...ctx, ran: false }).phase).toBe('queued');
  });

  it('keeps a job in a state it does not know as running, never ending it on a guess', () => {
    expect(slurmPhase(seen('SOMETHING_NEW'), ctx)).toEqual({
      phase: 'running',
      detail: 'SOMETHING_NEW',
    });
  });

  it('words exit codes and states', () => {
    expect(describeExit('0:0')).toBeNull();
    expect(describeExit('2:0')).toBe('exit code 2');
    expect(describeExit('0:15')).toBe('killed by SIGTERM');
    expect(describeExit(null)).toBeNull();
    expect(describeSighting({ state: 'PENDING', reason: '(null)' })).toBe('PENDING');
    expect(stillActive('PENDING')).toBe(true);
    expect(stillActive('RUNNING')).toBe(true);
    expect(stillActive('COMPLETED')).toBe(false);
    expect(stillActive('CANCELLED by 0')).toBe(false);
  });

  it('resubmits an interrupted training run while its attempt is within the profile count', () => {
    const preempted = slurmPhase(seen('PREEMPTED'), ctx);
    if (preempted.phase !== 'ended') throw new Error('PREEMPTED ends a job');
    const job = { reported: false, kind: 'train', attempt: 1, maxResubmits: 2 };
    expect(jobOutcome(preempted, job)).toEqual({
      status: 'interrupted',
      message:
        'preempted by Slurm on node gpu07; resubmitted to resume from its last checkpoint (resubmission 1 of 2)',
      resubmit: true,
    });
    expect(jobOutcome(preempted, { ...job, attempt: 3 })).toEqual({
      status: 'interrupted',
      message:
        'preempted by Slurm on node gpu07; not resubmitted: the profile allows 2 resubmissions',
      resubmit: false,
    });
    expect(jobOutcome(preempted, { ...job, maxResubmits: 0 })!.resubmit).toBe(false);
    // An evaluation or index build has no checkpoint to resume: it just ends.
    expect(jobOutcome(preempted, { ...job, kind: 'features' })).toEqual({
      status: 'interrupted',
      message: 'preempted by Slurm on node gpu07',
      resubmit: false,
    });
  });

  it('adds nothing to a completed job whose worker reported its end, and fails one that did not', () => {
    const completed = slurmPhase(seen('COMPLETED', null, '0:0'), ctx);
    if (completed.phase !== 'ended') throw new Error('COMPLETED ends a job');
    const job = { reported: true, kind: 'train', attempt: 1, maxResubmits: 2 };
    expect(jobOutcome(completed, job)).toBeUndefined();
    expect(jobOutcome(completed, { ...job, reported: false })).toEqual({
      status: 'failed',
      message: 'the Slurm job completed on node gpu07, but its worker did not report an end',
    });
  });
});
