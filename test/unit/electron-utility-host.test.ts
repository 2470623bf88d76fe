import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostMessage } from '../../core/schema/messages.js';
import { utilityJobHost } from '../../electron/utility-host.js';
import { electron, FakeUtilityProcess } from '../helpers/electron-fakes.js';

vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).electron);
vi.mock('../../core/jobs/host.js', () => ({
  workerEntry: () => '/opt/svw/resources/app.asar/dist/core/jobs/worker.js',
}));

const cancel: HostMessage = { type: 'cancel' };

function start() {
  const job = utilityJobHost.start();
  const { child } = FakeUtilityProcess.forked.at(-1)!;
  return { job, child };
}

const exited = (job: ReturnType<typeof start>['job']) =>
  new Promise<[number | null, string]>((resolve) =>
    job.onExit((code, reason) => resolve([code, reason])),
  );

beforeEach(() => {
  FakeUtilityProcess.forked = [];
});

describe('utilityJobHost', () => {
  it('forks the shared worker entry as a named utility process with piped output', () => {
    start();
    expect(electron.utilityProcess.fork).toHaveBeenCalledWith(
      '/opt/svw/resources/app.asar/dist/core/jobs/worker.js',
      [],
      { serviceName: 'SuperVision job', stdio: 'pipe' },
    );
  });

  it("gives the worker the job's own environment on top of the app's (its GPU)", () => {
    utilityJobHost.start({ env: { CUDA_VISIBLE_DEVICES: '1' } });
    const { options } = FakeUtilityProcess.forked.at(-1)!;
    expect(options).toMatchObject({ env: { ...process.env, CUDA_VISIBLE_DEVICES: '1' } });
  });

  it('passes messages both ways as plain data (the worker reads parentPort event.data)', () => {
    const { job, child } = start();
    const received: unknown[] = [];
    job.onMessage((m) => received.push(m));
    child.emit('message', { type: 'done', status: 'completed' });
    expect(received).toEqual([{ type: 'done', status: 'completed' }]);

    job.send(cancel);
    expect(child.postMessage).toHaveBeenCalledWith(cancel);
  });

  it('reports its pid once the process has one', () => {
    const { job, child } = start();
    child.pid = undefined;
    expect(job.pid).toBeUndefined();
    child.pid = 777;
    expect(job.pid).toBe(777);
  });

  it('maps an exit code to a reason, also for a handler added after the exit', async () => {
    const { job, child } = start();
    child.emit('exit', 3);
    await expect(exited(job)).resolves.toEqual([3, 'exited with code 3']);
    job.send(cancel);
    expect(child.postMessage).not.toHaveBeenCalled();
  });

  it('names a V8 fatal error in the reason', async () => {
    const { job, child } = start();
    const done = exited(job);
    child.emit('error', 'FatalError', 'src/heap.cc:42', '{}');
    child.emit('exit', 134);
    await expect(done).resolves.toEqual([
      134,
      'exited with code 134 (fatal error at src/heap.cc:42)',
    ]);
  });

  it('kills the process once and reports it as killed', async () => {
    const { job, child } = start();
    const done = exited(job);
    job.kill();
    await expect(done).resolves.toEqual([null, 'was killed']);
    job.kill();
    expect(child.kill).toHaveBeenCalledTimes(1);
  });
});
