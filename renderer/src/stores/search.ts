import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { MethodInput } from '../../../core/api/contract';
import { client } from '../api/client';
import { errorText } from '../lib/run-format';
import { useNewRunStore } from './new-run';

export type SearchMode = 'grid' | 'random' | 'asha';

export interface RangeRow {
  key: string;
  min: string;
  max: string;
  scale: 'linear' | 'log';
}

/** Metrics ASHA can rank trials by, lower better. */
export const ASHA_METRICS = ['val_top1_error', 'val_top5_error', 'val_loss', 'epoch_train_loss'];

/**
 * The New run form's searches beyond comma values: random search over ranges (log-uniform
 * where the setting says so), ASHA early stopping on top, and the paper's ablation study. The
 * settings every run shares come from the form itself.
 */
export const useSearchStore = defineStore('search', () => {
  const form = useNewRunStore();
  const mode = ref<SearchMode>('grid');
  const ranges = ref<RangeRow[]>([]);
  const trials = ref(8);
  const metric = ref('val_top1_error');
  const grace = ref(1);
  const eta = ref(3);
  /** ASHA's maximum epochs; null: the form's epochs. */
  const maxEpochs = ref<number | null>(null);
  const seeds = ref(3);
  const busy = ref(false);
  const error = ref<string | null>(null);

  /** Settings a range can sweep: the numeric ones, with whether they are searched on a log scale. */
  const numeric = computed(() =>
    form.specs
      .filter((s) => s.kind === 'number' || s.kind === 'integer')
      .map((s) => ({
        key: s.key,
        integer: s.kind === 'integer',
        log: form.settings.settings.find((d) => d.key === s.key)?.logScale ?? false,
      })),
  );
  const epochs = computed(() => Number(form.values.epochs ?? NaN));

  function addRange(): void {
    const taken = new Set(ranges.value.map((r) => r.key));
    const next = numeric.value.find((n) => !taken.has(n.key));
    if (!next) return;
    ranges.value = [
      ...ranges.value,
      { key: next.key, min: '', max: '', scale: next.log ? 'log' : 'linear' },
    ];
  }

  /** A range's key changed: its scale follows what the new setting prefers. */
  function setRangeKey(i: number, key: string): void {
    const log = numeric.value.find((n) => n.key === key)?.log ?? false;
    ranges.value = ranges.value.map((r, k) =>
      k === i ? { ...r, key, scale: log ? 'log' : 'linear' } : r,
    );
  }

  function removeRange(i: number): void {
    ranges.value = ranges.value.filter((_, k) => k !== i);
  }

  /** What is wrong with the search before the host is asked; null when nothing. */
  const problem = computed<string | null>(() => {
    if (mode.value === 'grid') return null;
    for (const r of ranges.value) {
      const [lo, hi] = [Number(r.min), Number(r.max)];
      if (
        r.min.trim() === '' ||
        r.max.trim() === '' ||
        !Number.isFinite(lo) ||
        !Number.isFinite(hi)
      )
        return `${r.key}: give the range as two numbers`;
      if (!(lo < hi)) return `${r.key}: the low end must be below the high end`;
      if (r.scale === 'log' && lo <= 0) return `${r.key}: a log-scale range must be above 0`;
    }
    if (ranges.value.length === 0 && Object.keys(form.request.sweep).length === 0)
      return 'Add a range, or give a field comma-separated values, to search over';
    if (!(trials.value >= 1 && trials.value <= 200)) return 'Trials: from 1 to 200';
    if (mode.value === 'asha' && !(grace.value < (maxEpochs.value ?? epochs.value)))
      return "ASHA's grace period must be shorter than its maximum epochs";
    return null;
  });

  const common = () => ({
    datasetId: form.datasetId!,
    preset: form.presetName,
    settings: form.request.settings,
    ...(form.experiment.trim() ? { experiment: form.experiment.trim() } : {}),
    ...(form.name.trim() ? { name: form.name.trim() } : {}),
    ...(form.datasetVersion === null ? {} : { datasetVersion: form.datasetVersion }),
    // "Run on" applies to the search and the ablation study as to single runs.
    ...(form.runOn ? { on: form.runOn } : {}),
  });

  async function run<T>(work: () => Promise<T>): Promise<T | null> {
    error.value = null;
    if (form.datasetId === null || !form.preset) {
      error.value = 'Choose a dataset and a preset first.';
      return null;
    }
    busy.value = true;
    try {
      if (!(await form.validate())) return null;
      return await work();
    } catch (err) {
      error.value = errorText(err);
      return null;
    } finally {
      busy.value = false;
    }
  }

  /** Creates the random search (with ASHA, if chosen); returns the sweep's id. */
  function submit(start: boolean): Promise<number | null> {
    return run(async () => {
      if (problem.value) throw new Error(problem.value);
      const byKey = new Map(numeric.value.map((n) => [n.key, n]));
      const space: MethodInput<'createSweep'>['space'] = Object.fromEntries(
        Object.entries(form.request.sweep).map(([key, values]) => [key, { values }]),
      );
      for (const r of ranges.value)
        space[r.key] = {
          min: Number(r.min),
          max: Number(r.max),
          scale: r.scale,
          integer: byKey.get(r.key)?.integer ?? false,
        };
      const asha =
        mode.value === 'asha'
          ? {
              metric: metric.value,
              mode: 'min' as const,
              grace: grace.value,
              eta: eta.value,
              maxEpochs: maxEpochs.value ?? epochs.value,
            }
          : null;
      const created = await client().api.createSweep({
        ...common(),
        method: 'random',
        space,
        trials: trials.value,
        asha,
        start,
      });
      return created.sweepId;
    });
  }

  /** Queues the paper's ablation study on the form's dataset, preset and settings. */
  function queueAblation(start: boolean): Promise<number | null> {
    return run(async () => {
      const created = await client().api.createAblation({
        ...common(),
        seeds: seeds.value,
        ...(Number.isInteger(epochs.value) ? { epochs: epochs.value } : {}),
        start,
      });
      return created.sweepId;
    });
  }

  return {
    mode,
    ranges,
    trials,
    metric,
    grace,
    eta,
    maxEpochs,
    seeds,
    busy,
    error,
    numeric,
    epochs,
    problem,
    addRange,
    setRangeKey,
    removeRange,
    submit,
    queueAblation,
  };
});
