import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GpuInfo {
  name: string;
  memoryMiB: number | null;
  driver: string;
}

export interface SystemInfo {
  platform: string;
  arch: string;
  node: string;
  cpuModel: string;
  cpuCores: number;
  memoryGiB: number;
  /** null when nvidia-smi could not list the GPUs (see gpuProblem); [] when it lists none. */
  gpus: GpuInfo[] | null;
  /** Why nvidia-smi listed nothing: not installed, failed (with its exit code), or timed out. */
  gpuProblem: string | null;
}

/** What nvidia-smi says: the GPUs it lists, or why it could not list any. */
export type GpuDetection = { gpus: GpuInfo[]; problem: null } | { gpus: null; problem: string };

/** Parses `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const [name = '', memory = '', driver = ''] = line.split(',').map((s) => s.trim());
      const mem = Number.parseInt(memory, 10);
      return { name, memoryMiB: Number.isFinite(mem) ? mem : null, driver };
    });
}

const NVIDIA_SMI_TIMEOUT_MS = 10_000;

/**
 * Why nvidia-smi gave no list, from execFile's error: not installed (no NVIDIA driver), failed
 * with its exit code and first line of output (a driver that does not match the kernel module,
 * say), killed after the timeout, or could not run at all.
 */
export function nvidiaSmiProblem(err: unknown, timeoutMs: number): string {
  const e = err as {
    code?: unknown;
    signal?: NodeJS.Signals | null;
    killed?: boolean;
    stdout?: unknown;
    stderr?: unknown;
    message?: string;
  };
  if (e.code === 'ENOENT') return 'nvidia-smi is not installed (no NVIDIA driver)';
  if (e.killed && e.signal) return `nvidia-smi did not answer within ${timeoutMs / 1000} s`;
  const firstLine = (out: unknown) =>
    String(out ?? '')
      .trim()
      .split('\n')[0] ?? '';
  const said = firstLine(e.stderr) || firstLine(e.stdout);
  if (typeof e.code === 'number')
    return `nvidia-smi failed (exit code ${e.code})${said ? `: ${said}` : ''}`;
  if (e.signal) return `nvidia-smi was killed by ${e.signal}`;
  return `nvidia-smi could not run: ${e.message ?? String(err)}`;
}

/** The NVIDIA GPUs nvidia-smi sees, or why it could not say. */
export async function detectGpus(
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<GpuDetection> {
  const timeoutMs = options.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'],
      { timeout: timeoutMs, env: options.env },
    );
    return { gpus: parseNvidiaSmi(stdout), problem: null };
  } catch (err) {
    return { gpus: null, problem: nvidiaSmiProblem(err, timeoutMs) };
  }
}

export async function systemInfo(): Promise<SystemInfo> {
  const cpus = os.cpus();
  const gpus = await detectGpus();
  return {
    platform: os.platform(),
    arch: os.arch(),
    node: process.versions.node,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    gpus: gpus.gpus,
    gpuProblem: gpus.problem,
  };
}
