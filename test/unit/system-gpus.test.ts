import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectGpus } from '../../core/engine/system.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('svw-smi-');
afterAll(() => tmp.cleanup());

/** A PATH whose only nvidia-smi is this shell script (sh itself stays reachable). */
function withNvidiaSmi(name: string, script: string): NodeJS.ProcessEnv {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir);
  const file = path.join(dir, 'nvidia-smi');
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
  return { ...process.env, PATH: `${dir}:/usr/bin:/bin` };
}

describe('detectGpus runs nvidia-smi and says what went wrong', () => {
  it('lists the GPUs it prints', async () => {
    const env = withNvidiaSmi(
      'ok',
      'echo "Tesla T4, 15360, 535.104.05"; echo "Tesla T4, 15360, 535.104.05"',
    );
    expect(await detectGpus({ env })).toEqual({
      gpus: [
        { name: 'Tesla T4', memoryMiB: 15360, driver: '535.104.05' },
        { name: 'Tesla T4', memoryMiB: 15360, driver: '535.104.05' },
      ],
      problem: null,
    });
  });

  it('tells a missing nvidia-smi from one that fails, with its exit code and message', async () => {
    expect(await detectGpus({ env: { ...process.env, PATH: path.join(tmp.dir, 'none') } })).toEqual(
      {
        gpus: null,
        problem: 'nvidia-smi is not installed (no NVIDIA driver)',
      },
    );
    const env = withNvidiaSmi(
      'broken-driver',
      `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9`,
    );
    expect(await detectGpus({ env })).toEqual({
      gpus: null,
      problem:
        "nvidia-smi failed (exit code 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    });
  });

  it('gives up on an nvidia-smi that hangs, and says so', async () => {
    const env = withNvidiaSmi('hangs', 'exec sleep 30');
    expect(await detectGpus({ env, timeoutMs: 300 })).toEqual({
      gpus: null,
      problem: 'nvidia-smi did not answer within 0.3 s',
    });
  });
});
