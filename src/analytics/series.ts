// Shapes grouped, bucketed rows into complete series: every group seen in the range gets a row
// for every bucket of the range (an empty one where it had no data), ordered by bucket and group.
import type { Micros } from "../time.ts";

/** Group values in a fixed order; null (no value) sorts first. */
export type GroupValues = readonly (string | null)[];

export const groupKey = (values: GroupValues): string => JSON.stringify(values);

export function compareGroups(a: GroupValues, b: GroupValues): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Distinct group values among rows. */
export const groupCount = (rows: readonly { groupValues: GroupValues }[]): number =>
  new Set(rows.map((row) => groupKey(row.groupValues))).size;

/** Sorts rows by group values (the rows of one bucket, or totals). */
export function sortByGroup<R extends { groupValues: GroupValues }>(rows: R[]): R[] {
  return rows.sort((a, b) => compareGroups(a.groupValues, b.groupValues));
}

/**
 * Every (bucket, group) pair: the row QuestDB returned, or `empty(bucket, groupValues)`. Groups
 * are those present in `rows`, grouped or not (docs/queries.md, "No data, no row"): a range
 * without data has no series, and a group with data has every bucket of the range.
 */
export function fillSeries<R extends { bucket: Micros | null; groupValues: GroupValues }>(
  rows: readonly R[],
  starts: readonly Micros[],
  empty: (bucket: Micros, groupValues: GroupValues) => R,
): R[] {
  const found = new Map<string, R>();
  const groups = new Map<string, GroupValues>();
  for (const row of rows) {
    const key = groupKey(row.groupValues);
    groups.set(key, row.groupValues);
    found.set(`${row.bucket}|${key}`, row);
  }
  const ordered = [...groups.values()].sort(compareGroups).map((values) => ({ values, key: groupKey(values) }));
  const series: R[] = [];
  for (const bucket of starts) {
    const prefix = `${bucket}|`;
    for (const { values, key } of ordered) {
      series.push(found.get(prefix + key) ?? empty(bucket, values));
    }
  }
  return series;
}
