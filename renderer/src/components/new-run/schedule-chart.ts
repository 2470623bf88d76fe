import type { ChartConfiguration } from 'chart.js';
import { formatLr } from '../runs/format';

/** The learning-rate preview: lr per epoch as a stepped line, optionally on a log axis. */
export function scheduleChartConfig(
  points: readonly { epoch: number; lr: number }[],
  logScale: boolean,
): ChartConfiguration<'line'> {
  return {
    type: 'line',
    data: {
      labels: points.map((p) => p.epoch),
      datasets: [
        {
          label: 'learning rate',
          data: points.map((p) => p.lr),
          borderColor: '#2f5fd0',
          backgroundColor: '#2f5fd0',
          borderWidth: 2,
          pointRadius: 0,
          // The rate changes between epochs, never during one.
          stepped: 'before',
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { title: { display: true, text: 'epoch' }, ticks: { maxTicksLimit: 12 } },
        y: {
          type: logScale ? 'logarithmic' : 'linear',
          title: { display: true, text: 'learning rate' },
          ...(logScale ? {} : { beginAtZero: true }),
        },
      },
    },
  };
}

/** What the preview says in words: the first rate and each change, e.g. "0.01 → 0.001 at epoch 30". */
export function scheduleSummary(points: readonly { epoch: number; lr: number }[]): string {
  if (points.length === 0) return '';
  const parts = [formatLr(points[0]!.lr)];
  for (let i = 1; i < points.length; i++)
    if (points[i]!.lr !== points[i - 1]!.lr)
      parts.push(`${formatLr(points[i]!.lr)} at epoch ${points[i]!.epoch}`);
  return parts.join(' → ');
}
