import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const built = (file: string) => pathToFileURL(path.join(ROOT, 'dist/core', file)).href;

/**
 * A process set up as the job worker sets itself up (reportFatalErrors, then the wasm backend,
 * whose Emscripten runtime adds listeners that rethrow), which then dies of `fault`. Returns
 * what it sent its parent and how it exited.
 */
function dieOf(fault: string): Promise<{ messages: unknown[]; code: number | null }> {
  const code = `
    const { reportFatalErrors } = await import(${JSON.stringify(built('jobs/fatal.js'))});
    reportFatalErrors(
      (err) => new Promise((resolve) => process.send({ type: 'error', message: err.message }, resolve)),
    );
    const { selectBackend } = await import(${JSON.stringify(built('engine/backends.js'))});
    await selectBackend('wasm');
    process.send({ type: 'ready' });
    ${fault};
    setTimeout(() => process.send({ type: 'still alive' }), 2000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const messages: unknown[] = [];
  child.on('message', (m) => messages.push(m));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ messages, code })));
}

describe('a job worker that dies', () => {
  it('reports a rejection nobody handled before it exits', async () => {
    const { messages, code } = await dieOf(
      `Promise.reject(new Error('a prefetched batch nobody waits for'))`,
    );
    expect(messages).toEqual([
      { type: 'ready' },
      { type: 'error', message: 'a prefetched batch nobody waits for' },
    ]);
    expect(code).toBe(1);
  });

  it('reports an exception nobody caught before it exits', async () => {
    const { messages, code } = await dieOf(
      `setTimeout(() => { throw new Error('thrown in a callback'); }, 10)`,
    );
    expect(messages).toEqual([
      { type: 'ready' },
      { type: 'error', message: 'thrown in a callback' },
    ]);
    expect(code).toBe(1);
  });
});
