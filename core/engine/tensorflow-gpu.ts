import { explainMissingCuda, findCudaLibraries, type LibraryLookup } from './cuda-libs.js';
import type { Rung } from './rung.js';
import type { GpuDetection } from './system.js';
import { loadBinding, probeBinding } from './libtensorflow.js';

const PACKAGE = '@tensorflow/tfjs-node-gpu';
const DESCRIPTION = 'libtensorflow with CUDA';

/**
 * Why there is no GPU for libtensorflow to use, from nvidia-smi (not installed, failed with its
 * exit code and message, or not answering); null when it lists one.
 */
async function noGpu(detect: () => Promise<GpuDetection>): Promise<string | null> {
  // libtensorflow's GPU build quietly runs on the CPU when CUDA finds no device; don't claim a GPU then.
  const { gpus, problem } = await detect();
  if (gpus === null) return problem;
  if (gpus.length === 0) return 'nvidia-smi lists no GPU';
  return null;
}

/** Which CUDA libraries libtensorflow would not find, where it looked, what to install. */
function missingCuda(lookup: LibraryLookup): string | null {
  return explainMissingCuda(findCudaLibraries(lookup), lookup.platform);
}

/** libtensorflow with CUDA 11.2 / cuDNN 8.1, through tfjs-node-gpu (an optional dependency). */
export const tensorflowGpu: Rung<'tensorflow-gpu'> = {
  name: 'tensorflow-gpu',
  package: PACKAGE,
  description: DESCRIPTION,
  // One job per GPU: the scheduler's slot i sees only GPU i (CUDA_VISIBLE_DEVICES).
  concurrency: ({ gpus }) => Math.max(1, gpus),
  async probe(deps) {
    return (
      (await noGpu(deps.detectGpus)) ?? probeBinding(PACKAGE, deps) ?? missingCuda(deps.libraries)
    );
  },
  async load(deps) {
    // Without its CUDA libraries libtensorflow would load, and compute on the CPU unannounced.
    const reason = (await noGpu(deps.detectGpus)) ?? missingCuda(deps.libraries);
    if (reason !== null) throw new Error(reason);
    return loadBinding(PACKAGE, DESCRIPTION, deps);
  },
};
