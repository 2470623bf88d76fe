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
  /** null when nvidia-smi is absent; [] when it is present but lists no GPU. */
  gpus: GpuInfo[] | null;
}

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

/** The NVIDIA GPUs nvidia-smi sees, or null when nvidia-smi cannot run. */
export async function detectGpus(): Promise<GpuInfo[] | null> {
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'],
      { timeout: 10_000 },
    );
    return parseNvidiaSmi(stdout);
  } catch {
    return null;
  }
}

export async function systemInfo(): Promise<SystemInfo> {
  const cpus = os.cpus();
  return {
    platform: os.platform(),
    arch: os.arch(),
    node: process.versions.node,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    gpus: await detectGpus(),
  };
}
