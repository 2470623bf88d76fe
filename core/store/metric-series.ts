import type { Db } from './db.js';
import { FINAL_STATUSES } from './run-status.js';

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
 * and its steps are cut into ⌊maxPoints / 2⌋ − 1 equal ranges, each keeping its first point (by
 * step, then rowid) with the lowest value and its first with the highest, so a spike or a dip
 * survives. Only the kept points leave SQLite: up to `groupedUpTo` points (groupedLimit) the ranges
 * come from one grouped query, and a longer series' from a query per range on the index on
 * (run_id, key, step, value), which avoids sorting millions of rows. A reduction to at most
 * CACHED_UP_TO points of a run that has ended is kept in series_cache and read from there.
 */
export function metricSeries(
  db: Db,
  runId: number,
  keys: readonly string[] | undefined,
  maxPoints: number,
  groupedUpTo = groupedLimit(maxPoints),
): Series[] {
  const only = keys ? ' AND key IN (SELECT value FROM json_each(?))' : '';
  const names = (
    db
      .prepare(`SELECT key FROM latest_metrics WHERE run_id = ?${only} ORDER BY key`)
      .all(...(keys ? [runId, JSON.stringify(keys)] : [runId])) as { key: string }[]
  ).map((r) => r.key);
  const max = Math.max(4, maxPoints);
  // Only an ended run's reductions are kept; a running one's are read fresh, with no write.
  const cacheable = max <= CACHED_UP_TO && ended(db, runId);
  return names.map((key) => {
    if (!cacheable) return series(db, runId, key, max, groupedUpTo);
    const cached = db
      .prepare(
        'SELECT total, points FROM series_cache WHERE run_id = ? AND key = ? AND max_points = ?',
      )
      .get(runId, key, max) as { total: number; points: Buffer } | undefined;
    if (cached) return { key, points: decode(cached.points), total: cached.total };
    const found = series(db, runId, key, max, groupedUpTo);
    if (found.points.length < found.total) keep(db, runId, found, max);
    return found;
  });
}

/** The points per series Compare asks for: a run's long series are reduced to it as it ends. */
export const COMPARE_POINTS = 1000;
/** Reductions to at most this many points are kept (a few tens of kB a series). */
export const CACHED_UP_TO = 2000;

/**
 * Reduces each long series of a run that has ended to the points Compare asks for, so that the
 * first comparison of many runs reads them ready-made.
 */
export function cacheChartSeries(db: Db, runId: number): void {
  metricSeries(db, runId, undefined, COMPARE_POINTS);
}

/**
 * Keeps a reduction when its run has ended (checked in the same statement: a run resumed since
 * the series was read keeps nothing). A database this process may only read keeps nothing either.
 */
function keep(db: Db, runId: number, found: Series, maxPoints: number): void {
  try {
    db.prepare(
      `INSERT OR REPLACE INTO series_cache (run_id, key, max_points, total, points)
       SELECT id, ?, ?, ?, ? FROM runs WHERE id = ? AND status IN (${ENDED})`,
    ).run(found.key, maxPoints, found.total, encode(found.points), runId);
  } catch (err) {
    if ((err as { code?: string }).code !== 'SQLITE_READONLY') throw err;
  }
}

const ENDED = FINAL_STATUSES.map((s) => `'${s}'`).join(', ');

const ended = (db: Db, runId: number) =>
  db.prepare(`SELECT 1 FROM runs WHERE id = ? AND status IN (${ENDED})`).get(runId) !== undefined;

const FIELDS = 4;

function encode(points: readonly SeriesPoint[]): Buffer {
  const out = Buffer.alloc(points.length * FIELDS * 8);
  points.forEach((p, i) => {
    const at = i * FIELDS * 8;
    out.writeDoubleLE(p.step, at);
    out.writeDoubleLE(p.epoch, at + 8);
    out.writeDoubleLE(p.value, at + 16);
    out.writeDoubleLE(p.time, at + 24);
  });
  return out;
}

function decode(blob: Buffer): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let at = 0; at + FIELDS * 8 <= blob.length; at += FIELDS * 8)
    points.push({
      step: blob.readDoubleLE(at),
      epoch: blob.readDoubleLE(at + 8),
      value: blob.readDoubleLE(at + 16),
      time: blob.readDoubleLE(at + 24),
    });
  return points;
}

const COLUMNS = 'rowid, step, epoch, value, wall_time AS time';

/**
 * How long a series may be to be reduced by one grouped query: a query per range costs more than
 * grouping tens of thousands of points (a compare chart of 100 runs × 10,000 points made 200,000
 * queries), and less than sorting millions.
 */
export const groupedLimit = (maxPoints: number) => Math.min(50 * maxPoints, 100_000);

function series(
  db: Db,
  runId: number,
  key: string,
  maxPoints: number,
  groupedUpTo: number,
): Series {
  const limit = Math.max(maxPoints, groupedUpTo);
  // Counted in SQLite, at most limit + 1 index entries, before anything is read out.
  const count = db
    .prepare('SELECT COUNT(*) FROM (SELECT 1 FROM metrics WHERE run_id = ? AND key = ? LIMIT ?)')
    .pluck()
    .get(runId, key, limit + 1) as number;
  if (count <= maxPoints) {
    const whole = db
      .prepare(`SELECT ${COLUMNS} FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid`)
      .all(runId, key) as Row[];
    return { key, points: whole.map(point), total: whole.length };
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
  const kept = new Map<number, Row>([first, last].map((r) => [r.rowid, r]));
  const keep = (rows: Row[]) => {
    for (const r of rows) kept.set(r.rowid, r);
  };
  const sorted = () =>
    [...kept.values()].sort((a, b) => a.step - b.step || a.rowid - b.rowid).map(point);
  if (count <= limit) {
    keep(db.prepare(GROUPED).all({ run: runId, key, first: first.step, width }) as Row[]);
    return { key, points: sorted(), total: count };
  }

  // SQLite takes the bare `step` from the first row that holds the MIN (or MAX).
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
    keep([lo, hi].map((chosen) => row.get(runId, key, chosen.step, chosen.value) as Row));
  }
  return { key, points: sorted(), total };
}

/**
 * Each step range's lowest and highest value in one grouped query (the range of a step is
 * ⌊(step − first) / width⌋, computed in doubles as JavaScript would), then in each range the
 * first row (by step, then rowid) holding each of them.
 */
const firstHolding = (extreme: 'lo' | 'hi') => {
  const holds = `run_id = :run AND key = :key AND value = g.${extreme}`;
  return `(SELECT MIN(rowid) FROM metrics WHERE ${holds} AND step = (
    SELECT MIN(step) FROM metrics WHERE ${holds}
    AND step >= :first + g.b * :width AND step < :first + (g.b + 1) * :width))`;
};
const GROUPED = `
  WITH g AS (
    SELECT CAST((step - :first) / CAST(:width AS REAL) AS INTEGER) AS b, MIN(value) AS lo, MAX(value) AS hi
    FROM metrics WHERE run_id = :run AND key = :key GROUP BY b)
  SELECT m.rowid, m.step, m.epoch, m.value, m.wall_time AS time
  FROM g JOIN metrics m ON m.rowid IN (${firstHolding('lo')}, ${firstHolding('hi')})`;

const point = ({ step, epoch, value, time }: Row): SeriesPoint => ({ step, epoch, value, time });
