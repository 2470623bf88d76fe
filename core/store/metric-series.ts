import type { Db } from './db.js';

/** A point of a metric series. */
export interface SeriesPoint {
  step: number;
  epoch: number;
  value: number;
  /** Seconds since the Unix epoch. */
  time: number;
}

export interface Series {
  key: string;
  /** At most maxPoints, in step order; every point when the series has no more. */
  points: SeriesPoint[];
  /** How many points the series has. */
  total: number;
}

type Row = SeriesPoint & { rowid: number };

/**
 * A run's metric series (all, or the named keys), each reduced in SQL to at most `maxPoints`
 * points for a chart, so that a 90-epoch ImageNet run (millions of points) is never loaded
 * whole. A series that fits comes back whole. A longer one keeps its first and last points,
 * and its steps are cut into ⌊maxPoints / 2⌋ − 1 equal ranges, each keeping its lowest and
 * its highest point, so a spike or a dip survives. Up to `readWhole` points (wholeUpTo) the
 * series is read in one query and reduced here; a longer one's ranges are read from the index on
 * (run_id, key, step, value) alone.
 */
export function metricSeries(
  db: Db,
  runId: number,
  keys: readonly string[] | undefined,
  maxPoints: number,
  readWhole = wholeUpTo(maxPoints),
): Series[] {
  const only = keys ? ' AND key IN (SELECT value FROM json_each(?))' : '';
  const names = (
    db
      .prepare(`SELECT key FROM latest_metrics WHERE run_id = ?${only} ORDER BY key`)
      .all(...(keys ? [runId, JSON.stringify(keys)] : [runId])) as { key: string }[]
  ).map((r) => r.key);
  return names.map((key) => series(db, runId, key, Math.max(4, maxPoints), readWhole));
}

const COLUMNS = 'rowid, step, epoch, value, wall_time AS time';

/**
 * How long a series may be to be read in one query and reduced here, the same way as the range
 * queries below: a query per range costs more than reading tens of thousands of points (a compare
 * chart of 100 runs × 10,000 points made 200,000 queries).
 */
export const wholeUpTo = (maxPoints: number) => Math.min(50 * maxPoints, 100_000);

function series(db: Db, runId: number, key: string, maxPoints: number, readWhole: number): Series {
  const limit = Math.max(maxPoints, readWhole);
  // Counted in SQLite, at most limit + 1 index entries, before anything is read out.
  const count = db
    .prepare('SELECT COUNT(*) FROM (SELECT 1 FROM metrics WHERE run_id = ? AND key = ? LIMIT ?)')
    .pluck()
    .get(runId, key, limit + 1) as number;
  if (count <= limit) {
    const whole = db
      .prepare(`SELECT ${COLUMNS} FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid`)
      .all(runId, key) as Row[];
    const points = whole.length <= maxPoints ? whole.map(point) : reduce(whole, maxPoints);
    return { key, points, total: whole.length };
  }

  const edge = (order: 'ASC' | 'DESC') =>
    db
      .prepare(
        `SELECT ${COLUMNS} FROM metrics WHERE run_id = ? AND key = ? ORDER BY step ${order}, rowid ${order} LIMIT 1`,
      )
      .get(runId, key) as Row;
  const first = edge('ASC');
  const last = edge('DESC');
  const buckets = Math.floor(maxPoints / 2) - 1;
  const width = Math.ceil((last.step - first.step + 1) / buckets);
  // SQLite takes the bare `step` from the row that holds the MIN (or MAX).
  const range = (agg: 'MIN' | 'MAX') =>
    db.prepare(
      `SELECT ${agg}(value) AS value, step, COUNT(*) AS n FROM metrics
       WHERE run_id = ? AND key = ? AND step >= ? AND step < ?`,
    );
  const [low, high] = [range('MIN'), range('MAX')];
  const row = db.prepare(
    `SELECT ${COLUMNS} FROM metrics WHERE run_id = ? AND key = ? AND step = ? AND value = ?
     ORDER BY rowid LIMIT 1`,
  );
  const kept = new Map<number, Row>([first, last].map((r) => [r.rowid, r]));
  let total = 0;
  for (let b = 0; b < buckets; b++) {
    const from = first.step + b * width;
    const lo = low.get(runId, key, from, from + width) as {
      value: number;
      step: number;
      n: number;
    };
    if (lo.n === 0) continue;
    total += lo.n;
    const hi = high.get(runId, key, from, from + width) as { value: number; step: number };
    for (const chosen of [lo, hi]) {
      const found = row.get(runId, key, chosen.step, chosen.value) as Row;
      kept.set(found.rowid, found);
    }
  }
  const points = [...kept.values()].sort((a, b) => a.step - b.step || a.rowid - b.rowid);
  return { key, points: points.map(point), total };
}

/**
 * The reduction the range queries make, over rows in (step, rowid) order: the first and last
 * rows, and in each of ⌊maxPoints / 2⌋ − 1 equal step ranges the first row (by step, then rowid)
 * with the lowest value and the first with the highest.
 */
function reduce(rows: Row[], maxPoints: number): SeriesPoint[] {
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const buckets = Math.floor(maxPoints / 2) - 1;
  const width = Math.ceil((last.step - first.step + 1) / buckets);
  const kept = new Map<number, Row>([first, last].map((r) => [r.rowid, r]));
  let lo: Row | null = null;
  let hi: Row | null = null;
  let bucket = -1;
  const keep = () => {
    if (lo) kept.set(lo.rowid, lo);
    if (hi) kept.set(hi.rowid, hi);
  };
  for (const r of rows) {
    const b = Math.floor((r.step - first.step) / width);
    if (b !== bucket) {
      keep();
      [bucket, lo, hi] = [b, r, r];
      continue;
    }
    if (r.value < lo!.value) lo = r;
    if (r.value > hi!.value) hi = r;
  }
  keep();
  return [...kept.values()].sort((a, b) => a.step - b.step || a.rowid - b.rowid).map(point);
}

const point = ({ step, epoch, value, time }: Row): SeriesPoint => ({ step, epoch, value, time });
