import { realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HostService } from '../api/host-service.js';
import { UserError, errorMessage } from '../util/errors.js';
import { newToken, refusal } from './auth.js';
import { eventChannel } from './events.js';
import { sendApiError, sendText } from './respond.js';
import { parseRequestUrl, rawPathname, route, type RouteContext } from './routes.js';

export interface ServerOptions {
  service: HostService;
  /** 0 picks a free port. */
  port: number;
  /** The built renderer (dist/renderer), served as the site's files. */
  staticDir: string;
  /** Where errors inside handlers are reported (they never reach the client); stderr by default. */
  onError?: (err: unknown) => void;
  /** Interval of the WebSocket heartbeat; 30 s unless a test needs it sooner. */
  heartbeatMs?: number;
}

export interface RunningServer {
  /** The address to open, token included: `http://127.0.0.1:PORT/?token=…`. */
  url: string;
  token: string;
  /** The address actually bound: always 127.0.0.1. */
  host: string;
  port: number;
  /** Drops every connection and socket and stops listening. */
  close(): Promise<void>;
}

/** Serves the UI, the API and the push events on 127.0.0.1, behind a per-start token. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const root = await rendererRoot(options.staticDir);
  const onError =
    options.onError ??
    ((err: unknown) => process.stderr.write(`svw serve: ${errorMessage(err)}\n`));
  const ctx: RouteContext = { service: options.service, root, token: newToken(), port: 0 };
  const events = eventChannel(options.service, options.heartbeatMs);

  const server = http.createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      // A client that hangs up mid-download is not an error of ours.
      if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') onError(err);
      try {
        if (res.headersSent) res.destroy();
        else if (rawPathname(req.url).startsWith('/api/'))
          sendApiError(res, 500, 'internal', 'internal error; see the server output');
        else sendText(res, 500, 'internal error; see the server output');
      } catch {
        res.destroy();
      }
    });
  });
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    // Until the WebSocket takes the socket over, a reset must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    try {
      if (refusal(req, parseRequestUrl(req.url), ctx.port, ctx.token))
        return rejectUpgrade(socket, '403 Forbidden');
      if (rawPathname(req.url) !== '/events') return rejectUpgrade(socket, '404 Not Found');
      events.upgrade(req, socket, head);
    } catch (err) {
      onError(err);
      rejectUpgrade(socket, '500 Internal Server Error');
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });

  await listen(server, options.port);
  const bound = server.address() as AddressInfo;
  ctx.port = bound.port;
  server.on('error', onError);

  return {
    url: `http://127.0.0.1:${ctx.port}/?token=${ctx.token}`,
    token: ctx.token,
    host: bound.address,
    port: ctx.port,
    close: () =>
      new Promise<void>((resolve) => {
        events.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function rejectUpgrade(socket: Duplex, status: string): void {
  if (!socket.writable) return void socket.destroy();
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

async function rendererRoot(dir: string): Promise<string> {
  const root = await realpath(dir).catch(() => null);
  const index = root ? await stat(`${root}/index.html`).catch(() => null) : null;
  if (!root || !index?.isFile())
    throw new UserError(
      `the UI is not built (${dir}/index.html is missing)`,
      'run `npm run build`',
    );
  return root;
}

/** Listens on 127.0.0.1 only: the token is the sole guard, so nothing off this machine may ask. */
function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(new UserError(`port ${port} is in use; choose another with --port`));
      else if (err.code === 'EACCES')
        reject(
          new UserError(`port ${port} is not allowed for this user; choose another with --port`),
        );
      else reject(err);
    };
    server.once('error', failed);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
