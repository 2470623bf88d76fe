import type { PushEvent, WorkbenchApi } from '../../core/api/contract';
import { ApiError, setClient, type Client } from '../../renderer/src/api/client';

export interface FakeClient extends Client {
  /** Pushes an event to every subscriber, as the host would. */
  emit(event: PushEvent): void;
  /** Every call made, in order: [method, input]. */
  calls: [string, unknown][];
}

/**
 * A client whose methods are the given handlers; any other method fails like a host without it
 * would. Installed as the page's client until the next call.
 */
export function installFakeClient(handlers: Partial<WorkbenchApi>): FakeClient {
  const listeners = new Set<(event: PushEvent) => void>();
  const calls: [string, unknown][] = [];
  const api = new Proxy({} as WorkbenchApi, {
    get:
      (_t, method: string) =>
      async (input: unknown): Promise<unknown> => {
        calls.push([method, input]);
        const handler = (handlers as Record<string, ((i: unknown) => unknown) | undefined>)[method];
        if (!handler) throw new ApiError('internal', `fake host has no '${method}'`);
        return handler(input);
      },
  });
  const fake: FakeClient = {
    api,
    kind: 'serve',
    calls,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onConnection: () => () => undefined,
    emit: (event) => listeners.forEach((l) => l(event)),
  };
  setClient(fake);
  return fake;
}
