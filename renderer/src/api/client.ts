import type {
  ApiErrorBody,
  ApiErrorCode,
  MethodInput,
  MethodName,
  MethodOutputs,
  PushEvent,
  Resource,
  WorkbenchApi,
  WorkbenchBridge,
} from '../../../core/api/contract';

/** A failed API call, as the host reported it. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

declare global {
  interface Window {
    workbench?: WorkbenchBridge;
  }
}

/** The one way the UI talks to its host, whichever host it is. */
export interface Client {
  readonly api: WorkbenchApi;
  readonly kind: 'electron' | 'serve';
  /** Subscribes to push events; returns the unsubscribe function. */
  onEvent(listener: (event: PushEvent) => void): () => void;
  /** Connection state of the push channel (always 'open' in Electron). */
  onConnection(listener: (state: 'open' | 'closed') => void): () => void;
}

/**
 * Relative URL of an image the host serves (same origin in both hosts; no file:// access).
 * `version` changes the URL when the image behind it changes (a newer checkpoint's filters),
 * so the browser cannot show a cached copy; the hosts ignore the query.
 */
export function resourceUrl(r: Resource, version?: string | number): string {
  const query = version === undefined ? '' : `?v=${encodeURIComponent(version)}`;
  switch (r.kind) {
    case 'image':
      return `res/image/${r.datasetId}/${r.idx}${query}`;
    case 'mean':
      return `res/mean/${r.datasetId}${query}`;
    case 'filters':
      return `res/filters/${r.runId}/${r.checkpoint}${query}`;
  }
}

function call<M extends MethodName>(
  invoke: (method: M, input: MethodInput<M>) => Promise<MethodOutputs[M]>,
): WorkbenchApi {
  // Every property is a method name; the host validates the name and the input.
  return new Proxy({} as WorkbenchApi, {
    get: (_target, method) => (input: MethodInput<M>) => invoke(method as M, input),
  });
}

/** Serve mode: POST api/<method> for calls and a WebSocket for events; the token is a cookie. */
export function httpClient(base: URL = new URL(document.baseURI)): Client {
  const listeners = new Set<(event: PushEvent) => void>();
  const connection = new Set<(state: 'open' | 'closed') => void>();
  let socket: WebSocket | null = null;
  let retry = 500;

  const connect = () => {
    const url = new URL('events', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => {
      retry = 500;
      connection.forEach((l) => l('open'));
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(String(message.data)) as PushEvent;
      listeners.forEach((l) => l(event));
    };
    socket.onclose = () => {
      socket = null;
      connection.forEach((l) => l('closed'));
      if (listeners.size > 0) setTimeout(connect, (retry = Math.min(retry * 2, 10_000)));
    };
  };

  const api = call(async (method, input) => {
    const response = await fetch(new URL(`api/${method}`, base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input ?? {}),
      credentials: 'same-origin',
    });
    const body = (await response.json().catch(() => null)) as
      { ok: true; result: never } | { ok: false; error: ApiErrorBody } | null;
    if (!body) throw new ApiError('internal', `the host answered ${response.status}`);
    if (!body.ok) throw new ApiError(body.error.code, body.error.message, body.error.path);
    return body.result;
  });

  return {
    api,
    kind: 'serve',
    onEvent(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => listeners.delete(listener);
    },
    onConnection(listener) {
      connection.add(listener);
      return () => connection.delete(listener);
    },
  };
}

/** Electron: the preload's named functions; errors arrive as "code: message" from IPC. */
export function bridgeClient(bridge: WorkbenchBridge): Client {
  const api = call(async (method, input) => {
    try {
      return await (bridge[method] as (i: typeof input) => Promise<never>)(input);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      // ipcRenderer.invoke prefixes: "Error invoking remote method 'x': Error: {json}"
      const json = /\{.*\}$/s.exec(text)?.[0];
      const body = json ? (JSON.parse(json) as ApiErrorBody) : null;
      throw body
        ? new ApiError(body.code, body.message, body.path)
        : new ApiError('internal', text);
    }
  });
  return {
    api,
    kind: 'electron',
    onEvent: (listener) => bridge.onEvent(listener),
    onConnection: () => () => undefined,
  };
}

let current: Client | null = null;

/** The client for this page: the preload bridge in Electron, HTTP otherwise. */
export function client(): Client {
  current ??= window.workbench ? bridgeClient(window.workbench) : httpClient();
  return current;
}

/** Tests swap in a fake. */
export function setClient(c: Client | null): void {
  current = c;
}
