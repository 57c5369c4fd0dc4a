// A bucketed series built in pieces of whole buckets, so that the closed past is not built again
// with every request (issue 13: a month of hourly buckets by pair is 4,320 rows of 17 fields, and
// building, executing and serialising them took most of such a request, ~100 ms, while its
// statements were cache hits).
//
// The rollup reads a range in parts (analytics/rollup.ts, readRollupParts): a part of whole
// buckets (a closed day, today's closed hours) is the same cached array from request to request
// while nothing is written into its range. Each such part becomes a piece of the series on its own:
// its buckets × the answer's groups. A request that can take a piece as JSON text (the HTTP lean
// path, http/spliced-lists.ts) gets, for a part met before with the same groups and the same
// selection of fields, the text kept beside the part's cache entry (QueryReader.derived: dropped
// with it, counted in the cache's bytes); otherwise the piece's rows, and a way to keep their
// text. The other parts (the range's edges, a bucket split between parts) are merged and built as
// before.
import { createHash } from "node:crypto";
import type { Micros } from "../time.ts";
import type { QueryReader } from "./cache.ts";
import type { TimeBucket } from "./range.ts";
import { mergeParts, type PartialRow, type RollupPart, type SegmentQuery, wholeBuckets } from "./rollup.ts";
import { compareGroups, type GroupValues, groupKey } from "./series.ts";

/** A run of the series: rows to execute, or the JSON text of its rows (elements without brackets). */
export type SeriesPiece<R> =
  | {
      rows: R[];
      text?: undefined;
      /** Keeps the JSON text these rows were answered as, for the next request (set when reusable). */
      keep?: (text: Uint8Array) => void;
    }
  | { rows?: undefined; text: Uint8Array };

export interface SeriesOptions<R> {
  query: Pick<SegmentQuery, "keys" | "measures">;
  /** Every group of the parts, in group order (seriesGroups): each gets a row in every bucket. */
  groups: readonly GroupValues[];
  bucket: TimeBucket;
  /** Every bucket start of the range, ascending (checkRange). */
  starts: readonly Micros[];
  /** A partial row (its `timestamp` the bucket) → the answer's row. */
  toRow: (row: PartialRow) => R;
  /** The row of a group's bucket without data. */
  empty: (bucket: Micros, groupValues: GroupValues) => R;
  /**
   * Where texts are kept, and under what name the caller's selection of fields answers a piece
   * (seriesKey); none: every piece comes as rows.
   */
  reuse?: { reads: QueryReader; key: string };
}

/** Per cached part's rows, its groups by key (made once). */
const partGroups = new WeakMap<readonly PartialRow[], Map<string, GroupValues>>();

function groupsOf(part: RollupPart, keys: readonly string[]): Map<string, GroupValues> {
  let groups = part.cached ? partGroups.get(part.rows) : undefined;
  if (groups) return groups;
  groups = new Map();
  for (const row of part.rows) {
    const values = keys.map((key) => (row[key] as string | null | undefined) ?? null);
    const key = groupKey(values);
    if (!groups.has(key)) groups.set(key, values);
  }
  if (part.cached) partGroups.set(part.rows, groups);
  return groups;
}

/** The groups of every part, in group order: each gets a row in every bucket of the range. */
export function seriesGroups(parts: readonly RollupPart[], keys: readonly string[]): GroupValues[] {
  const all = new Map<string, GroupValues>();
  for (const part of parts) for (const [key, values] of groupsOf(part, keys)) all.set(key, values);
  return [...all.values()].sort(compareGroups);
}

/** Parts cut into runs that share no bucket: a new run wherever a part starts on a bucket boundary. */
function stretches(parts: readonly RollupPart[], bucket: TimeBucket): RollupPart[][] {
  const runs: RollupPart[][] = [];
  for (const part of parts) {
    const last = runs.at(-1);
    if (last && !wholeBuckets({ from: part.range.from, to: part.range.from }, bucket)) last.push(part);
    else runs.push([part]);
  }
  return runs;
}

const digest = (text: string) => createHash("sha1").update(text).digest("base64url");

/** A run of a series' range that shares no bucket with the others (see assemble). */
export interface SeriesRun<R> {
  /** Where the run ends (exclusive); the last run takes every bucket left. */
  to: Micros;
  /** A run of whole buckets read by one cached read: the value its text is kept with. */
  base?: object;
  /** The run's rows with data, one per (bucket, group) (its other buckets are filled empty). */
  found(): readonly R[];
}

/**
 * The series of `runs` (every bucket of `starts` × every group of `groups`, in bucket then group
 * order), one piece per run: a run with a `base` is answered from the text kept with it when there
 * is one (and gets `keep` otherwise), the others as rows.
 */
export function assemble<R extends { bucket: Micros | null; groupValues: GroupValues }>(
  runs: readonly SeriesRun<R>[],
  options: {
    starts: readonly Micros[];
    groups: readonly GroupValues[];
    empty: (bucket: Micros, groupValues: GroupValues) => R;
    reuse?: { reads: QueryReader; key: string };
  },
): SeriesPiece<R>[] {
  const { starts, empty, reuse } = options;
  const groups = options.groups.map((values) => ({ values, key: groupKey(values) }));
  if (groups.length === 0) return [];
  const reusable = reuse?.reads.derived && reuse.reads.keepDerived ? reuse : undefined;
  const textKey = reusable ? `${reusable.key}|${digest(groups.map((g) => g.key).join("\n"))}` : "";
  const pieces: SeriesPiece<R>[] = [];
  let next = 0;
  for (const [i, run] of runs.entries()) {
    const from = next;
    while (next < starts.length && (i === runs.length - 1 || (starts[next] as Micros) < run.to)) next++;
    const base = reusable ? run.base : undefined;
    if (base) {
      const text = reusable?.reads.derived?.(base, textKey);
      if (text instanceof Uint8Array) {
        if (text.length > 0) pieces.push({ text });
        continue;
      }
    }
    const found = new Map<string, R>();
    for (const row of run.found()) found.set(`${row.bucket}|${groupKey(row.groupValues)}`, row);
    const rows: R[] = [];
    for (const start of starts.slice(from, next)) {
      const prefix = `${start}|`;
      for (const { values, key } of groups) rows.push(found.get(prefix + key) ?? empty(start, values));
    }
    pieces.push(base ? { rows, keep: (text) => reusable?.reads.keepDerived?.(base, textKey, text) } : { rows });
  }
  return pieces;
}

/**
 * The series of rollup `parts` (every bucket of `starts` × every group of the parts) in pieces;
 * [] without groups (no data in the range). See the file's head.
 */
export function seriesPieces<R extends { bucket: Micros | null; groupValues: GroupValues }>(
  parts: readonly RollupPart[],
  options: SeriesOptions<R>,
): SeriesPiece<R>[] {
  const { query, bucket, toRow } = options;
  const runs = stretches(parts, bucket).map((run): SeriesRun<R> => {
    const first = run[0] as RollupPart;
    const alone = run.length === 1 && first.cached && wholeBuckets(first.range, bucket);
    return {
      to: (run.at(-1) as RollupPart).range.to,
      ...(alone ? { base: first.rows } : {}),
      // A statement's rows hold one row per (bucket, group); an hour's edge (rollup.ts, edgeOf)
      // may hold several (its rows inside the hour): merged, as those of parts sharing a bucket.
      found: () => (run.length === 1 && first.cached ? first.rows : mergeParts(run, query)).map(toRow),
    };
  });
  return assemble(runs, options);
}

/** The rows of every piece, in order (for callers that take no text: every piece then has rows). */
export const seriesRows = <R>(pieces: readonly SeriesPiece<R>[]): R[] => pieces.flatMap((piece) => piece.rows ?? []);

/** A short, stable name for a selection's canonical text (the key texts are kept under). */
export const selectionKey = (name: string, canonical: string): string => `${name}|${digest(canonical)}`;
