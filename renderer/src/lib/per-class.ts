import type { EvaluationDetail } from '../../../core/api/contract';

export interface ClassError {
  index: number;
  name: string;
  /** Top-1 error of the class; null when the split had no images of it. */
  error: number | null;
  count: number;
}

/** One row per class of an evaluation. */
export function classErrors(e: EvaluationDetail): ClassError[] {
  return e.classes.map((name, index) => ({
    index,
    name,
    error: e.perClassError[index] ?? null,
    count: e.perClassCount[index] ?? 0,
  }));
}

/** Worst class first; classes without images last; ties by name for a stable order. */
export function sortWorstFirst(rows: readonly ClassError[]): ClassError[] {
  return [...rows].sort((a, b) => {
    if (a.error === null || b.error === null) {
      return a.error === b.error ? a.name.localeCompare(b.name) : a.error === null ? 1 : -1;
    }
    return b.error - a.error || a.name.localeCompare(b.name);
  });
}

/** Classes whose name contains the query, ignoring case and surrounding spaces. */
export function searchClasses<T extends { name: string }>(rows: readonly T[], query: string): T[] {
  const q = query.trim().toLowerCase();
  return q ? rows.filter((r) => r.name.toLowerCase().includes(q)) : [...rows];
}

export interface ClassDelta {
  name: string;
  a: number;
  b: number;
  /** b − a: negative means run B gets the class wrong less often. */
  delta: number;
}

export interface ClassDiff {
  /** Every class both evaluations measured, most improved (most negative delta) first. */
  rows: ClassDelta[];
  better: number;
  worse: number;
  same: number;
}

/**
 * Per-class error change from evaluation A to B. Classes are matched by name, so runs on
 * datasets that list classes in a different order still compare; classes only one side
 * measured are left out.
 */
export function classDiff(a: EvaluationDetail, b: EvaluationDetail): ClassDiff {
  const errorsA = new Map<string, number>();
  a.classes.forEach((name, i) => {
    const e = a.perClassError[i];
    if (e !== null && e !== undefined) errorsA.set(name, e);
  });
  const rows: ClassDelta[] = [];
  b.classes.forEach((name, i) => {
    const eb = b.perClassError[i];
    const ea = errorsA.get(name);
    if (ea === undefined || eb === null || eb === undefined) return;
    rows.push({ name, a: ea, b: eb, delta: eb - ea });
  });
  rows.sort((x, y) => x.delta - y.delta || x.name.localeCompare(y.name));
  // Errors are ratios of image counts; differences below this are float noise, not change.
  const eps = 1e-9;
  const better = rows.filter((r) => r.delta < -eps).length;
  const worse = rows.filter((r) => r.delta > eps).length;
  return { rows, better, worse, same: rows.length - better - worse };
}

/** The `limit` largest improvements and regressions, each biggest change first. */
export function topChanges(
  diff: ClassDiff,
  limit: number,
): { improvements: ClassDelta[]; regressions: ClassDelta[] } {
  const eps = 1e-9;
  return {
    improvements: diff.rows.filter((r) => r.delta < -eps).slice(0, limit),
    regressions: diff.rows
      .filter((r) => r.delta > eps)
      .reverse()
      .slice(0, limit),
  };
}
