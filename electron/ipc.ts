import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { HostService } from '../core/api/host-service.js';

/**
 * Every IPC channel of the app. The sandboxed preload cannot import this file at run time, so it
 * repeats the names typed as `Channels`: the compiler keeps the two copies equal.
 */
export const CHANNELS = {
  /** renderer → main: `(method, input)`, answered with the result or a rejected `{code,message,path}`. */
  call: 'workbench:call',
  /** main → renderer: one PushEvent. */
  event: 'workbench:event',
} as const;
export type Channels = typeof CHANNELS;

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

/** `ipcMain.handle` that refuses anything not sent by one of the app's own pages. */
export function handleTrusted(
  channel: string,
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean,
  handler: Handler,
): void {
  ipcMain.handle(channel, async (event, ...args: unknown[]) => {
    if (!isTrustedSender(event)) throw new Error(`${channel} refused: the sender is not the app`);
    return handler(event, ...args);
  });
}

/**
 * Routes API calls from the app's pages to the host service and its push events to the pages.
 * A failure is thrown as its JSON body; the renderer client parses it back from the message.
 * Returns the function that undoes both.
 */
export function setupIpc(
  service: Pick<HostService, 'call' | 'onEvent'>,
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean,
  recipients: () => Iterable<WebContents>,
): () => void {
  handleTrusted(CHANNELS.call, isTrustedSender, async (_event, method, input) => {
    const outcome = await service.call(typeof method === 'string' ? method : '', input);
    if (outcome.ok) return outcome.result;
    throw new Error(JSON.stringify(outcome.error));
  });
  const unsubscribe = service.onEvent((event) => {
    for (const contents of recipients()) {
      if (!contents.isDestroyed()) contents.send(CHANNELS.event, event);
    }
  });
  return () => {
    ipcMain.removeHandler(CHANNELS.call);
    unsubscribe();
  };
}
