import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  createNodeLoaders,
  describeSelection,
  parseBackendChoice,
  selectBackend,
  type BackendLoaders,
  type BackendName,
  type EngineInfo,
  type NativeDeps,
} from '../../core/engine/backends.js';
import { detection } from '../helpers/gpus.js';
import { parseNvidiaSmi } from '../../core/engine/system.js';
import { UserError } from '../../core/util/errors.js';
import { rejection } from '../helpers/rejection.js';
import { fakeGpu } from '../helpers/fake-gpu.js';
import { fakeLibraries } from '../helpers/fake-libraries.js';

const info = (backend: BackendName): EngineInfo => ({
  backend,
  tfBackend: backend,
  package: `pkg-${backend}`,
  version: '1.2.3',
  detail: `detail of ${backend}`,
});

/** Loaders that fail with the given reasons and succeed for every other rung; records the order tried. */
function fakeLoaders(failures: Partial<Record<BackendName, string>>) {
  const tried: BackendName[] = [];
  const loaders: BackendLoaders = {
    async load(name) {
      tried.push(name);
      const reason = failures[name];
      if (reason !== undefined) throw new Error(reason);
      return info(name);
    },
  };
  return { loaders, tried };
}

/** Native deps whose require() behaves as `onRequire` says and whose nvidia-smi reports `gpus`. */
function fakeDeps(onRequire: (id: string) => unknown, gpus: unknown[] | null) {
  const required: string[] = [];
  const deps: NativeDeps = {
    requireModule(id) {
      required.push(id);
      return onRequire(id);
    },
    detectGpus: async () => detection(gpus),
    webgpu: async () => fakeGpu([]),
    adapters: async () => [],
    libraries: fakeLibraries(),
  };
  return { deps, required };
}

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

afterEach(async () => {
  await tf.setBackend('cpu');
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
});

describe('selectBackend with fake loaders', () => {
  it('auto takes the first rung that loads and lists the skipped ones in order', async () => {
    const { loaders, tried } = fakeLoaders({
      'tensorflow-gpu': 'no CUDA here',
      webgpu: 'no adapter',
      tensorflow: 'libtensorflow missing',
    });
    const sel = await selectBackend('auto', loaders);
    expect(sel.engine.backend).toBe('wasm');
    expect(sel.skipped).toEqual([
      { backend: 'tensorflow-gpu', reason: 'no CUDA here' },
      { backend: 'webgpu', reason: 'no adapter' },
      { backend: 'tensorflow', reason: 'libtensorflow missing' },
    ]);
    expect(tried).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm']); // cpu never tried
  });

  it('auto with nothing loadable reports every rung', async () => {
    const { loaders } = fakeLoaders({
      'tensorflow-gpu': 'a',
      webgpu: 'e',
      tensorflow: 'b',
      wasm: 'c',
      cpu: 'd',
    });
    const err = await rejection(selectBackend('auto', loaders));
    expect(err.message).toMatch(/tensorflow-gpu: a.*webgpu: e.*tensorflow: b.*wasm: c.*cpu: d/);
  });

  it('a named backend that fails is a UserError naming it, with no fallback', async () => {
    const { loaders, tried } = fakeLoaders({ wasm: 'wasm binary not found' });
    const err = await rejection(selectBackend('wasm', loaders));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/'wasm'.*wasm binary not found/);
    expect(tried).toEqual(['wasm']);
  });

  it('a named backend that loads is used without trying others', async () => {
    const { loaders, tried } = fakeLoaders({});
    expect(await selectBackend('cpu', loaders)).toEqual({ engine: info('cpu'), skipped: [] });
    expect(tried).toEqual(['cpu']);
  });

  it('parseBackendChoice accepts the ladder and auto, rejects anything else', () => {
    for (const name of ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']) {
      expect(parseBackendChoice(name)).toBe(name);
    }
    for (const bad of ['webgl', 'gpu', 'CPU', '']) {
      expect(() => parseBackendChoice(bad)).toThrow(UserError);
    }
    expect(() => parseBackendChoice('webgl')).toThrow(/unknown backend 'webgl'/);
  });

  it('describeSelection gives one line for the engine and one per skipped backend', async () => {
    const { loaders } = fakeLoaders({
      'tensorflow-gpu': 'no GPU',
      webgpu: 'no adapter',
      tensorflow: 'not installed',
    });
    const lines = describeSelection(await selectBackend('auto', loaders));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/wasm.*pkg-wasm.*1\.2\.3/);
    expect(lines[1]).toMatch(/tensorflow-gpu.*no GPU/);
    expect(lines[2]).toMatch(/webgpu.*no adapter/);
    expect(lines[3]).toMatch(/tensorflow\b.*not installed/);
    const direct = describeSelection({ engine: info('cpu'), skipped: [] });
    expect(direct).toHaveLength(1);
  });
});

describe('createNodeLoaders with fake native deps', () => {
  it('a missing tfjs-node package is reported as not installed', async () => {
    const { deps } = fakeDeps(() => {
      throw codedError("Cannot find module '@tensorflow/tfjs-node'", 'MODULE_NOT_FOUND');
    }, null);
    const err = await rejection(selectBackend('tensorflow', createNodeLoaders(deps)));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/'tensorflow'.*@tensorflow\/tfjs-node is not installed/);
  });

  it('a dlopen failure is reported on one line', async () => {
    const dlopen =
      'libtensorflow.so.2: cannot open shared object file: No such file or directory\n' +
      '    at Module._extensions..node (node:internal/modules/cjs/loader:1460:18)\n' +
      '    at Module.load (node:internal/modules/cjs/loader:1203:32)';
    const { deps } = fakeDeps(() => {
      throw codedError(dlopen, 'ERR_DLOPEN_FAILED');
    }, null);
    const err = await rejection(createNodeLoaders(deps).load('tensorflow'));
    expect(err.message).toMatch(/tfjs-node.*libtensorflow\.so\.2: cannot open shared object file/);
    expect(err.message).not.toContain('\n');
  });

  it('tensorflow-gpu is skipped without loading when nvidia-smi is missing or lists no GPU', async () => {
    for (const [gpus, reason] of [
      [null, /nvidia-smi/],
      [[], /no GPU/],
    ] as const) {
      const { deps, required } = fakeDeps(() => ({}), gpus as unknown[] | null);
      const err = await rejection(createNodeLoaders(deps).load('tensorflow-gpu'));
      expect(err.message).toMatch(reason);
      expect(required).toEqual([]);
    }
  });

  it('a package that registers no tensorflow backend is not claimed as loaded', async () => {
    const { deps } = fakeDeps(() => ({ version: { 'tfjs-node': '4.22.0' } }), null);
    const err = await rejection(createNodeLoaders(deps).load('tensorflow'));
    expect(err.message).toMatch(/registered no 'tensorflow' backend/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it("auto selects tfjs-node's 'tensorflow' backend after skipping the GPU rung", async () => {
    const { deps, required } = fakeDeps((id) => {
      if (id !== '@tensorflow/tfjs-node') throw codedError(`no ${id}`, 'MODULE_NOT_FOUND');
      tf.registerBackend('tensorflow', () => new MathBackendCPU());
      return { version: { 'tfjs-node': '4.22.0' } };
    }, null);
    const sel = await selectBackend('auto', createNodeLoaders(deps));
    expect(sel.engine).toMatchObject({
      backend: 'tensorflow',
      tfBackend: 'tensorflow',
      package: '@tensorflow/tfjs-node',
      version: '4.22.0',
    });
    expect(sel.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'webgpu']);
    expect(sel.skipped[0]!.reason).toMatch(/nvidia-smi/);
    expect(sel.skipped[1]!.reason).toMatch(/no WebGPU adapter/);
    expect(required).toEqual(['@tensorflow/tfjs-node']);
    expect(tf.getBackend()).toBe('tensorflow');
  });
});

describe('parseNvidiaSmi', () => {
  it('parses one GPU per csv line', () => {
    const csv = 'NVIDIA GeForce RTX 3090, 24576, 535.104.05\nTesla T4, 15360, 470.57.02\n';
    expect(parseNvidiaSmi(csv)).toEqual([
      { name: 'NVIDIA GeForce RTX 3090', memoryMiB: 24576, driver: '535.104.05' },
      { name: 'Tesla T4', memoryMiB: 15360, driver: '470.57.02' },
    ]);
    expect(parseNvidiaSmi('Tesla K80, [N/A], 470.57.02')[0]!.memoryMiB).toBeNull();
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});
