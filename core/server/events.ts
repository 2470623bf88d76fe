import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HostService } from '../api/host-service.js';

/** How often sockets are pinged; one without a pong since the last ping is dropped. */
const HEARTBEAT_MS = 30_000;
/** A client this far behind is dropped; it reconnects and refetches what it shows. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** The push-event channel: every service event goes to every connected socket as JSON. */
export interface EventChannel {
  /** Takes over an upgrade request that has already passed the token and Origin checks. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

/** Opens the event channel for a service, with a heartbeat that ends dead sockets. */
export function eventChannel(service: HostService, heartbeatMs = HEARTBEAT_MS): EventChannel {
  // The UI only listens: a client message larger than this is a protocol error.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const alive = new WeakSet<WebSocket>();

  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('error', () => ws.terminate());
    const unsubscribe = service.onEvent((event) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify(event));
    });
    ws.once('close', unsubscribe);
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  return {
    upgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    close() {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
