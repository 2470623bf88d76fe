import { buildCurve, STEP_LEVEL_KEYS, startTime, type MetricPoint, type XAxis } from './curves';
import { lineDataset, type LineDataset } from './chart-config';
import { runColor, runDash } from './run-colors';

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
 * coloured by the run's position in the comparison. Time is measured from each run's own start,
 * so runs started days apart still overlay.
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
