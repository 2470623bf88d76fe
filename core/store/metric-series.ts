import type { Db } from './db.js';

/**
 * A run's metric series reduced in SQLite for a chart: a series longer than `maxPoints` is cut
 * into ⌊maxPoints / 2⌋ equal ranges of steps, and each range keeps the point of its lowest and
 * of its highest value (SQLite returns the other columns of the row that holds a min() or max()),
 * so a spike survives however long the run, and a 10,000-point curve costs two grouped scans of
 * its index instead of 10,000 rows brought into JavaScript.
 */

export interface SeriesPoint {
  step: number;
  epoch: number;
  value: number;
  /** Seconds since the Unix epoch. */
  time: number;
}

export function downsampledSeries(
  db: Db,
  runId: number,
  keys: readonly string[] | undefined,
  maxPoints: number,
): { key: string; points: SeriesPoint[]; total: number }[] {
  const only = keys ? ' AND key IN (SELECT value FROM json_each(?))' : '';
  const stats = db
    .prepare(
      `SELECT key, COUNT(*) AS n, MIN(step) AS lo, MAX(step) AS hi FROM metrics WHERE run_id = ?${only}
       GROUP BY key ORDER BY key`,
    )
    .all(...(keys ? [runId, JSON.stringify(keys)] : [runId])) as {
    key: string;
    n: number;
    lo: number;
    hi: number;
  }[];
  const all = db.prepare(
    `SELECT step, epoch, value, wall_time AS time FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid`,
  );
  const bucket = (fn: 'MIN' | 'MAX') =>
    db.prepare(
      `SELECT CAST((step - @lo) / @width AS INTEGER) AS b, step, epoch, ${fn}(value) AS value, wall_time AS time
       FROM metrics WHERE run_id = @run AND key = @key GROUP BY b`,
    );
  const [lows, highs] = [bucket('MIN'), bucket('MAX')];
  return stats.map(({ key, n, lo, hi }) => {
    if (n <= maxPoints) return { key, points: all.all(runId, key) as SeriesPoint[], total: n };
    const buckets = Math.max(1, Math.floor(maxPoints / 2));
    const args = { run: runId, key, lo, width: (hi - lo + 1) / buckets };
    const low = new Map((lows.all(args) as (SeriesPoint & { b: number })[]).map((p) => [p.b, p]));
    const points: SeriesPoint[] = [];
    for (const { b, ...high } of highs.all(args) as (SeriesPoint & { b: number })[]) {
      const { b: _, ...min } = low.get(b)!;
      if (min.step === high.step) points.push(high);
      else points.push(...(min.step < high.step ? [min, high] : [high, min]));
    }
    return { key, points, total: n };
  });
}
