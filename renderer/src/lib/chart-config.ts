import type { ChartConfiguration, ChartDataset, ChartOptions } from 'chart.js';
import type { XY } from './lttb';
import { withAlpha } from './run-colors';

export type LineDataset = ChartDataset<'line', XY[]>;

/** A line of pre-parsed, pre-decimated points; `faint` for a raw curve behind its smoothed one. */
export function lineDataset(
  label: string,
  data: readonly XY[],
  color: string,
  o: { faint?: boolean; dash?: number[]; stepped?: boolean; markers?: boolean } = {},
): LineDataset {
  return {
    label,
    data: data as XY[],
    borderColor: o.faint ? withAlpha(color, 0.25) : color,
    backgroundColor: color,
    borderWidth: o.faint ? 1 : 1.6,
    borderDash: o.dash ?? [],
    stepped: o.stepped ? 'before' : false,
    // Epoch-level series have few points; markers show where the measurements are.
    pointRadius: o.markers ? 2.5 : 0,
    pointHoverRadius: 3,
    spanGaps: true,
    tension: 0,
  };
}

/**
 * Options for large line charts: the data is already reduced to the chart's width, so Chart.js
 * parses, animates and decimates nothing.
 */
export function lineOptions(o: {
  xTitle: string;
  yTitle: string;
  logY?: boolean;
  legend?: boolean;
  /** Hides legend entries and tooltips of the faint raw curves. */
  hideLabel?: (label: string) => boolean;
}): ChartOptions<'line'> {
  const hide = o.hideLabel ?? (() => false);
  return {
    parsing: false,
    normalized: true,
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: {
      x: { type: 'linear', title: { display: true, text: o.xTitle } },
      y: { type: o.logY ? 'logarithmic' : 'linear', title: { display: true, text: o.yTitle } },
    },
    plugins: {
      decimation: { enabled: false },
      legend: {
        display: o.legend ?? true,
        labels: { boxWidth: 12, filter: (item) => !hide(item.text) },
      },
      tooltip: { filter: (item) => !hide(item.dataset.label ?? '') },
    },
  };
}

/** A line chart config as ChartCanvas takes it. */
export function lineConfig(
  datasets: LineDataset[],
  options: ChartOptions<'line'>,
): ChartConfiguration {
  return { type: 'line', data: { datasets }, options } as ChartConfiguration;
}
