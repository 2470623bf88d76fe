import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError, errorMessage } from '../util/errors.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { detectGpus, type GpuDetection } from './system.js';

/** The engine ladder, fastest first. `auto` takes the first that loads. */
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export type BackendChoice = BackendName | 'auto';

export function parseBackendChoice(value: string): BackendChoice {
  if (value === 'auto' || (BACKENDS as readonly string[]).includes(value))
    return value as BackendChoice;
  throw new UserError(`unknown backend '${value}' (choose auto, ${BACKENDS.join(', ')})`);
}

/** What a loaded backend reports about itself; recorded with every run. */
export interface EngineInfo {
  backend: BackendName;
  /** The tfjs backend name registered with tfjs-core ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  package: string;
  version: string;
  /** e.g. 'wasm simd, 1 thread' or the libtensorflow device. */
  detail: string;
}

export interface SkippedBackend {
  backend: BackendName;
  reason: string;
}

export interface EngineSelection {
  engine: EngineInfo;
  /** Backends higher on the ladder that were tried and skipped, with why. */
  skipped: SkippedBackend[];
}

/**
 * How each rung loads. Injected so the ladder's logic is testable without libtensorflow.
 * A loader throws when its backend cannot be used here.
 */
export interface BackendLoaders {
  load(name: BackendName): Promise<EngineInfo>;
}

/** Picks the backend: the named one (or a clear error), or the first that loads for `auto`. */
export async function selectBackend(
  choice: BackendChoice,
  loaders: BackendLoaders = nodeLoaders,
): Promise<EngineSelection> {
  if (choice !== 'auto') {
    try {
      return { engine: await loaders.load(choice), skipped: [] };
    } catch (err) {
      throw new UserError(
        `backend '${choice}' cannot load: ${errorMessage(err)}`,
        'try --backend auto',
      );
    }
  }
  const skipped: SkippedBackend[] = [];
  for (const name of BACKENDS) {
    try {
      return { engine: await loaders.load(name), skipped };
    } catch (err) {
      skipped.push({ backend: name, reason: errorMessage(err) });
    }
  }
  throw new Error(
    `no backend could load: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  );
}

/** An engine selection as a worker reports it (names are plain strings across the boundary). */
export interface SelectionReport {
  engine: Pick<EngineInfo, 'package' | 'version' | 'detail'> & { backend: string };
  skipped: { backend: string; reason: string }[];
}

/** One line per backend for `auto`: which was chosen and why the faster ones were skipped. */
export function describeSelection(sel: SelectionReport): string[] {
  return [
    `engine: ${sel.engine.backend} (${sel.engine.package} ${sel.engine.version}, ${sel.engine.detail})`,
    ...sel.skipped.map((s) => `  skipped ${s.backend}: ${s.reason}`),
  ];
}

const require = createRequire(import.meta.url);

/** The first line of a load error, with the usual causes named. */
export function explainLoadError(pkg: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    return `${pkg} is not installed (optional dependency; its install downloads libtensorflow)`;
  }
  const first = errorMessage(err).split('\n')[0] ?? '';
  return `${pkg} failed to load: ${first}`;
}

function packageVersion(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function activate(tfBackend: string): Promise<void> {
  const ok = await tf.setBackend(tfBackend);
  if (!ok) throw new Error(`tfjs could not initialise the '${tfBackend}' backend`);
  await tf.ready();
}

/** Why the GPU rung cannot be used, from what nvidia-smi said; null when it lists a GPU. */
function gpuRungProblem(detection: GpuDetection): string | null {
  if (detection.gpus === null) return detection.problem;
  return detection.gpus.length === 0 ? 'nvidia-smi lists no GPU' : null;
}

/** What the libtensorflow rungs need from the outside world; replaced by fakes in tests. */
export interface NativeDeps {
  requireModule(id: string): unknown;
  detectGpus(): Promise<GpuDetection>;
}

async function loadTensorflow(
  name: 'tensorflow-gpu' | 'tensorflow',
  deps: NativeDeps,
): Promise<EngineInfo> {
  const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (name === 'tensorflow-gpu') {
    // libtensorflow's GPU build quietly runs on the CPU when CUDA finds no device; don't claim a GPU then.
    const reason = gpuRungProblem(await deps.detectGpus());
    if (reason) throw new Error(reason);
  }
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
  const tfVersion = versions?.['tfjs-node'] ?? packageVersion(pkg);
  return {
    backend: name,
    tfBackend: 'tensorflow',
    package: pkg,
    version: tfVersion,
    detail: name === 'tensorflow-gpu' ? 'libtensorflow with CUDA' : 'libtensorflow CPU',
  };
}

async function loadWasm(): Promise<EngineInfo> {
  await import('@tensorflow/tfjs-backend-wasm');
  registerWasmTrainingKernels();
  await activate('wasm');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return {
    backend: 'wasm',
    tfBackend: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    version: packageVersion('@tensorflow/tfjs-backend-wasm'),
    detail: `XNNPACK${simd ? ' SIMD' : ''}, ${threads ? 'multi-threaded' : '1 thread'}`,
  };
}

async function loadCpu(): Promise<EngineInfo> {
  await activate('cpu');
  return {
    backend: 'cpu',
    tfBackend: 'cpu',
    package: '@tensorflow/tfjs-backend-cpu',
    version: packageVersion('@tensorflow/tfjs-backend-cpu'),
    detail: 'pure JavaScript',
  };
}

/** Loaders for Node processes (CLI, server, workers); `deps` are swapped for fakes in tests. */
export function createNodeLoaders(
  deps: NativeDeps = { requireModule: (id) => require(id) as unknown, detectGpus },
): BackendLoaders {
  return {
    load(name) {
      switch (name) {
        case 'tensorflow-gpu':
        case 'tensorflow':
          return loadTensorflow(name, deps);
        case 'wasm':
          return loadWasm();
        case 'cpu':
          return loadCpu();
      }
    },
  };
}

export const nodeLoaders = createNodeLoaders();

/** What probing the ladder looks at; replaced by fakes in tests. */
export interface ProbeDeps {
  /** The folder of an installed package, or null when it does not resolve. */
  packageDir(pkg: string): string | null;
  /** File names in a folder ([] when it does not exist). */
  listDir(dir: string): string[];
  detectGpus(): Promise<GpuDetection>;
}

/** The engine a job would most likely run on, found without loading any backend. */
export interface EngineProbe {
  backend: BackendName;
  detail: string;
  skipped: SkippedBackend[];
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const DETAILS: Record<BackendName, string> = {
  'tensorflow-gpu': 'libtensorflow with CUDA',
  tensorflow: 'libtensorflow CPU',
  wasm: 'XNNPACK',
  cpu: 'pure JavaScript',
};

/** Why a rung would not load, judged from the files on disk; null when it looks usable. */
async function probeRung(name: BackendName, deps: ProbeDeps): Promise<string | null> {
  const pkg = PACKAGES[name];
  if (name === 'tensorflow-gpu') {
    const reason = gpuRungProblem(await deps.detectGpus());
    if (reason) return reason;
  }
  const dir = deps.packageDir(pkg);
  if (dir === null) return explainLoadError(pkg, { code: 'MODULE_NOT_FOUND' });
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    // The install script builds lib/napi-vN/tfjs_binding.node after downloading libtensorflow.
    const lib = path.join(dir, 'lib');
    const built = deps
      .listDir(lib)
      .some(
        (d) =>
          /^napi-v\d+$/.test(d) && deps.listDir(path.join(lib, d)).includes('tfjs_binding.node'),
      );
    if (!built)
      return `${pkg} is installed without its native binding (libtensorflow was not downloaded)`;
  }
  if (name === 'wasm' && !deps.listDir(path.join(dir, 'dist')).some((f) => f.endsWith('.wasm')))
    return `${pkg} is installed without its .wasm binaries`;
  return null;
}

/**
 * Works out the rung `choice` would run on from the installed packages and nvidia-smi, without
 * loading TensorFlow: cheap enough for a host's status line. Jobs still select their backend
 * themselves (selectBackend) and record what they really used.
 */
export async function probeBackends(
  choice: BackendChoice,
  deps: ProbeDeps = nodeProbeDeps,
): Promise<EngineProbe> {
  if (choice !== 'auto') {
    const reason = await probeRung(choice, deps);
    return {
      backend: choice,
      detail: reason === null ? DETAILS[choice] : `cannot load: ${reason}`,
      skipped: [],
    };
  }
  const skipped: SkippedBackend[] = [];
  for (const name of BACKENDS) {
    const reason = await probeRung(name, deps);
    if (reason === null) return { backend: name, detail: DETAILS[name], skipped };
    skipped.push({ backend: name, reason });
  }
  // The cpu backend is a dependency of the workbench itself, so this is a broken install.
  return { backend: 'cpu', detail: 'no backend is installed', skipped };
}

const nodeProbeDeps: ProbeDeps = {
  packageDir(pkg) {
    try {
      return path.dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      return null;
    }
  },
  listDir(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  detectGpus,
};
