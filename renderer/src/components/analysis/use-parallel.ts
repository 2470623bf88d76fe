import { computed, ref, shallowRef, watch, type Ref } from 'vue';
import type { MethodOutputs } from '../../../../core/api/contract';
import { client } from '../../api/client';
import {
  brushMask,
  brushSelections,
  buildAxis,
  colorIndex,
  type Axis,
  type AxisScale,
  type Brush,
} from '../../lib/parallel-coords';
import { errorText } from '../../lib/run-format';

/** Which runs a view looks at: those a filter selects, or these ids. */
export interface RunSource {
  filter?: string;
  ids?: number[];
}

export interface AxisChoice {
  field: string;
  scale: AxisScale;
}

export interface FieldOption {
  field: string;
  label: string;
  group: 'Params' | 'Metrics (best)' | 'Run';
}

/** Lower is better for errors and losses; higher for precision and throughput. */
export const lowerIsBetter = (field: string) => !/p_at_|precision|per_sec|accuracy/.test(field);

/** The best-value field of a metric, as the filter language names it. */
export const metricField = (key: string) =>
  `metrics.${key}${/error|loss/.test(key) ? '.min' : /per_sec|accuracy|p_at_|precision/.test(key) ? '.max' : ''}`;

export function fieldLabel(field: string): string {
  const metric = /^metrics\.([^.]+)(?:\.(min|max))?$/.exec(field);
  if (metric) return metric[2] ? `${metric[1]} (best)` : metric[1]!;
  return field.replace(/^params\./, '').replace(/^model\./, '');
}

const RUN_FIELDS = ['status', 'preset', 'experiment', 'dataset', 'seed', 'epochs_done'];
/** Params a new view shows first, when they vary. */
const FIRST = ['optim.lr', 'batchSize', 'optim.momentum', 'optim.weightDecay', 'model.dropout'];

/**
 * The data behind a parallel-coordinates view: the fields the runs have, the axes chosen, each
 * axis's values (fetched from the host for up to 10,000 runs), the colours and the brushes.
 */
export function useParallel(source: Ref<RunSource>) {
  const catalog = shallowRef<MethodOutputs['runFields'] | null>(null);
  const data = shallowRef<MethodOutputs['runColumns'] | null>(null);
  const axes = ref<AxisChoice[]>([]);
  const colorBy = ref<string | null>(null);
  const brushes = shallowRef<ReadonlyMap<string, Brush>>(new Map());
  const loading = ref(false);
  const error = ref<string | null>(null);

  const options = computed<FieldOption[]>(() => [
    ...(catalog.value?.params ?? []).map((p) => ({
      field: `params.${p.key}`,
      label: p.key,
      group: 'Params' as const,
    })),
    ...(catalog.value?.metrics ?? []).map((m) => ({
      field: metricField(m),
      label: fieldLabel(metricField(m)),
      group: 'Metrics (best)' as const,
    })),
    ...RUN_FIELDS.map((f) => ({ field: f, label: f, group: 'Run' as const })),
  ]);

  function defaults(c: MethodOutputs['runFields']): void {
    const varying = c.params.filter((p) => p.distinct > 1).map((p) => p.key);
    const ordered = [
      ...FIRST.filter((k) => varying.includes(k)),
      ...varying.filter((k) => !FIRST.includes(k)),
    ];
    const params = (
      ordered.length ? ordered : FIRST.filter((k) => c.params.some((p) => p.key === k))
    ).slice(0, 5);
    const metric = c.metrics.includes('val_top1_error') ? 'val_top1_error' : c.metrics[0];
    axes.value = [
      ...params.map((k) => ({
        field: `params.${k}`,
        scale: (k === 'optim.lr' ? 'log' : 'linear') as AxisScale,
      })),
      ...(metric ? [{ field: metricField(metric), scale: 'linear' as AxisScale }] : []),
    ];
    colorBy.value = metric ? metricField(metric) : null;
  }

  let seq = 0;
  async function loadColumns(): Promise<void> {
    const fields = [
      ...new Set([...axes.value.map((a) => a.field), ...(colorBy.value ? [colorBy.value] : [])]),
    ];
    const mine = ++seq;
    if (fields.length === 0) {
      data.value = null;
      return;
    }
    loading.value = true;
    try {
      const result = await client().api.runColumns({ ...source.value, fields });
      if (mine !== seq) return;
      data.value = result;
      error.value = null;
    } catch (err) {
      if (mine === seq) error.value = errorText(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  async function load(): Promise<void> {
    try {
      const c = await client().api.runFields({ ...source.value });
      catalog.value = c;
      const known = new Set([
        ...c.params.map((p) => `params.${p.key}`),
        ...c.metrics.map(metricField),
        ...RUN_FIELDS,
      ]);
      if (axes.value.length === 0 || axes.value.some((a) => !known.has(a.field))) defaults(c);
      brushes.value = new Map();
      await loadColumns();
    } catch (err) {
      error.value = errorText(err);
    }
  }

  watch(
    () => JSON.stringify(source.value),
    () => void load(),
  );
  watch(
    () => JSON.stringify([axes.value.map((a) => a.field), colorBy.value]),
    () => void loadColumns(),
  );

  const columnOf = (field: string) => data.value?.columns.find((c) => c.field === field);
  const models = computed<Axis[]>(() =>
    axes.value.flatMap((a) => {
      const column = columnOf(a.field);
      return column ? [buildAxis(column, a.scale, fieldLabel(a.field))] : [];
    }),
  );
  const colors = computed(() => {
    const column = colorBy.value ? columnOf(colorBy.value) : undefined;
    return column?.kind === 'number'
      ? colorIndex(column.values, lowerIsBetter(column.field))
      : null;
  });
  const n = computed(() => data.value?.ids.length ?? 0);
  /** The brushed runs' ids, or null when nothing is brushed. */
  const selectedIds = computed<number[] | null>(() => {
    if (brushes.value.size === 0 || !data.value) return null;
    const mask = brushMask(models.value, brushes.value, n.value);
    return data.value.ids.filter((_, i) => mask[i] === 1);
  });

  function setBrush(field: string, brush: Brush | null): void {
    const next = new Map(brushes.value);
    if (brush) next.set(field, brush);
    else next.delete(field);
    brushes.value = next;
  }

  /** The filter text that selects the brushed runs (within the source's filter). */
  async function brushAsFilter(): Promise<{ filter: string; count: number } | null> {
    const selections = brushSelections(models.value, brushes.value);
    if (!selections || selections.length === 0) return null;
    // A selection of runs (Compare) is named by its ids, so the filter keeps to those runs.
    const { filter, ids } = source.value;
    const base = filter ?? (ids ? ids.map((id) => `id = ${id}`).join(' or ') : '');
    return client().api.brushFilter({ base, selections });
  }

  return {
    catalog,
    data,
    axes,
    colorBy,
    brushes,
    loading,
    error,
    options,
    models,
    colors,
    n,
    selectedIds,
    load,
    setBrush,
    brushAsFilter,
  };
}
