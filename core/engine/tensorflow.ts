import type { Rung } from './rung.js';
import { loadBinding, probeBinding } from './libtensorflow.js';

const PACKAGE = '@tensorflow/tfjs-node';
const DESCRIPTION = 'libtensorflow CPU';

/** libtensorflow on the CPU, through tfjs-node (an optional dependency). */
export const tensorflow: Rung<'tensorflow'> = {
  name: 'tensorflow',
  package: PACKAGE,
  description: DESCRIPTION,
  // libtensorflow spreads one job over every core already; with GPUs, the scheduler's slots pin them.
  concurrency: ({ gpus }) => Math.max(1, gpus),
  probe: async (deps) => probeBinding(PACKAGE, deps),
  load: (deps) => loadBinding(PACKAGE, DESCRIPTION, deps),
};
