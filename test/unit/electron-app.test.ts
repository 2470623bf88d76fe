import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrowserWindow, MenuItemConstructorOptions } from 'electron';
import type { HostService } from '../../core/api/host-service.js';
import type { JobProcess } from '../../core/jobs/host.js';
import { pickFolder } from '../../electron/dialogs.js';
import { setupQuit } from '../../electron/lifecycle.js';
import { menuTemplate, PAPER_URL, setupMenu } from '../../electron/menu.js';
import { utilityJobHost } from '../../electron/utility-host.js';
import { electron, FakeBrowserWindow, FakeUtilityProcess } from '../helpers/electron-fakes.js';

vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).electron);
vi.mock('../../core/jobs/host.js', () => ({ workerEntry: () => '/app/dist/core/jobs/worker.js' }));

/** A host service whose close kills its running jobs and waits for them, as the real one does. */
function serviceWithJobs(count: number) {
  const jobs: JobProcess[] = Array.from({ length: count }, () => utilityJobHost.start());
  const service = {
    close: vi.fn(async () => {
      await Promise.all(
        jobs.map(
          (job) =>
            new Promise<void>((resolve) => {
              job.onExit(() => resolve());
              job.kill();
            }),
        ),
      );
    }),
  } satisfies Pick<HostService, 'close'>;
  return { service, children: FakeUtilityProcess.forked.map((f) => f.child) };
}

const quitEvent = () => ({ preventDefault: vi.fn() });

beforeEach(() => {
  electron.app.removeAllListeners();
  electron.app.quit.mockClear();
  FakeUtilityProcess.forked = [];
});

describe('setupQuit', () => {
  it('closes the service once, killing its workers, before the app quits', async () => {
    const { service, children } = serviceWithJobs(2);
    setupQuit(service);
    const first = quitEvent();
    const second = quitEvent();
    electron.app.emit('before-quit', first);
    electron.app.emit('before-quit', second);
    expect(first.preventDefault).toHaveBeenCalled();
    expect(second.preventDefault).toHaveBeenCalled();
    expect(electron.app.quit).not.toHaveBeenCalled();

    await vi.waitFor(() => expect(electron.app.quit).toHaveBeenCalledTimes(1));
    expect(service.close).toHaveBeenCalledTimes(1);
    for (const child of children) expect(child.kill).toHaveBeenCalledTimes(1);

    // The quit it issued goes through untouched.
    const final = quitEvent();
    electron.app.emit('before-quit', final);
    expect(final.preventDefault).not.toHaveBeenCalled();
    expect(service.close).toHaveBeenCalledTimes(1);
  });

  it('still quits when closing fails', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    setupQuit({ close: async () => Promise.reject(new Error('database is locked')) });
    electron.app.emit('before-quit', quitEvent());
    await vi.waitFor(() => expect(electron.app.quit).toHaveBeenCalledTimes(1));
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});

/** Every item of a menu template, depth first. */
function items(template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.flatMap((item) => [
    item,
    ...(Array.isArray(item.submenu) ? items(item.submenu as MenuItemConstructorOptions[]) : []),
  ]);
}

describe('menuTemplate', () => {
  const actions = () => ({ show: vi.fn(), openExternal: vi.fn() });
  const click = (item: MenuItemConstructorOptions | undefined) =>
    (item?.click as (() => void) | undefined)?.();

  it('has the standard roles, and developer tools only in development', () => {
    const roles = (dev: boolean, mac = false) =>
      items(menuTemplate(actions(), { mac, dev })).map((i) => i.role);
    expect(roles(false)).toEqual(
      expect.arrayContaining(['quit', 'editMenu', 'reload', 'zoomIn', 'windowMenu', 'help']),
    );
    expect(roles(false)).not.toContain('toggleDevTools');
    expect(roles(true)).toContain('toggleDevTools');
    expect(roles(false, true)[0]).toBe('appMenu');
  });

  it('File items show views of the UI; Help opens the paper in the browser', () => {
    const a = actions();
    const all = items(menuTemplate(a, { mac: false, dev: false }));
    click(all.find((i) => i.label === 'New Run'));
    click(all.find((i) => i.label === 'Import Dataset…'));
    expect(a.show.mock.calls).toEqual([['/new'], ['/datasets']]);
    click(all.find((i) => i.label?.startsWith('The AlexNet Paper')));
    expect(a.openExternal).toHaveBeenCalledWith(PAPER_URL);
    expect(PAPER_URL).toMatch(/^https:\/\//);
  });

  it('is installed as the application menu', () => {
    setupMenu(vi.fn(), { mac: false, dev: false });
    expect(electron.Menu.setApplicationMenu).toHaveBeenCalled();
  });
});

describe('pickFolder', () => {
  it('asks for a directory, modal to the window, and returns null on cancel', async () => {
    const win = new FakeBrowserWindow({}) as unknown as BrowserWindow;
    electron.dialog.showOpenDialog.mockResolvedValueOnce({
      canceled: false,
      filePaths: ['/data/flowers'],
    });
    await expect(pickFolder(win, 'Dataset folder')).resolves.toBe('/data/flowers');
    expect(electron.dialog.showOpenDialog).toHaveBeenLastCalledWith(win, {
      title: 'Dataset folder',
      properties: ['openDirectory'],
    });
    await expect(pickFolder(null, undefined)).resolves.toBeNull();
    expect(electron.dialog.showOpenDialog).toHaveBeenLastCalledWith({
      title: undefined,
      properties: ['openDirectory'],
    });
  });
});
