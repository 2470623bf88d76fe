import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { METHOD_NAMES, type PushEvent } from '../../core/api/contract.js';
import { compiledModulePath } from '../../core/util/module-path.js';
import { CHANNELS } from '../../electron/ipc.js';

vi.mock('electron', () => ({ ipcMain: {} }));

/**
 * The preload runs compiled (dist/electron/preload.cjs) in a sandbox whose `require` knows only
 * 'electron', so these tests run the build output the same way, with a fake electron module.
 */
const compiled = compiledModulePath(
  new URL('../../electron/preload.cts', import.meta.url).href,
  './preload.cjs',
);
const code = readFileSync(compiled, 'utf8');

type Listener = (event: unknown, pushed: PushEvent) => void;

function runPreload() {
  const exposed = new Map<string, Record<string, unknown>>();
  const listeners = new Map<string, Set<Listener>>();
  const ipcRenderer = {
    invoke: vi.fn(async (...args: unknown[]) => ({ echoed: args })),
    on: vi.fn((channel: string, listener: Listener) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    }),
    removeListener: vi.fn((channel: string, listener: Listener) => {
      listeners.get(channel)?.delete(listener);
    }),
  };
  const electron = {
    contextBridge: {
      exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.set(key, api),
    },
    ipcRenderer,
  };
  const sandboxRequire = (id: string) => {
    if (id !== 'electron') throw new Error(`a sandboxed preload cannot require ${id}`);
    return electron;
  };
  const module = { exports: {} };
  vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports });
  return { exposed, ipcRenderer, listeners };
}

describe('the compiled preload', () => {
  it('requires nothing but electron', () => {
    const required = [...code.matchAll(/\brequire\(\s*([^)]*)\)/g)].map((m) => m[1]);
    expect(required).toEqual(['"electron"']);
    expect(code).not.toMatch(/\bimport\s*\(/);
  });

  it('exposes window.workbench: one function per API method plus onEvent, nothing raw', () => {
    const { exposed } = runPreload();
    expect([...exposed.keys()]).toEqual(['workbench']);
    const workbench = exposed.get('workbench')!;
    expect(Object.keys(workbench).sort()).toEqual([...METHOD_NAMES, 'onEvent'].sort());
    for (const value of Object.values(workbench)) expect(typeof value).toBe('function');
  });

  it('invokes the call channel with each method name and its input', async () => {
    const { exposed, ipcRenderer } = runPreload();
    const workbench = exposed.get('workbench')!;
    for (const name of METHOD_NAMES) {
      const input = { probe: name };
      const result = await (workbench[name] as (i: unknown) => Promise<unknown>)(input);
      expect(result).toEqual({ echoed: [CHANNELS.call, name, input] });
    }
    expect(ipcRenderer.invoke).toHaveBeenCalledTimes(METHOD_NAMES.length);
  });

  it('delivers push events to subscribers until they unsubscribe', () => {
    const { exposed, listeners } = runPreload();
    const onEvent = exposed.get('workbench')!.onEvent as (l: (e: PushEvent) => void) => () => void;
    const first = vi.fn();
    const second = vi.fn();
    const unsubscribeFirst = onEvent(first);
    onEvent(second);
    const emit = (event: PushEvent) =>
      listeners.get(CHANNELS.event)?.forEach((l) => l({ sender: 'ipc' }, event));

    emit({ type: 'runs-changed' });
    unsubscribeFirst();
    emit({ type: 'datasets-changed' });
    expect(first.mock.calls).toEqual([[{ type: 'runs-changed' }]]);
    expect(second.mock.calls).toEqual([[{ type: 'runs-changed' }], [{ type: 'datasets-changed' }]]);
  });
});
