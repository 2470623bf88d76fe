import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { errorMessage } from '../util/errors.js';
import type { GpuAdapterInfo } from '../schema/backends.js';
import { nodeLibraryLookup, type LibraryLookup } from './cuda-libs.js';
import { detectGpus, type GpuDetection } from './system.js';
import { dawnGpu, listAdaptersApart, type Gpu } from './webgpu-dawn.js';

/** What a loaded rung reports about itself; the ladder adds the rung's name and records it. */
export interface LoadedEngine {
  /** The tfjs backend name registered with tfjs-core ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  package: string;
  version: string;
  /** e.g. 'XNNPACK SIMD' or the libtensorflow device. */
  detail: string;
  /** The WebGPU adapter, on the webgpu rung. */
  adapter?: GpuAdapterInfo;
}

/** How a rung is asked for: by `auto` (which passes over slow fallbacks) or by name. */
export interface LoadHow {
  auto: boolean;
}

/** What the machine offers a rung's default concurrency policy. */
export interface Hardware {
  cores: number;
  /** NVIDIA GPUs that nvidia-smi lists; the scheduler pins slot i to GPU i. */
  gpus: number;
}

/** What the libtensorflow rungs need from the outside world when loading; fakes in tests. */
export interface NativeDeps {
  requireModule(id: string): unknown;
  detectGpus(): Promise<GpuDetection>;
  /** navigator.gpu: this process's Dawn instance. */
  webgpu(): Promise<Gpu>;
  /**
   * The WebGPU adapters Dawn offers, listed out of process (webgpu-list.ts), for `auto` to
   * judge before Dawn is loaded here.
   */
  adapters(): Promise<GpuAdapterInfo[]>;
  /** Where the CUDA libraries are looked for. */
  libraries: LibraryLookup;
}

/** What probing the ladder looks at, without loading anything; fakes in tests. */
export interface ProbeDeps {
  /** The folder of an installed package, or null when it does not resolve. */
  packageDir(pkg: string): string | null;
  /** File names in a folder ([] when it does not exist). */
  listDir(dir: string): string[];
  detectGpus(): Promise<GpuDetection>;
  /** The WebGPU adapters Dawn offers (listed out of process: webgpu-list.ts). */
  adapters(): Promise<GpuAdapterInfo[]>;
  /** Where the CUDA libraries are looked for. */
  libraries: LibraryLookup;
}

/**
 * One rung of the engine ladder (a module of core/engine/). To add an engine: write a module
 * exporting a Rung, add its name to BACKENDS (core/schema/backends.ts) and the module to RUNGS
 * (core/engine/backends.ts).
 */
export interface Rung<N extends string = string> {
  readonly name: N;
  /** The npm package that provides it. */
  readonly package: string;
  /** What it runs on, for probes, doctor and the New run form ('libtensorflow CPU'). */
  readonly description: string;
  /** Jobs at once the scheduler runs on this rung by default. */
  concurrency(hw: Hardware): number;
  /**
   * True for engines that run on one thread (wasm, cpu): a training job given several threads
   * runs that many engines, each training a share of every batch (core/train/shards.ts).
   * Engines that spread over the machine themselves (libtensorflow, GPUs) leave it unset.
   */
  readonly dataParallel?: boolean;
  /** Why it would not load, judged without loading it; null when it looks usable. */
  probe(deps: ProbeDeps, how: LoadHow): Promise<string | null>;
  /** Loads it and makes it tfjs's backend; throws (one line) when it cannot be used here. */
  load(deps: NativeDeps, how: LoadHow): Promise<LoadedEngine>;
}

export const nodeRequire = createRequire(import.meta.url);

/** The first line of a load error, with the usual causes named. */
export function explainLoadError(pkg: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    return `${pkg} is not installed (optional dependency; its install downloads libtensorflow)`;
  }
  const first = errorMessage(err).split('\n')[0] ?? '';
  return `${pkg} failed to load: ${first}`;
}

export function packageVersion(pkg: string): string {
  try {
    return (nodeRequire(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Makes `tfBackend` tfjs's backend, or throws. */
export async function activate(tfBackend: string): Promise<void> {
  const ok = await tf.setBackend(tfBackend);
  if (!ok) throw new Error(`tfjs could not initialise the '${tfBackend}' backend`);
  await tf.ready();
}

export const nodeNativeDeps: NativeDeps = {
  requireModule: (id) => nodeRequire(id) as unknown,
  detectGpus,
  webgpu: dawnGpu,
  adapters: () => listAdaptersApart(),
  libraries: nodeLibraryLookup,
};

export const nodeProbeDeps: ProbeDeps = {
  packageDir(pkg) {
    try {
      return path.dirname(nodeRequire.resolve(`${pkg}/package.json`));
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
  adapters: () => listAdaptersApart(),
  libraries: nodeLibraryLookup,
};
