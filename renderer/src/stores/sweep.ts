import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { MethodOutputs, PushEvent } from '../../../core/api/contract';
import { client } from '../api/client';
import { errorText } from '../lib/run-format';
import { useHostStore } from './host';

/** Live updates arrive in bursts while trials train; refetch at most once a second. */
export const SWEEP_REFRESH_MS = 1000;

/** One sweep's page: its runs, rungs and best run, kept current while its trials run. */
export const useSweepStore = defineStore('sweep', () => {
  const id = ref<number | null>(null);
  const detail = shallowRef<MethodOutputs['getSweep'] | null>(null);
  const ablation = shallowRef<MethodOutputs['ablationTable'] | null>(null);
  const error = ref<string | null>(null);
  const cancelling = ref(false);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let unsubscribe: (() => void) | null = null;

  async function load(): Promise<void> {
    const mine = id.value;
    if (mine === null) return;
    try {
      const d = await client().api.getSweep({ id: mine });
      const table = d.kind === 'ablation' ? await client().api.ablationTable({ id: mine }) : null;
      if (mine !== id.value) return;
      detail.value = d;
      ablation.value = table;
      error.value = null;
    } catch (err) {
      if (mine === id.value) error.value = errorText(err);
    }
  }

  function onEvent(event: PushEvent): void {
    const mine = detail.value;
    const ours =
      event.type === 'runs-changed' ||
      ((event.type === 'run-status' || event.type === 'run-metrics') &&
        (mine?.runs.some((r) => r.id === event.runId) ?? false));
    if (!ours || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void load();
    }, SWEEP_REFRESH_MS);
  }

  /** Shows a sweep and follows its runs until stop(). */
  function open(sweepId: number): Promise<void> {
    if (id.value !== sweepId) {
      detail.value = null;
      ablation.value = null;
    }
    id.value = sweepId;
    unsubscribe ??= useHostStore().on(onEvent);
    return load();
  }

  function stop(): void {
    unsubscribe?.();
    unsubscribe = null;
    if (timer) clearTimeout(timer);
    timer = null;
  }

  async function cancel(): Promise<void> {
    if (id.value === null) return;
    cancelling.value = true;
    try {
      await client().api.cancelSweep({ id: id.value });
      await load();
    } catch (err) {
      error.value = errorText(err);
    } finally {
      cancelling.value = false;
    }
  }

  return { id, detail, ablation, error, cancelling, open, stop, load, cancel };
});
