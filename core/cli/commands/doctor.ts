import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, nodeLoaders, type BackendName } from '../../engine/backends.js';
import { systemInfo } from '../../engine/system.js';
import { errorMessage } from '../../util/errors.js';
import { printJson, type CommonOptions } from '../output.js';

interface BackendStatus {
  name: BackendName;
  available: boolean;
  package?: string;
  version?: string;
  detail?: string;
  reason?: string;
}

/** Tries every rung of the engine ladder and reports what this machine can run. */
async function probeBackends(): Promise<BackendStatus[]> {
  tf.enableProdMode();
  const statuses: BackendStatus[] = [];
  let libtensorflow: BackendName | null = null;
  for (const name of BACKENDS) {
    if (libtensorflow && (name === 'tensorflow' || name === 'tensorflow-gpu')) {
      statuses.push({
        name,
        available: false,
        reason: `not checked: ${libtensorflow} already loaded libtensorflow`,
      });
      continue;
    }
    try {
      const info = await nodeLoaders.load(name);
      statuses.push({
        name,
        available: true,
        package: info.package,
        version: info.version,
        detail: info.detail,
      });
      if (name === 'tensorflow' || name === 'tensorflow-gpu') libtensorflow = name;
    } catch (err) {
      statuses.push({ name, available: false, reason: errorMessage(err) });
    }
  }
  return statuses;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show the engines this machine can use, their versions, and CPU/GPU information')
    .option('--json', 'machine-readable output')
    .action(async (opts: CommonOptions) => {
      const [backends, system] = [await probeBackends(), await systemInfo()];
      const auto = backends.find((b) => b.available)?.name ?? null;
      if (opts.json) {
        printJson({ auto, backends, system, tfjs: tf.version_core });
        return;
      }
      const lines = [
        'Engines (fastest first; --backend auto takes the first available):',
        ...backends.map((b) =>
          b.available
            ? `  ✓ ${b.name.padEnd(15)} ${b.package} ${b.version} (${b.detail})${b.name === auto ? '  ← auto' : ''}`
            : `  ✗ ${b.name.padEnd(15)} ${b.reason}`,
        ),
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
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
