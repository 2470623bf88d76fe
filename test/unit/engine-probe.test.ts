import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeBackends, selectBackend, type ProbeDeps } from '../../core/engine/backends.js';
import { CUDA_11, fakeLibraries } from '../helpers/fake-libraries.js';
import { detection } from '../helpers/gpus.js';

/** Deps over a fake node_modules: `files` lists every file that exists, by full path. */
function fakeDeps(
  files: string[],
  gpus: unknown[] | null,
  libraries: string[] = [],
): ProbeDeps & { required: string[] } {
  const required: string[] = [];
  const dirs = new Map<string, Set<string>>();
  for (const file of files) {
    let child = file;
    for (let dir = path.dirname(file); dir !== child; child = dir, dir = path.dirname(dir)) {
      const entries = dirs.get(dir) ?? new Set<string>();
      entries.add(path.basename(child));
      dirs.set(dir, entries);
    }
  }
  return {
    required,
    packageDir(pkg) {
      required.push(pkg);
      const dir = path.join('/nm', pkg);
      return dirs.has(dir) ? dir : null;
    },
    listDir: (dir) => [...(dirs.get(dir) ?? [])],
    detectGpus: async () => detection(gpus),
    adapters: async () => [],
    libraries: fakeLibraries(libraries),
  };
}

const nodeBinding = (pkg: string) => `/nm/${pkg}/lib/napi-v8/tfjs_binding.node`;
const WASM = '/nm/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm';
const CPU = '/nm/@tensorflow/tfjs-backend-cpu/package.json';

describe('probeBackends (no backend is loaded)', () => {
  it('falls through to wasm when tfjs-node is missing and there is no GPU', async () => {
    const deps = fakeDeps([WASM, CPU], null);
    const probe = await probeBackends('auto', deps);
    expect(probe.backend).toBe('wasm');
    expect(probe.skipped).toEqual([
      { backend: 'tensorflow-gpu', reason: 'nvidia-smi is not installed (no NVIDIA driver)' },
      { backend: 'webgpu', reason: expect.stringMatching(/^Dawn found no WebGPU adapter/) },
      { backend: 'tensorflow', reason: expect.stringMatching(/tfjs-node is not installed/) },
    ]);
    // The GPU rung never looks for its package without a GPU.
    expect(deps.required).not.toContain('@tensorflow/tfjs-node-gpu');
  });

  it('skips a tfjs-node whose native binding was never built', async () => {
    const probe = await probeBackends(
      'auto',
      fakeDeps(['/nm/@tensorflow/tfjs-node/package.json', WASM, CPU], []),
    );
    expect(probe.backend).toBe('wasm');
    expect(probe.skipped[0]!.reason).toMatch(/no GPU/);
    expect(probe.skipped[2]!.reason).toMatch(/without its native binding/);
  });

  it('takes tensorflow when its binding is built, and the GPU rung only with a GPU', async () => {
    const files = [
      nodeBinding('@tensorflow/tfjs-node'),
      nodeBinding('@tensorflow/tfjs-node-gpu'),
      WASM,
      CPU,
    ];
    expect(await probeBackends('auto', fakeDeps(files, []))).toMatchObject({
      backend: 'tensorflow',
      detail: 'libtensorflow CPU',
    });
    expect(await probeBackends('auto', fakeDeps(files, [{ name: 'T4' }], CUDA_11))).toEqual({
      backend: 'tensorflow-gpu',
      detail: 'libtensorflow with CUDA',
      skipped: [],
    });
  });

  it('falls to cpu without the wasm binaries, and reports a named backend that cannot load', async () => {
    const noWasm = fakeDeps(['/nm/@tensorflow/tfjs-backend-wasm/package.json', CPU], null);
    const probe = await probeBackends('auto', noWasm);
    expect(probe.backend).toBe('cpu');
    expect(probe.skipped.map((s) => s.backend)).toEqual([
      'tensorflow-gpu',
      'webgpu',
      'tensorflow',
      'wasm',
    ]);
    expect(await probeBackends('wasm', noWasm)).toEqual({
      backend: 'wasm',
      detail: expect.stringMatching(/^cannot load: .*\.wasm binaries/),
      skipped: [],
      reason: expect.stringMatching(/\.wasm binaries/),
    });
    expect(await probeBackends('cpu', noWasm)).toMatchObject({
      backend: 'cpu',
      detail: 'pure JavaScript',
    });
  });

  it('on this machine predicts the engine the ladder then loads, and what it skips', async () => {
    const probe = await probeBackends('auto');
    const loaded = await selectBackend('auto');
    expect(probe.backend).toBe(loaded.engine.backend);
    expect(probe.skipped.map((s) => s.backend)).toEqual(loaded.skipped.map((s) => s.backend));
  });
});
