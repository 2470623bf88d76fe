import { utilityProcess } from 'electron';
import { workerEntry, type JobHost, type JobProcess } from '../core/jobs/host.js';

/**
 * Job workers as Electron utility processes: Node processes that Electron starts, names in the
 * task manager and tears down with the app. The worker answers over `process.parentPort`.
 */
export const utilityJobHost: JobHost = {
  start(options): JobProcess {
    const child = utilityProcess.fork(workerEntry(), [], {
      serviceName: 'SuperVision job',
      stdio: 'pipe',
      ...(options?.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    // Piped, then copied to the main process's own output, so a worker's logs and crash output
    // end up wherever the app's go (a terminal in development, nowhere harmful when packaged).
    child.stdout?.pipe(process.stdout, { end: false });
    child.stderr?.pipe(process.stderr, { end: false });

    let killed = false;
    let fatal: string | null = null;
    let exited: [number | null, string] | null = null;
    let exitHandler: ((code: number | null, reason: string) => void) | null = null;
    child.on('error', (_type, location) => {
      fatal = location;
    });
    child.on('exit', (code) => {
      const reason = killed
        ? 'was killed'
        : `exited with code ${code}${fatal ? ` (fatal error at ${fatal})` : ''}`;
      exited = [killed ? null : code, reason];
      exitHandler?.(...exited);
    });

    return {
      get pid() {
        return child.pid;
      },
      send: (message) => {
        if (!exited) child.postMessage(message);
      },
      kill: () => {
        if (exited) return;
        killed = true;
        child.kill();
      },
      onMessage: (handler) => {
        child.on('message', (message: unknown) => handler(message));
      },
      onExit: (handler) => {
        exitHandler = handler;
        if (exited) handler(...exited);
      },
    };
  },
};
