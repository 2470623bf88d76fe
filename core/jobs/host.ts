import { fork } from 'node:child_process';
import { compiledModulePath } from '../util/module-path.js';
import type { HostMessage } from '../schema/messages.js';

/** A running job worker, however it was started. */
export interface JobProcess {
  readonly pid: number | undefined;
  send(message: HostMessage): void;
  kill(): void;
  onMessage(handler: (message: unknown) => void): void;
  /** Called once when the process has exited; `reason` describes a signal or exit code. */
  onExit(handler: (code: number | null, reason: string) => void): void;
}

/** Starts job workers: `child_process.fork` here, Electron's `utilityProcess.fork` in the app. */
export interface JobHost {
  start(): JobProcess;
}

/** The compiled worker entry point, shared by every host. */
export const workerEntry = () => compiledModulePath(import.meta.url, './worker.js');

/** Job workers as Node child processes, for the CLI and `svw serve`. */
export const forkJobHost: JobHost = {
  start() {
    const child = fork(workerEntry(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
