import type { Rung } from './rung.js';
import { loadBinding, probeBinding } from './libtensorflow.js';

const PACKAGE = '@tensorflow/tfjs-node-gpu';
const DESCRIPTION = 'libtensorflow with CUDA';

/** Why there is no GPU for libtensorflow to use, from nvidia-smi; null when it lists one. */
async function noGpu(detect: () => Promise<unknown[] | null>): Promise<string | null> {
  // libtensorflow's GPU build quietly runs on the CPU when CUDA finds no device; don't claim a GPU then.
  const gpus = await detect();
  if (gpus === null) return 'no NVIDIA driver (nvidia-smi not found)';
  if (gpus.length === 0) return 'nvidia-smi lists no GPU';
  return null;
}

/** libtensorflow with CUDA 11.2 / cuDNN 8.1, through tfjs-node-gpu (an optional dependency). */
export const tensorflowGpu: Rung<'tensorflow-gpu'> = {
  name: 'tensorflow-gpu',
  package: PACKAGE,
  description: DESCRIPTION,
  // One job per GPU: the scheduler's slot i sees only GPU i (CUDA_VISIBLE_DEVICES).
  concurrency: ({ gpus }) => Math.max(1, gpus),
  async probe(deps) {
    return (await noGpu(deps.detectGpus)) ?? probeBinding(PACKAGE, deps);
  },
  async load(deps) {
    const reason = await noGpu(deps.detectGpus);
    if (reason !== null) throw new Error(reason);
    return loadBinding(PACKAGE, DESCRIPTION, deps);
  },
};
