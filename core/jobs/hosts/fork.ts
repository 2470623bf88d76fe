import { fork } from 'node:child_process';
import { workerEntry, type JobHost } from '../host.js';

/** Job workers as Node child processes, for the CLI and `svw serve`. */
export const forkJobHost: JobHost = {
  start(options) {
    const child = fork(workerEntry(), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: options?.env ? { ...process.env, ...options.env } : undefined,
    });
    let exitHandler: ((code: number | null, reason: string) => void) | null = null;
    let exited: [number | null, string] | null = null;
    child.on('exit', (code, signal) => {
      exited = [code, signal ? `killed by ${signal}` : `exited with code ${code}`];
      exitHandler?.(...exited);
    });
    child.on('error', (err) => {
      if (!exited) {
        exited = [null, `could not run: ${err.message}`];
        exitHandler?.(...exited);
      }
    });
    return {
      pid: child.pid,
      send: (message) => {
        if (child.connected) child.send(message);
      },
      kill: () => child.kill('SIGKILL'),
      onMessage: (handler) => child.on('message', handler),
      onExit: (handler) => {
        exitHandler = handler;
        if (exited) handler(...exited);
      },
    };
  },
};
