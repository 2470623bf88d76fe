import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  activate,
  explainLoadError,
  packageVersion,
  type LoadedEngine,
  type NativeDeps,
  type ProbeDeps,
} from './rung.js';

/** Shared by the two libtensorflow rungs (tensorflow, tensorflow-gpu): they differ in package. */

/** Why `pkg` would not load, from its files: missing, or installed without its native binding. */
export function probeBinding(pkg: string, deps: ProbeDeps): string | null {
  const dir = deps.packageDir(pkg);
  if (dir === null) return explainLoadError(pkg, { code: 'MODULE_NOT_FOUND' });
  // The install script builds lib/napi-vN/tfjs_binding.node after downloading libtensorflow.
  const lib = path.join(dir, 'lib');
  const built = deps
    .listDir(lib)
    .some(
      (d) => /^napi-v\d+$/.test(d) && deps.listDir(path.join(lib, d)).includes('tfjs_binding.node'),
    );
  return built
    ? null
    : `${pkg} is installed without its native binding (libtensorflow was not downloaded)`;
}

/** Requires `pkg`, which registers tfjs-node's 'tensorflow' backend, and activates it. */
export async function loadBinding(
  pkg: string,
  detail: string,
  deps: NativeDeps,
): Promise<LoadedEngine> {
  let binding: unknown;
  try {
    // tfjs-node registers the 'tensorflow' backend with the shared tfjs-core when required.
    binding = deps.requireModule(pkg);
  } catch (err) {
    throw new Error(explainLoadError(pkg, err), { cause: err });
  }
  if (!tf.findBackend('tensorflow')) {
    throw new Error(`${pkg} loaded but registered no 'tensorflow' backend (duplicate tfjs-core?)`);
  }
  await activate('tensorflow');
  const versions = (binding as { version?: Record<string, string> }).version;
  return {
    tfBackend: 'tensorflow',
    package: pkg,
    version: versions?.['tfjs-node'] ?? packageVersion(pkg),
    detail,
  };
}
