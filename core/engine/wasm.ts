import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { activate, packageVersion, type Rung } from './rung.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

const PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** XNNPACK compiled to WebAssembly, plus the training kernels we register (wasm-kernels.ts). */
export const wasm: Rung<'wasm'> = {
  name: 'wasm',
  package: PACKAGE,
  description: 'XNNPACK',
  // Single-threaded in Node, so each job keeps one core busy; with GPUs, one per GPU slot.
  concurrency: ({ gpus, cores }) => (gpus > 0 ? gpus : Math.max(1, cores)),
  dataParallel: true,
  async probe(deps) {
    const dir = deps.packageDir(PACKAGE);
    if (dir === null) return `${PACKAGE} is not installed`;
    return deps.listDir(path.join(dir, 'dist')).some((f) => f.endsWith('.wasm'))
      ? null
      : `${PACKAGE} is installed without its .wasm binaries`;
  },
  async load() {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
    await activate('wasm');
    // One thread per engine: tfjs forces WASM_HAS_MULTITHREAD_SUPPORT off under Node (#3830), and
    // a job on several threads runs several engines (core/train/shards.ts).
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    return {
      tfBackend: 'wasm',
      package: PACKAGE,
      version: packageVersion(PACKAGE),
      detail: `XNNPACK${simd ? ' SIMD' : ''}`,
    };
  },
};
