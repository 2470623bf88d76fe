import { InvalidArgumentError, type Command } from 'commander';
import open from 'open';
import { createHostService } from '../../api/service.js';
import type { BackendChoice } from '../../engine/backends.js';
import { openJobHost } from '../../jobs/hosts/index.js';
import { startServer } from '../../server/server.js';
import { errorMessage } from '../../util/errors.js';
import { compiledModulePath } from '../../util/module-path.js';
import { note } from '../output.js';
import { addBackendOption, parseIntOption } from '../parse.js';

/** The port `svw serve` listens on unless told otherwise. */
export const DEFAULT_PORT = 7447;

interface ServeFlags {
  port: number;
  open?: boolean;
  backend: BackendChoice;
}

function parsePort(value: string): number {
  const n = parseIntOption(value);
  if (n < 0 || n > 65_535)
    throw new InvalidArgumentError('expected a port from 0 to 65535 (0 picks a free one)');
  return n;
}

/** `svw serve`: the UI, the API and push events over HTTP for a browser. */
export function registerServe(program: Command): void {
  addBackendOption(program.command('serve'))
    .description(
      'serve the workbench UI to a browser on 127.0.0.1 (headless machines: tunnel the port over SSH)',
    )
    .option('--port <port>', 'port to listen on; 0 picks a free one', parsePort, DEFAULT_PORT)
    .option('--open', 'open the UI in the default browser')
    .action(async (opts: ServeFlags) => {
      const service = createHostService({
        kind: 'serve',
        jobHost: await openJobHost('fork'),
        backend: opts.backend,
      });
      // Listening for signals from the start: the default action would orphan the workers.
      const signalled = untilSignal();
      // dist/core/cli/commands/serve.js → dist/renderer, the built UI.
      const server = await Promise.resolve()
        .then(() => compiledModulePath(import.meta.url, '../../../renderer'))
        .then((staticDir) => startServer({ service, port: opts.port, staticDir }))
        .catch(async (err: unknown) => {
          await service.close();
          throw err;
        });
      process.stdout.write(`SuperVision Workbench is running at ${server.url}\n`);
      note(
        `Open it in a browser on this machine, or from another after \`ssh -L ${server.port}:127.0.0.1:${server.port} <this machine>\`. Ctrl-C stops the server and its jobs.`,
      );
      if (opts.open) await openBrowser(server.url);
      const stopping = await signalled;
      note(`${stopping}: stopping the server and its jobs…`);
      await service.close();
      await server.close();
    });
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const force = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      // Shutting down waits for workers to die; an impatient second Ctrl-C should not.
      process.once('SIGINT', force).once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}

async function openBrowser(url: string): Promise<void> {
  // Without a display, xdg-open would fall back to a terminal browser behind our back.
  const env = process.env;
  if (
    process.platform === 'linux' &&
    !env.DISPLAY &&
    !env.WAYLAND_DISPLAY &&
    !env.WSL_DISTRO_NAME
  ) {
    note('There is no display here to open a browser on; open the URL above in one.');
    return;
  }
  try {
    await open(url);
  } catch (err) {
    note(`Could not open a browser (${errorMessage(err)}); open the URL above in one.`);
  }
}
