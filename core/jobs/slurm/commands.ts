import { execFile } from 'node:child_process';
import { UserError } from '../../util/errors.js';
import type { SlurmSighting } from './states.js';

/**
 * Slurm's client commands (sbatch, squeue, scontrol, scancel, sinfo), run on this machine, the
 * cluster's login node. Accounting (sacct) is not assumed: squeue and scontrol answer for jobs
 * the controller still remembers, which covers every job a host follows.
 */

/** A Slurm command that did not do what was asked; `unreachable` when the controller is down. */
export class SlurmError extends UserError {
  constructor(
    message: string,
    readonly unreachable = false,
    hint?: string,
  ) {
    super(message, hint);
  }
}

const UNREACHABLE =
  /unable to contact slurm controller|connection refused|connect failure|socket timed out|timed out/i;
const TIMEOUT_MS = 30_000;

/** Runs a Slurm command; resolves to its stdout, or rejects with a one-line SlurmError. */
export function slurm(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT')
          return reject(
            new SlurmError(
              `${command} was not found on this machine`,
              false,
              "Slurm's client commands must be installed and on the PATH where the workbench runs (the cluster's login node)",
            ),
          );
        const said =
          String(stderr)
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
            .at(-1) ?? err.message.split('\n')[0]!;
        const killed = (err as { killed?: boolean }).killed;
        const message = killed ? `${command} did not answer within ${TIMEOUT_MS / 1000} s` : said;
        reject(new SlurmError(message, killed || UNREACHABLE.test(said)));
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Submits a batch script; resolves to the job id (`1234`; an array's tasks are `1234_N`). */
export async function sbatch(scriptPath: string): Promise<string> {
  const out = (await slurm('sbatch', ['--parsable', scriptPath])).trim();
  const id = out.split(';')[0]!.trim();
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch answered '${out}' instead of a job id`);
  return id;
}

/**
 * What squeue says now of the jobs (ids of lone jobs or whole arrays), one entry per job or
 * array task, keyed by `1234` / `1234_2`. Jobs Slurm has forgotten are missing from it.
 */
export async function squeue(ids: string[]): Promise<Map<string, SlurmSighting>> {
  const seen = new Map<string, SlurmSighting>();
  if (ids.length === 0) return seen;
  let out: string;
  try {
    out = await slurm('squeue', [
      '--noheader',
      '--states=all',
      '--array',
      `--jobs=${[...new Set(ids)].join(',')}`,
      '--format=%i|%T|%r|%N',
    ]);
  } catch (err) {
    // Every id forgotten: squeue calls that an error, we call it an empty answer.
    if (err instanceof SlurmError && /invalid job id/i.test(err.message)) return seen;
    throw err;
  }
  for (const line of out.split('\n')) {
    const [id, state, reason, node] = line.trim().split('|');
    if (!id || !state) continue;
    seen.set(id, { state, reason: reason || null, node: node || null, exitCode: null });
  }
  return seen;
}

/** `scontrol show job` of one job: its state, reason, node and exit code, or null if forgotten. */
export async function scontrolJob(id: string): Promise<SlurmSighting | null> {
  let out: string;
  try {
    out = await slurm('scontrol', ['--oneliner', 'show', 'job', id]);
  } catch (err) {
    if (err instanceof SlurmError && /invalid job id/i.test(err.message)) return null;
    throw err;
  }
  const field = (key: string) => new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(out)?.[1] ?? null;
  const state = field('JobState');
  if (!state) return null;
  const node = field('BatchHost') ?? field('NodeList');
  return {
    state,
    reason: field('Reason'),
    node: node && node !== '(null)' ? node : null,
    exitCode: field('ExitCode'),
  };
}

/** sacct's record of a job, where the cluster keeps accounting; null without it or the job. */
export async function sacctJob(id: string): Promise<SlurmSighting | null> {
  try {
    const out = await slurm('sacct', [
      '--noheader',
      '--parsable2',
      '--allocations',
      `--jobs=${id}`,
      '--format=State,Reason,NodeList,ExitCode',
    ]);
    const [state, reason, node, exitCode] = (out.split('\n')[0] ?? '').split('|');
    return state
      ? { state, reason: reason || null, node: node || null, exitCode: exitCode || null }
      : null;
  } catch {
    return null;
  }
}

/** The ids of the jobs of that name (a whole array's tasks as `1234_N`). */
export async function jobsNamed(name: string): Promise<string[]> {
  const out = await slurm('squeue', [
    '--noheader',
    '--states=all',
    '--array',
    `--name=${name}`,
    '--format=%i',
  ]);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Cancels a job or array task; `signal` sends that signal instead (to a running job). */
export async function scancel(id: string, signal?: string): Promise<void> {
  await slurm('scancel', signal ? [`--signal=${signal}`, id] : [id]);
}
