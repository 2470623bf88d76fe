import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A single-node Slurm cluster of this machine for the cluster tests and the bench, in a
 * temporary folder:
 * its own munge key and socket, its own ports, state and spool folders, so it never meets a
 * real cluster's daemons (or another test's). Needs root (slurmd runs jobs as their user), and
 * Debian's slurm-wlm and munge.
 */
export interface SlurmCluster {
  dir: string;
  /** Pass as the environment of every Slurm command and svw process (SLURM_CONF). */
  env: { SLURM_CONF: string };
  node: string;
  partition: string;
  /** Stops slurmctld alone (the controller is down), and starts it again. */
  stopController(): void;
  startController(): void;
  /** Stops every daemon and removes the folder. */
  stop(): void;
}

const DAEMONS = ['munged', 'slurmctld', 'slurmd'];

function which(binary: string): string | null {
  for (const dir of [
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
    ...(process.env.PATH ?? '').split(':'),
  ])
    if (dir && existsSync(path.join(dir, binary))) return path.join(dir, binary);
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidOf(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function stopPid(file: string): void {
  const pid = pidOf(file);
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    spawnSync('sleep', ['0.1']);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Why a cluster cannot start here, or null when it can be tried. */
export function slurmUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'Slurm tests need root (slurmd runs jobs as their user)';
  const missing = [...DAEMONS, 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'].filter(
    (b) => !which(b),
  );
  if (missing.length)
    return `Slurm tests need slurm-wlm and munge (missing: ${missing.join(', ')})`;
  return null;
}

/** Starts the cluster and waits until its node is idle; throws with the daemons' logs if not. */
export async function startSlurmCluster(): Promise<SlurmCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'svw-slurm-'));
  const node = os.hostname().split('.')[0]!;
  const partition = 'svwtest';
  const f = (name: string) => path.join(dir, name);
  for (const d of ['munge', 'state', 'spool', 'log']) mkdirSync(f(d), { recursive: true });
  chmodSync(f('munge'), 0o700);
  writeFileSync(f('munge/munge.key'), randomBytes(1024), { mode: 0o400 });
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const memory = Math.max(2000, Math.floor(os.totalmem() / 2 ** 20) - 2048);
  writeFileSync(
    f('slurm.conf'),
    [
      `ClusterName=svw${randomBytes(3).toString('hex')}`,
      `SlurmctldHost=${node}`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${f('munge/socket')}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core_Memory',
      'MpiDefault=none',
      'ReturnToService=2',
      'KillWait=10',
      // A controller that is down is reported in seconds, not the default ten.
      'MessageTimeout=5',
      `StateSaveLocation=${f('state')}`,
      `SlurmdSpoolDir=${f('spool')}`,
      `SlurmctldPidFile=${f('slurmctld.pid')}`,
      `SlurmdPidFile=${f('slurmd.pid')}`,
      `SlurmctldLogFile=${f('log/slurmctld.log')}`,
      `SlurmdLogFile=${f('log/slurmd.log')}`,
      `NodeName=${node} CPUs=${os.availableParallelism()} RealMemory=${memory} State=UNKNOWN`,
      `PartitionName=${partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: f('slurm.conf') };
  const run = (binary: string, args: string[]) =>
    execFileSync(which(binary)!, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
  const logs = () =>
    ['munge/munged.log', 'log/slurmctld.log', 'log/slurmd.log']
      .map((l) => {
        try {
          return `--- ${l}\n${readFileSync(f(l), 'utf8').split('\n').slice(-15).join('\n')}`;
        } catch {
          return `--- ${l}: none`;
        }
      })
      .join('\n');
  const startController = () => run('slurmctld', ['-f', env.SLURM_CONF]);
  const stop = () => {
    for (const pid of ['slurmd.pid', 'slurmctld.pid', 'munge/munged.pid']) stopPid(f(pid));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('munged', [
      '--force',
      `--socket=${f('munge/socket')}`,
      `--key-file=${f('munge/munge.key')}`,
      `--log-file=${f('munge/munged.log')}`,
      `--pid-file=${f('munge/munged.pid')}`,
      `--seed-file=${f('munge/munged.seed')}`,
    ]);
    startController();
    run('slurmd', ['-f', env.SLURM_CONF]);
    for (let i = 0; ; i++) {
      const out = spawnSync('sinfo', ['--noheader', '--format=%T'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      }).stdout;
      if (/^idle/m.test(out ?? '')) break;
      if (i > 100) throw new Error(`the node never became idle (sinfo: ${out})`);
      await sleep(200);
    }
  } catch (err) {
    const message = `${(err as Error).message}\n${logs()}`;
    stop();
    throw new Error(`the test cluster did not start: ${message}`, { cause: err });
  }
  return {
    dir,
    env,
    node,
    partition,
    stopController: () => stopPid(f('slurmctld.pid')),
    startController,
    stop,
  };
}
