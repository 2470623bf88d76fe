import type { BackendChoice } from '../engine/backends.js';
import type { JobHost } from '../jobs/host.js';
import type { ApiErrorBody, MethodName, PushEvent } from './contract.js';

/** The outcome of one API call, ready to send over HTTP or IPC. */
export type CallOutcome =
  | { ok: true; result: unknown }
  | {
      ok: false;
      error: ApiErrorBody;
      /** The HTTP status that fits: 400 invalid, 404 not found, 409 refused, 500 internal. */
      status: 400 | 404 | 409 | 500;
    };

/** A served image: PNG bytes. */
export interface ResourceBody {
  mime: 'image/png';
  body: Buffer;
}

/**
 * The host side of the API, shared by `svw serve` and Electron's main process: it owns the
 * workbench database and the job scheduler, and is the only writer of the database.
 */
export interface HostService {
  /** Validates the input against the contract and runs the method; never throws. */
  call(method: string, input: unknown): Promise<CallOutcome>;
  /** The PNG for a `res/...` path (see contract.ts), or null when the path names nothing. */
  resource(path: string): Promise<ResourceBody | null>;
  /** Push events for the UI. Returns the unsubscribe function. */
  onEvent(listener: (event: PushEvent) => void): () => void;
  /** Stops the scheduler and kills every worker (their runs end failed or interrupted). */
  close(): Promise<void>;
}

export interface HostServiceOptions {
  /** Workbench home; $SVW_HOME or ~/.supervision by default. */
  home?: string;
  kind: 'electron' | 'serve';
  /** How job workers start: child_process.fork (serve) or utilityProcess.fork (Electron). */
  jobHost: JobHost;
  backend?: BackendChoice;
  /** Jobs at once; one per GPU (or one on a CPU-only machine) by default. */
  concurrency?: number;
  /** A native folder picker (Electron only); pickFolder is refused without it. */
  pickFolder?: (title: string | undefined) => Promise<string | null>;
}

export type { MethodName };
