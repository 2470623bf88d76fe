import { EventEmitter } from 'node:events';
import { vi } from 'vitest';

/**
 * Stand-ins for the parts of Electron the main process uses, for unit tests that run under plain
 * Node (no Electron binary): `vi.mock('electron', async () => (await import(<this>)).electron)`.
 */

type OpenHandler = (details: { url: string }) => { action: 'allow' | 'deny' };

export class FakeWebContents extends EventEmitter {
  openHandler: OpenHandler | null = null;
  destroyed = false;
  readonly send = vi.fn<(channel: string, ...args: unknown[]) => void>();
  setWindowOpenHandler(handler: OpenHandler): void {
    this.openHandler = handler;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static all: FakeBrowserWindow[] = [];
  static focused: FakeBrowserWindow | null = null;
  static getAllWindows = () => FakeBrowserWindow.all;
  static getFocusedWindow = () => FakeBrowserWindow.focused;
  readonly webContents = new FakeWebContents();
  readonly loadURL = vi.fn(async (_url: string) => undefined);
  readonly show = vi.fn();
  readonly focus = vi.fn();
  readonly restore = vi.fn();
  readonly isMinimized = vi.fn(() => false);
  constructor(readonly options: Record<string, unknown>) {
    super();
    FakeBrowserWindow.all.push(this);
  }
}

/** A frame as an IPC event carries it. */
export const frame = (url: string, parent: object | null = null) => ({ url, parent });

/** A will-navigate / will-redirect event. */
export const navigation = (url: string) => ({ url, preventDefault: vi.fn() });

export class FakeUtilityProcess extends EventEmitter {
  static forked: {
    child: FakeUtilityProcess;
    modulePath: string;
    args: string[];
    options: unknown;
  }[] = [];
  pid: number | undefined = 4321;
  stdout = null;
  stderr = null;
  readonly postMessage = vi.fn<(message: unknown) => void>();
  readonly kill = vi.fn(() => {
    // Like Electron: the exit arrives asynchronously after the process is gone.
    setImmediate(() => this.emit('exit', 15));
    return true;
  });
}

const ipcHandlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();

export const electron = {
  app: Object.assign(new EventEmitter(), { quit: vi.fn(), isPackaged: false }),
  BrowserWindow: FakeBrowserWindow,
  shell: { openExternal: vi.fn(async (_url: string) => undefined) },
  dialog: {
    showOpenDialog: vi.fn(
      async (..._args: unknown[]): Promise<{ canceled: boolean; filePaths: string[] }> => ({
        canceled: true,
        filePaths: [],
      }),
    ),
  },
  ipcMain: {
    handlers: ipcHandlers,
    handle: vi.fn((channel: string, handler: (event: unknown, ...args: unknown[]) => unknown) => {
      ipcHandlers.set(channel, handler);
    }),
    removeHandler: vi.fn((channel: string) => {
      ipcHandlers.delete(channel);
    }),
  },
  protocol: {
    registerSchemesAsPrivileged: vi.fn(),
    handle: vi.fn(),
  },
  Menu: {
    buildFromTemplate: vi.fn((template: unknown) => ({ template })),
    setApplicationMenu: vi.fn(),
  },
  utilityProcess: {
    fork: vi.fn((modulePath: string, args: string[], options: unknown) => {
      const child = new FakeUtilityProcess();
      FakeUtilityProcess.forked.push({ child, modulePath, args, options });
      return child;
    }),
  },
};
