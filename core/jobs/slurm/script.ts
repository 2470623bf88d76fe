import path from 'node:path';
import type { ClusterProfile } from '../../schema/cluster.js';

/**
 * A submission's files in the spool: one folder per sbatch call, holding the script and, per
 * task of its array (task 0 for a lone job), the job's payload, its event file and its Slurm log.
 */
export const submissionFiles = (dir: string, task: number) => ({
  script: path.join(dir, 'job.sh'),
  payload: path.join(dir, `task-${task}.json`),
  events: path.join(dir, `task-${task}.events.jsonl`),
  log: path.join(dir, `task-${task}.log`),
});

export interface ScriptSpec {
  profile: ClusterProfile;
  /** Slurm's job name (squeue shows it; a host that died mid-submission finds its job by it). */
  name: string;
  /** The submission's folder in the spool. */
  dir: string;
  /** 1 for a lone job; more makes a job array of that many tasks, 0…tasks-1. */
  tasks: number;
  /** The Node.js binary and the worker entry, at paths the compute nodes see too. */
  node: string;
  worker: string;
}

/** A word for bash, quoted only when it needs to be. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The sbatch script of a submission. Its worker reads the task's payload and appends its messages
 * to the task's event file; it never opens the database. Slurm never requeues it by itself
 * (--no-requeue): the host resubmits an interrupted run, resuming it from its checkpoint.
 */
export function batchScript(spec: ScriptSpec): string {
  const { profile: p, dir, tasks } = spec;
  const array = tasks > 1;
  const files = submissionFiles(dir, 0);
  const log = array ? path.join(dir, 'task-%a.log') : files.log;
  const options: [string, string | number | null][] = [
    ['job-name', spec.name],
    ['partition', p.partition],
    ['output', log],
    ['nodes', 1],
    ['ntasks', 1],
    ['cpus-per-task', p.cpus],
    ['mem', p.mem],
    ['time', p.time],
    ['gres', p.gres],
    ['account', p.account],
    ['array', array ? `0-${tasks - 1}` : null],
  ];
  const task = array ? '$SLURM_ARRAY_TASK_ID' : '0';
  return [
    '#!/bin/bash',
    '# SuperVision Workbench job: runs one job worker per task; it reports through the event file.',
    ...options.flatMap(([k, v]) => (v === null ? [] : [`#SBATCH --${k}=${v}`])),
    '#SBATCH --no-requeue',
    'set -eu',
    `task=${task}`,
    `cd ${shellQuote(dir)}`,
    `exec ${shellQuote(spec.node)} ${shellQuote(spec.worker)} --job "task-$task.json" --events "task-$task.events.jsonl"`,
    '',
  ].join('\n');
}
