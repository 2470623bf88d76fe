import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { IpcMainInvokeEvent, WebContents } from 'electron';
import type { ApiErrorBody, PushEvent } from '../../core/api/contract.js';
import type { CallOutcome, HostService } from '../../core/api/host-service.js';
import { CHANNELS, setupIpc } from '../../electron/ipc.js';
import { electron, FakeWebContents, frame } from '../helpers/electron-fakes.js';

vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).electron);

/** A HostService that answers from a table and lets the test push events. */
function fakeService(answers: Record<string, CallOutcome>) {
  const listeners = new Set<(event: PushEvent) => void>();
  const service = {
    call: vi.fn(async (method: string, _input: unknown): Promise<CallOutcome> => {
      return (
        answers[method] ?? { ok: false, status: 404, error: { code: 'not-found', message: method } }
      );
    }),
    onEvent: vi.fn((listener: (event: PushEvent) => void) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    }),
  } satisfies Pick<HostService, 'call' | 'onEvent'>;
  const push = (event: PushEvent) => listeners.forEach((l) => l(event));
  return { service, push, listeners };
}

const ours = new FakeWebContents();
const isTrusted = (event: IpcMainInvokeEvent) =>
  (event.sender as unknown) === ours && event.senderFrame?.url.startsWith('svw://app/') === true;

function invoke(sender: FakeWebContents, url: string, method: unknown, input: unknown) {
  const handler = electron.ipcMain.handlers.get(CHANNELS.call);
  if (!handler) throw new Error('no handler registered');
  return handler({ sender, senderFrame: frame(url) }, method, input);
}

/** The same parse the renderer's bridge client applies to a rejected invoke. */
function parseRejection(err: unknown): ApiErrorBody {
  const text = err instanceof Error ? err.message : String(err);
  return JSON.parse(/\{.*\}$/s.exec(text)![0]) as ApiErrorBody;
}

beforeEach(() => {
  electron.ipcMain.handlers.clear();
});

describe('setupIpc', () => {
  it('uses the channel names the preload repeats', () => {
    expect(CHANNELS).toEqual({ call: 'workbench:call', event: 'workbench:event' });
  });

  it('answers a trusted call with the result', async () => {
    const { service } = fakeService({ listRuns: { ok: true, result: [{ id: 1 }] } });
    setupIpc(service, isTrusted, () => []);
    await expect(invoke(ours, 'svw://app/index.html', 'listRuns', { limit: 5 })).resolves.toEqual([
      { id: 1 },
    ]);
    expect(service.call).toHaveBeenCalledWith('listRuns', { limit: 5 });
  });

  it('rejects a failed call with the error body as parseable JSON', async () => {
    const error: ApiErrorBody = { code: 'invalid', message: 'must be positive', path: 'id' };
    const { service } = fakeService({ getRun: { ok: false, status: 400, error } });
    setupIpc(service, isTrusted, () => []);
    const rejection = await Promise.resolve(
      invoke(ours, 'svw://app/index.html', 'getRun', {}),
    ).then(
      () => null,
      (err: unknown) => err,
    );
    expect(parseRejection(rejection)).toEqual(error);
  });

  it('refuses senders that are not our pages without calling the service', async () => {
    const { service } = fakeService({ info: { ok: true, result: {} } });
    setupIpc(service, isTrusted, () => []);
    const stranger = new FakeWebContents();
    await expect(
      Promise.resolve().then(() => invoke(stranger, 'svw://app/index.html', 'info', {})),
    ).rejects.toThrow(/not the app/);
    await expect(
      Promise.resolve().then(() => invoke(ours, 'https://evil.example/', 'info', {})),
    ).rejects.toThrow(/not the app/);
    expect(service.call).not.toHaveBeenCalled();
  });

  it('passes a non-string method on as unknown for the service to refuse', async () => {
    const { service } = fakeService({});
    setupIpc(service, isTrusted, () => []);
    await Promise.resolve(invoke(ours, 'svw://app/index.html', { toString: 1 }, {})).catch(
      () => undefined,
    );
    expect(service.call).toHaveBeenCalledWith('', {});
  });

  it('forwards push events to every live app window and stops when torn down', () => {
    const { service, push, listeners } = fakeService({});
    const a = new FakeWebContents();
    const b = new FakeWebContents();
    const gone = new FakeWebContents();
    gone.destroyed = true;
    const teardown = setupIpc(service, isTrusted, () => [a, b, gone] as unknown as WebContents[]);
    const event: PushEvent = { type: 'runs-changed' };
    push(event);
    expect(a.send).toHaveBeenCalledWith('workbench:event', event);
    expect(b.send).toHaveBeenCalledWith('workbench:event', event);
    expect(gone.send).not.toHaveBeenCalled();

    teardown();
    expect(listeners.size).toBe(0);
    expect(electron.ipcMain.removeHandler).toHaveBeenCalledWith('workbench:call');
  });
});
