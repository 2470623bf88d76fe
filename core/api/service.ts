import { probeBackends, type EngineProbe } from '../engine/backends.js';
import { detectGpus } from '../engine/system.js';
import { ClusterHosts } from '../jobs/clusters.js';
import { demoAvailable } from '../jobs/demo.js';
import type { WorkerMessage } from '../schema/messages.js';
import { dataParallelSlots, defaultConcurrency, Scheduler } from '../jobs/scheduler.js';
import { hostLease } from '../store/leases.js';
import { FINAL_STATUSES, getRun, type RunStatus } from '../store/runs.js';
import { openWorkbench } from '../store/workbench.js';
import { packageVersion } from '../util/package-root.js';
import { clustersApi } from './clusters-api.js';
import type { ServiceContext } from './context.js';
import type { ProgressEvent } from './contract.js';
import { datasetsApi } from './datasets-api.js';
import { dispatch, errorOutcome, type Handlers } from './dispatch.js';
import { EventHub, Throttled } from './events.js';
import type { CallOutcome, HostService, HostServiceOptions } from './host-service.js';
import { newRunApi } from './new-run-api.js';
import { resourceFor } from './resources.js';
import { retrievalApi } from './retrieval-api.js';
import { analysisApi } from './analysis-api.js';
import { runsAnalysisApi } from './runs-analysis-api.js';
import { datasetVersionsApi } from './dataset-versions-api.js';
import { runActionsApi } from './run-actions-api.js';
import { runQueries } from './runs-api.js';
import { sweepsApi } from './sweeps-api.js';
import { recoverSweepRuns } from '../sweep/recover.js';
import { RefusedError } from '../util/errors.js';

/** At most this many progress events per run (and per import) each second. */
const PROGRESS_INTERVAL_MS = 250;
/** How long close() waits for killed workers to exit before closing the database anyway. */
const CLOSE_GRACE_MS = 15_000;

const SHUTTING_DOWN: CallOutcome = {
  ok: false,
  status: 409,
  error: { code: 'refused', message: 'the workbench host is shutting down' },
};

/** Calls `fn`, logging instead of throwing: scheduler callbacks must not reject. */
function guarded<A extends unknown[]>(what: string, fn: (...args: A) => void) {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      console.error(`svw: ${what} failed:`, err);
    }
  };
}

/**
 * The host side of the UI's API (contract.ts), for `svw serve` and Electron's main process:
 * opens the workbench, runs one job scheduler, validates and answers calls, serves images and
 * pushes events.
 */
export function createHostService(options: HostServiceOptions): HostService {
  const wb = openWorkbench(options.home);
  const lease = hostLease(wb.db, options.kind);
  const clusters = new ClusterHosts(wb.db);
  const backend = options.backend ?? 'auto';
  const events = new EventHub();
  const emit = events.emit.bind(events);
  const progress = new Throttled<number, ProgressEvent>(PROGRESS_INTERVAL_MS, emit);
  const pending = new Set<Promise<unknown>>();
  const killers = new Set<() => void>();
  let closing: Promise<void> | null = null;
  let engine: Promise<EngineProbe> | null = null;
  /** The engine a job would run on, worked out once (a failed probe is tried again). */
  const probeEngine = () =>
    (engine ??= probeBackends(backend).catch((err: unknown) => {
      engine = null;
      throw err;
    }));

  const onMessage = guarded('a worker message', (runId: number, m: WorkerMessage) => {
    switch (m.type) {
      case 'progress':
        if (m.phase === 'train') {
          const { epoch, epochs, batch, batches, loss, imagesPerSec } = m;
          const event = { epoch, epochs, batch, batches, loss, imagesPerSec };
          progress.push(runId, { type: 'run-progress', runId, ...event });
        }
        return;
      case 'metrics':
        emit({
          type: 'run-metrics',
          runId,
          points: m.metrics.map(({ wallTime, ...p }) => ({ ...p, time: wallTime })),
        });
        return;
      case 'evaluation':
        emit({ type: 'run-evaluation', runId, epoch: m.epoch });
        return;
      case 'log':
        emit({ type: 'run-log', runId, level: m.level, message: m.message });
        return;
      case 'error':
        emit({ type: 'run-log', runId, level: 'error', message: m.error.message });
        return;
      default:
        return;
    }
  });

  const onStatus = guarded('a run status change', (runId: number, status: RunStatus) => {
    if (status !== 'running') progress.drop(runId, FINAL_STATUSES.includes(status));
    const error =
      status === 'failed' || status === 'pruned' ? (getRun(wb.db, runId)?.error ?? null) : null;
    emit({ type: 'run-status', runId, status, error });
  });

  const ready = (async () => {
    const gpus = (await detectGpus()).gpus?.length ?? 0;
    const concurrency =
      options.concurrency ??
      (await defaultConcurrency(
        async () => Array.from({ length: gpus }),
        async () => (await probeEngine()).backend,
      ));
    const scheduler = new Scheduler(wb, options.jobHost, {
      concurrency,
      gpus,
      dataParallel: await dataParallelSlots(gpus, async () => (await probeEngine()).backend),
      backend,
      onMessage,
      onStatus,
      hostFor: (name) => clusters.hostFor(name),
      remoteHosts: () => clusters.all(),
    });
    const track = <T>(work: Promise<T>): Promise<T> => {
      pending.add(work);
      const forget = () => pending.delete(work);
      work.then(forget, forget);
      return work;
    };
    const ctx: ServiceContext = {
      wb,
      options,
      backend,
      scheduler,
      concurrency,
      emit,
      progress,
      track,
      onClose: (kill) => {
        killers.add(kill);
        return () => killers.delete(kill);
      },
      jobHostFor: (cluster) => (cluster ? clusters.hostFor(cluster) : options.jobHost),
    };
    const imports = new Set<string>();
    const handlers: Handlers = {
      info: async () => ({
        version: packageVersion(),
        home: wb.paths.home,
        host: options.kind,
        engine: await probeEngine(),
        concurrency,
        canPickFolder: Boolean(options.pickFolder),
        empty: !wb.db
          .prepare('SELECT EXISTS (SELECT 1 FROM runs) OR EXISTS (SELECT 1 FROM datasets)')
          .pluck()
          .get(),
        demoAvailable: demoAvailable(),
      }),
      ...runQueries(ctx),
      ...newRunApi(ctx),
      ...runActionsApi(ctx, imports),
      ...datasetsApi(ctx, imports),
      ...retrievalApi(ctx),
      ...clustersApi(ctx),
      ...runsAnalysisApi(ctx),
      ...sweepsApi(ctx),
      ...analysisApi(ctx),
      ...datasetVersionsApi(ctx),
    };
    // Runs a host queued before it closed or died are this host's to run now, and so are the
    // sweep trials it left interrupted (or pruned, where ASHA had decided before it could stop).
    for (const runId of scheduler.recoverQueued())
      emit({ type: 'run-status', runId, status: 'queued', error: null });
    // Cluster jobs a stopped host left running are followed on from where it stopped reading.
    for (const runId of scheduler.reattach())
      emit({
        type: 'run-status',
        runId,
        status: getRun(wb.db, runId)?.status ?? 'running',
        error: null,
      });
    const sweeps = recoverSweepRuns(wb.db);
    for (const runId of sweeps.pruned) onStatus(runId, 'pruned');
    for (const runId of sweeps.resume) {
      try {
        scheduler.enqueue(runId, true);
      } catch (err) {
        if (!(err instanceof RefusedError)) throw err;
      }
    }
    return { scheduler, handlers };
  })();

  return {
    async call(method, input) {
      if (closing) return SHUTTING_DOWN;
      try {
        return await dispatch((await ready).handlers, method, input);
      } catch (err) {
        return errorOutcome(err, String(method));
      }
    },

    async resource(p) {
      if (closing) return null;
      await ready;
      return resourceFor(wb, p);
    },

    onEvent: (listener) => events.on(listener),

    close() {
      closing ??= (async () => {
        const { scheduler } = await ready;
        scheduler.shutdown();
        for (const kill of killers) kill();
        // Killed workers report their exit, which is written to the database: wait for it.
        const settled = Promise.all(
          [scheduler.idle(), ...pending].map((p) => p.catch(() => undefined)),
        );
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
        await Promise.race([settled, grace]);
        clearTimeout(timer);
        clusters.close();
        progress.close();
        events.clear();
        lease.release();
        wb.close();
      })();
      return closing;
    },
  };
}
