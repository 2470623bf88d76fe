import '@tensorflow/tfjs-backend-cpu';
import { activate, packageVersion, type Rung } from './rung.js';

const PACKAGE = '@tensorflow/tfjs-backend-cpu';
const DESCRIPTION = 'pure JavaScript';

/** tfjs's JavaScript kernels: always there, far too slow to train a conv net. */
export const cpu: Rung<'cpu'> = {
  name: 'cpu',
  package: PACKAGE,
  description: DESCRIPTION,
  concurrency: ({ gpus, cores }) => (gpus > 0 ? gpus : Math.max(1, cores)),
  dataParallel: true,
  // A dependency of the workbench itself, so only a broken install lacks it.
  probe: async (deps) => (deps.packageDir(PACKAGE) === null ? `${PACKAGE} is not installed` : null),
  async load() {
    await activate('cpu');
    return {
      tfBackend: 'cpu',
      package: PACKAGE,
      version: packageVersion(PACKAGE),
      detail: DESCRIPTION,
    };
  },
};
