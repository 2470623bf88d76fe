import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, nodeLoaders, type BackendName, type EngineInfo } from '../../engine/backends.js';
import { systemInfo } from '../../engine/system.js';
import { describeAdapter, listAdaptersApart } from '../../engine/webgpu-dawn.js';
import type { GpuAdapterInfo } from '../../schema/backends.js';
import { errorMessage } from '../../util/errors.js';
import { printJson, type CommonOptions } from '../output.js';

interface BackendStatus {
  name: BackendName;
  available: boolean;
  package?: string;
  version?: string;
  detail?: string;
  adapter?: GpuAdapterInfo;
  /** Why it cannot load; or, when it loads by name only, why `auto` passes it over. */
  reason?: string;
  /** Whether `--backend auto` would take it (it loads, and not only by name). */
  auto: boolean;
}

const LIBTENSORFLOW: BackendName[] = ['tensorflow-gpu', 'tensorflow'];

/** Loads one rung as `auto` would, then (if that fails) by name. */
async function tryRung(name: BackendName): Promise<BackendStatus> {
  const loaded = (info: EngineInfo, auto: boolean, reason?: string): BackendStatus => ({
    name,
    available: true,
    package: info.package,
    version: info.version,
    detail: info.detail,
    ...(info.adapter ? { adapter: info.adapter } : {}),
    ...(reason ? { reason } : {}),
    auto,
  });
  let autoReason: string;
  try {
    return loaded(await nodeLoaders.load(name, { auto: true }), true);
  } catch (err) {
    autoReason = errorMessage(err);
  }
  try {
    return loaded(await nodeLoaders.load(name, { auto: false }), false, autoReason);
  } catch (err) {
    return { name, available: false, reason: errorMessage(err), auto: false };
  }
}

/** Tries every rung of the engine ladder and reports what this machine can run. */
async function probeBackends(): Promise<BackendStatus[]> {
  tf.enableProdMode();
  const statuses: BackendStatus[] = [];
  let libtensorflow: BackendName | null = null;
  for (const name of BACKENDS) {
    if (libtensorflow && LIBTENSORFLOW.includes(name)) {
      const reason = `not checked: ${libtensorflow} already loaded libtensorflow`;
      statuses.push({ name, available: false, reason, auto: false });
      continue;
    }
    const status = await tryRung(name);
    if (status.available && LIBTENSORFLOW.includes(name)) libtensorflow = name;
    statuses.push(status);
  }
  return statuses;
}

/** The WebGPU adapters Dawn offers, or why there are none to ask. */
async function gpuAdapters(): Promise<GpuAdapterInfo[] | string> {
  try {
    return await listAdaptersApart();
  } catch (err) {
    return errorMessage(err);
  }
}

function engineLine(b: BackendStatus, auto: BackendName | null): string {
  const name = b.name.padEnd(15);
  if (!b.available) return `  ✗ ${name} ${b.reason}`;
  const mark = b.name === auto ? '  ← auto' : '';
  const byName = b.auto ? '' : `\n      auto passes it over: ${b.reason}`;
  return `  ✓ ${name} ${b.package} ${b.version} (${b.detail})${mark}${byName}`;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show the engines this machine can use, their versions, and CPU/GPU information')
    .option('--json', 'machine-readable output')
    .action(async (opts: CommonOptions) => {
      const backends = await probeBackends();
      const [system, adapters] = [await systemInfo(), await gpuAdapters()];
      const auto = backends.find((b) => b.auto)?.name ?? null;
      if (opts.json) {
        printJson({ auto, backends, system: { ...system, adapters }, tfjs: tf.version_core });
        return;
      }
      const lines = [
        'Engines (fastest first; --backend auto takes the first available):',
        ...backends.map((b) => engineLine(b, auto)),
        '',
        'System:',
        `  ${system.platform}/${system.arch}, Node ${system.node}, tfjs-core ${tf.version_core}`,
        `  CPU: ${system.cpuModel}, ${system.cpuCores} cores; memory ${system.memoryGiB} GiB`,
        system.gpus === null
          ? `  GPU: none found: ${system.gpuProblem}`
          : system.gpus.length === 0
            ? '  GPU: nvidia-smi lists no GPU'
            : system.gpus
                .map((g) => `  GPU: ${g.name}, ${g.memoryMiB ?? '?'} MiB, driver ${g.driver}`)
                .join('\n'),
        typeof adapters === 'string'
          ? `  WebGPU adapters: none (${adapters})`
          : adapters.length === 0
            ? '  WebGPU adapters: none found'
            : adapters.map((a) => `  WebGPU adapter: ${describeAdapter(a)}`).join('\n'),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
