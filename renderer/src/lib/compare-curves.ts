import { buildCurve, STEP_LEVEL_KEYS, startTime, type MetricPoint, type XAxis } from './curves';
import { lineDataset, type LineDataset } from './chart-config';
import { bandOf, type Band } from './grouped-curves';
import type { XY } from './lttb';
import { runColor, runDash, withAlpha } from './run-colors';

export interface RunCurve {
  id: number;
  label: string;
  points: readonly MetricPoint[];
}

/** With more runs than this the faint raw curves would bury the smoothed ones, so they go. */
const MAX_RUNS_WITH_RAW = 8;

/** The suffix marking a faint raw curve, which the legend and tooltips leave out. */
export const RAW_SUFFIX = ' (raw)';

/**
 * One line per run for the chosen metric, each reduced with LTTB to at most `width` points,
 * coloured by the run's position in the comparison; a run without points has none. Time is
 * measured from each run's own start, so runs started days apart still overlay.
 */
export function compareDatasets(
  runs: readonly RunCurve[],
  o: { metric: string; axis: XAxis; smoothing: number; width: number },
): LineDataset[] {
  const smooth = STEP_LEVEL_KEYS.has(o.metric) && o.smoothing > 0;
  const showRaw = smooth && runs.length <= MAX_RUNS_WITH_RAW;
  const markers = !STEP_LEVEL_KEYS.has(o.metric) && o.metric !== 'lr';
  const datasets: LineDataset[] = [];
  runs.forEach((run, i) => {
    // A run without the metric (or whose curve has not arrived) draws nothing, in its own colour.
    if (run.points.length === 0) return;
    const color = runColor(i);
    const dash = runDash(i);
    const curve = buildCurve(run.points, {
      axis: o.axis,
      t0: startTime([run.points]),
      smoothing: o.smoothing,
      smooth,
      maxPoints: Math.max(10, Math.floor(o.width)),
    });
    if (showRaw)
      datasets.push(lineDataset(`${run.label}${RAW_SUFFIX}`, curve.raw, color, { faint: true }));
    datasets.push(
      lineDataset(run.label, curve.smoothed ?? curve.raw, color, {
        dash,
        stepped: o.metric === 'lr',
        markers: markers && run.points.length <= 60,
      }),
    );
  });
  return datasets;
}

/** The suffix of a group's band edges, which the legend and tooltips leave out. */
export const BAND_SUFFIX = ' (band)';

/**
 * One mean line per group of runs, with its band (± std or min–max) filled between two
 * invisible edges; the runs' curves are smoothed first where the metric is per-step.
 */
export function groupedDatasets(
  groups: readonly { label: string; curves: (readonly MetricPoint[])[] }[],
  o: { metric: string; axis: XAxis; smoothing: number; width: number; band: Band },
): LineDataset[] {
  const smooth = STEP_LEVEL_KEYS.has(o.metric) && o.smoothing > 0;
  const t0 = startTime(groups.flatMap((g) => g.curves));
  const maxPoints = Math.max(10, Math.floor(o.width));
  return groups.flatMap((group, i) => {
    const color = runColor(i);
    const curves = group.curves.map((points) => {
      // Time runs from each run's own start, as the per-run overlay draws it.
      const c = buildCurve(points, {
        axis: o.axis,
        t0: o.axis === 'time' ? startTime([points]) : t0,
        smoothing: o.smoothing,
        smooth,
        maxPoints,
      });
      return c.smoothed ?? c.raw;
    });
    const { mean, lower, upper } = bandOf(curves, o.band, maxPoints);
    const edge = (data: XY[], fill: false | '-1'): LineDataset => ({
      ...lineDataset(`${group.label}${BAND_SUFFIX}`, data, color),
      borderWidth: 0,
      backgroundColor: withAlpha(color, 0.18),
      fill,
    });
    return [
      edge(lower, false),
      edge(upper, '-1'),
      { ...lineDataset(`${group.label} (${group.curves.length})`, mean, color), borderWidth: 2 },
    ];
  });
}
