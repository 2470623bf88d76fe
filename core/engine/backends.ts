import {
  BACKENDS,
  type BackendChoice,
  type BackendName,
  backendChoiceSchema,
} from '../schema/backends.js';
import { UserError, errorMessage } from '../util/errors.js';
import { cpu } from './cpu.js';
import {
  nodeNativeDeps,
  nodeProbeDeps,
  type LoadedEngine,
  type LoadHow,
  type NativeDeps,
  type ProbeDeps,
  type Rung,
} from './rung.js';
import { tensorflow } from './tensorflow.js';
import { tensorflowGpu } from './tensorflow-gpu.js';
import { wasm } from './wasm.js';
import { webgpu } from './webgpu.js';

export { BACKENDS, type BackendChoice, type BackendName };
export { explainLoadError, type Hardware, type NativeDeps, type ProbeDeps } from './rung.js';

/** Every rung's module, by name; the ladder's order is BACKENDS'. */
const RUNGS: { [N in BackendName]: Rung<N> } = {
  'tensorflow-gpu': tensorflowGpu,
  webgpu,
  tensorflow,
  wasm,
  cpu,
};

/** The engine ladder, fastest first. `auto` takes the first rung that loads. */
export const LADDER: readonly Rung<BackendName>[] = BACKENDS.map((name) => RUNGS[name]);

/** The module of a rung. */
export function rung(name: BackendName): Rung<BackendName> {
  return RUNGS[name];
}

export function parseBackendChoice(value: string): BackendChoice {
  const parsed = backendChoiceSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new UserError(`unknown backend '${value}' (choose auto, ${BACKENDS.join(', ')})`);
}

/** What a loaded backend reports about itself; recorded with every run. */
export interface EngineInfo extends LoadedEngine {
  backend: BackendName;
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
  load(name: BackendName, how?: LoadHow): Promise<EngineInfo>;
}

/** Picks the backend: the named one (or a clear error), or the first that loads for `auto`. */
export async function selectBackend(
  choice: BackendChoice,
  loaders: BackendLoaders = nodeLoaders,
): Promise<EngineSelection> {
  if (choice !== 'auto') {
    try {
      return { engine: await loaders.load(choice, { auto: false }), skipped: [] };
    } catch (err) {
      throw new UserError(
        `backend '${choice}' cannot load: ${errorMessage(err)}`,
        'try --backend auto',
      );
    }
  }
  const skipped: SkippedBackend[] = [];
  for (const { name } of LADDER) {
    try {
      return { engine: await loaders.load(name, { auto: true }), skipped };
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

/** Loaders for Node processes (CLI, server, workers); `deps` are swapped for fakes in tests. */
export function createNodeLoaders(deps: NativeDeps = nodeNativeDeps): BackendLoaders {
  return {
    load: async (name, how = { auto: false }) => ({
      backend: name,
      ...(await RUNGS[name].load(deps, how)),
    }),
  };
}

export const nodeLoaders = createNodeLoaders();

/** The engine a job would most likely run on, found without loading any backend. */
export interface EngineProbe {
  backend: BackendName;
  detail: string;
  skipped: SkippedBackend[];
  /** Why a backend asked for by name cannot load. */
  reason?: string;
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
    const reason = await RUNGS[choice].probe(deps, { auto: false });
    if (reason === null) return { backend: choice, detail: RUNGS[choice].description, skipped: [] };
    return { backend: choice, detail: `cannot load: ${reason}`, skipped: [], reason };
  }
  const skipped: SkippedBackend[] = [];
  for (const r of LADDER) {
    const reason = await r.probe(deps, { auto: true });
    if (reason === null) return { backend: r.name, detail: r.description, skipped };
    skipped.push({ backend: r.name, reason });
  }
  // The cpu backend is a dependency of the workbench itself, so this is a broken install.
  return { backend: 'cpu', detail: 'no backend is installed', skipped };
}

/**
 * Refuses a backend asked for by name that the probe can tell will not load, before a job is
 * queued for it: one line saying why, instead of a run that fails in its worker.
 */
export async function requireBackend(
  choice: BackendChoice,
  deps: ProbeDeps = nodeProbeDeps,
): Promise<void> {
  if (choice === 'auto') return;
  const { reason } = await probeBackends(choice, deps);
  if (reason !== undefined)
    throw new UserError(
      `backend '${choice}' cannot load: ${reason}`,
      'svw doctor shows what this machine has',
    );
}
