// Reading statistics through the rollups (issue 13; questdb/views.ts). A range is cut into
// segments, in time order, each read by one statement and cached on its own (tied to its time
// range, analytics/cache.ts):
// - the whole hours come from the view, in three pieces: the rest of the first day, the whole days
//   up to today, and today's closed hours, so that a write into today leaves the cached history
//   alone and the keys of the history's statements change once an hour or once a day, not with
//   every request;
// - the partial hours at the range's edges come from the base table; so do the hours the view does
//   not reflect yet (what transactions since its last refresh touched), or everything when that is
//   unknown, the view is not usable, or the bucket is shorter than an hour: one statement per UTC
//   day (longer chunks past 64 days).
// Each statement returns the measures' partial figures per (bucket,) group; `mergeRows` folds the
// segments' rows in time order (sum of sums, min of mins, the first of the earliest…), so the
// answer equals the computation over the base table. See docs/queries.md ("Rollups").
import type { Measure } from "../questdb/views.ts";
import { VIEW_GRAIN_US } from "../questdb/views.ts";
import type { Micros } from "../time.ts";
import { limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import {
  bucketStart,
  rangeParams,
  STRIDE,
  sampleBy,
  type TimeBucket,
  type TimeRange,
  withinADay,
  withinAnHour,
} from "./range.ts";

/** What a request may take from a view. */
export interface Coverage {
  /** The view exists, is valid and has been filled. */
  usable: boolean;
  /** Ranges the view may not reflect yet (read raw); null: unknown, read everything raw. */
  dirty: readonly TimeRange[] | null;
}

/** A base table and its rollup view, as analytics functions read them. */
export interface RollupSource {
  /** Physical name of the base table. */
  table: string;
  /** Physical name of the view; null: read the base table only. */
  view: string | null;
  /** The view's coverage as this request's snapshot sees it. */
  coverage(reads: QueryReader): Promise<Coverage>;
}

/** A source without a view (tests, tools): every segment is read from the table. */
export const rawSource = (table: string): RollupSource => ({
  table,
  view: null,
  coverage: async () => ({ usable: false, dirty: null }),
});

export interface Segment {
  range: TimeRange;
  fromView: boolean;
}

const HOUR = VIEW_GRAIN_US;
const DAY = 24n * HOUR;
/** Most chunks one range is cut into; longer ranges get chunks of several days. */
export const MAX_CHUNKS = 64;

// Bigints: Math.max and Math.min do not take them.
const later = (a: Micros, b: Micros) => (a < b ? b : a);
const earlier = (a: Micros, b: Micros) => (a < b ? a : b);
const floorTo = (t: Micros, step: bigint) => (t >= 0n || t % step === 0n ? (t / step) * step : (t / step - 1n) * step);
const ceilTo = (t: Micros, step: bigint) => floorTo(t + step - 1n, step);

/** Buckets the views can serve: whole hours or longer, calendar aligned. */
const VIEW_BUCKETS: ReadonlySet<TimeBucket> = new Set(["HOUR", "FOUR_HOURS", "DAY", "WEEK", "MONTH"]);

/** Whole UTC days, or runs of several past MAX_CHUNKS days, so that a range is read in at most MAX_CHUNKS statements. */
const chunkOf = (range: TimeRange) => {
  const days = (ceilTo(range.to, DAY) - floorTo(range.from, DAY)) / DAY;
  return DAY * ((days + BigInt(MAX_CHUNKS) - 1n) / BigInt(MAX_CHUNKS));
};

/** `range` cut at UTC days (runs of days past MAX_CHUNKS days, chunkOf), in time order. */
export function dayPieces(range: TimeRange): TimeRange[] {
  const chunk = chunkOf(range);
  const pieces: TimeRange[] = [];
  for (let start = floorTo(range.from, chunk); start < range.to; start += chunk) {
    const piece = { from: later(start, range.from), to: earlier(start + chunk, range.to) };
    if (piece.from < piece.to) pieces.push(piece);
  }
  return pieces;
}

/**
 * dayPieces, with the first piece also cut at the range's first whole hour and the last at its
 * last whole hour less `margin`: of a range that moves with the clock ("the last 30 days"), only
 * the two short pieces at its ends change with every request; the others keep their keys for an
 * hour (the rest of the first day, today's closed hours) or for good (the days between), and a
 * bot's write into the open hour touches only the last piece when what a piece reads reaches
 * `margin` beyond it (the link join's window).
 */
export function hourCutPieces(range: TimeRange, margin: bigint): TimeRange[] {
  const pieces = dayPieces(range);
  const cut = (index: number, at: Micros) => {
    const piece = pieces[index];
    if (piece && piece.from < at && at < piece.to) {
      pieces.splice(index, 1, { from: piece.from, to: at }, { from: at, to: piece.to });
    }
  };
  cut(pieces.length - 1, floorTo(range.to, HOUR) - margin);
  cut(0, ceilTo(range.from, HOUR));
  return pieces;
}

/**
 * The pieces a figure of buckets of this size is read in, each bucket whole in one of them:
 * buckets up to an hour, hourCutPieces; up to a day, dayPieces when there are more than two (over
 * two days or less both pieces are read again by every request, the first moving with the clock,
 * the last written into: one statement does the same work); totals (`bucket` null), weeks and
 * months span days: the range whole.
 */
export function piecesFor(range: TimeRange, bucket: TimeBucket | null): TimeRange[] {
  if (!bucket) return [range];
  if (withinAnHour(bucket)) return hourCutPieces(range, 0n);
  const days = withinADay(bucket) ? dayPieces(range) : [];
  return days.length > 2 ? days : [range];
}

/** How readInPieces adds up the pieces' values. */
export interface PieceOptions<V> {
  /** Rows a value stands for (1, or the length of a per-currency list); default 1. */
  rows?: (value: V) => number;
  /** A key in two pieces (a group's days, sums): the values joined, in time order. Default: keys are disjoint. */
  merge?: (earlier: V, later: V) => V;
  /** The refusal past `max` rows; default tooManyRows(max). */
  refuse?: () => Error;
}

/**
 * A figure per key from statements of their own (not through the views), read in `pieces` (in time
 * order; piecesFor, hourCutPieces), two at a time, each piece cached with its own range, so a write
 * into the open hour re-reads one piece, not the month. `read` answers null past `max` rows; so
 * does the whole, whose rows stay within `max` as one statement's did.
 */
export async function readInPieces<V>(
  pieces: readonly TimeRange[],
  max: number,
  read: (range: TimeRange) => Promise<Map<string, V> | null>,
  options: PieceOptions<V> = {},
): Promise<Map<string, V>> {
  const { rows = () => 1, merge, refuse = () => tooManyRows(max) } = options;
  const all = new Map<string, V>();
  /** Σ rows of the values held. */
  let total = 0;
  await forEachInOrder(pieces, 2, read, (found) => {
    if (!found) throw refuse();
    for (const [key, value] of found) {
      const earlier = all.get(key);
      const next = earlier === undefined || !merge ? value : merge(earlier, value);
      total += rows(next) - (earlier === undefined ? 0 : rows(earlier));
      all.set(key, next);
    }
    if (total > max) throw refuse();
  });
  return all;
}

/** Segments of `range` in time order (see the file's head). */
export function planSegments(range: TimeRange, bucket: TimeBucket | null, coverage: Coverage | null): Segment[] {
  const chunk = chunkOf(range);
  const viewable = coverage?.usable === true && coverage.dirty !== null && (!bucket || VIEW_BUCKETS.has(bucket));
  const dirty = viewable ? (coverage?.dirty ?? []) : [];
  const segments: Segment[] = [];
  /** Raw pieces, one statement per chunk at most (adjacent pieces within a chunk read as one). */
  const raw = (from: Micros, to: Micros) => {
    for (let start = floorTo(from, chunk); start < to; start += chunk) {
      const a = later(start, from);
      const b = earlier(start + chunk, to);
      if (a >= b) continue;
      const last = segments.at(-1);
      if (last && !last.fromView && last.range.to === a && floorTo(a - 1n, chunk) === floorTo(a, chunk)) {
        last.range = { from: last.range.from, to: b };
      } else segments.push({ range: { from: a, to: b }, fromView: false });
    }
  };
  const first = ceilTo(range.from, HOUR);
  const end = floorTo(range.to, HOUR);
  if (!viewable || first >= end) {
    raw(range.from, range.to);
    return segments;
  }
  const stale = (hour: Micros) => dirty.some((d) => d.from < hour + HOUR && d.to > hour);
  raw(range.from, first);
  // The view's hours in pieces, each one cached statement whose key stays put while the range
  // moves on with the clock: the rest of the first day (a new key once an hour), the whole days
  // after it up to today, and today's closed hours (once an hour). Hours the view does not reflect
  // yet are cut out and read raw. When every bucket lies inside a day (HOUR to DAY), each whole
  // day is a statement of its own (runs of days past MAX_CHUNKS days, chunkOf; a day each for
  // buckets shorter than a day, which come back as many rows per day as the answer has): keys
  // that never change, so a new day reads one day, and a late write into an old day drops that
  // day alone (issue 13 point 4). Totals, weeks and months read the whole days in one statement
  // (a new key once a day; a late write drops it whole): a day each would fold every day's rows
  // of every group (latency: each stage's histogram bins) into the answer at every request.
  const firstDayEnd = earlier(ceilTo(first, DAY), end);
  const today = later(floorTo(end, DAY), firstDayEnd);
  const cuts = [first, firstDayEnd];
  const step = !bucket || !withinADay(bucket) ? undefined : bucket === "DAY" ? chunk : DAY;
  if (step) for (let day = floorTo(firstDayEnd, step) + step; day < today; day += step) cuts.push(day);
  cuts.push(today, end);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const stop = cuts[i + 1] as Micros;
    let hour = cuts[i] as Micros;
    while (hour < stop) {
      const skip = stale(hour);
      let next = hour + HOUR;
      while (next < stop && stale(next) === skip) next += HOUR;
      if (skip) raw(hour, next);
      else segments.push({ range: { from: hour, to: next }, fromView: true });
      hour = next;
    }
  }
  raw(end, range.to);
  return segments;
}

/** One statement per segment: the measures' partial figures per (bucket,) group. */
export interface SegmentQuery {
  /** Statement name prefix, e.g. `tradeStats.buckets`. */
  name: string;
  source: RollupSource;
  /** Group columns (view dims or base columns of the same name). */
  keys: readonly string[];
  measures: readonly Measure[];
  bucket: TimeBucket | null;
  /** Extra conditions on dims, `$n` numbered after the range's $1 and $2, with their values. */
  filters?: readonly { column: string; value: string }[];
  /** Most rows one segment may return (and the answer); more: refused with MAX_RESULT_ROWS. */
  max: number;
  /** The refusal past `max` (default: the answer's rows, buckets × groups). */
  tooMany?: () => Error;
}

export type PartialRow = Record<string, unknown> & { timestamp?: Micros };

function where(filters: SegmentQuery["filters"]): { sql: string; values: string[] } {
  const values: string[] = [];
  let sql = "timestamp >= $1 AND timestamp < $2";
  for (const filter of filters ?? []) {
    values.push(filter.value);
    sql += ` AND ${filter.column} = $${values.length + 2}`;
  }
  return { sql, values };
}

const mergeSql = (measure: Measure) => `${measure.merge}(${measure.alias}) ${measure.alias}`;

function segmentStatement(query: SegmentQuery, segment: Segment) {
  const { keys, measures, bucket } = query;
  const filter = where(query.filters);
  const params = [...rangeParams(segment.range), ...filter.values];
  const head = [...(bucket ? ["timestamp"] : []), ...keys];
  const name = `${query.name}.${segment.fromView ? "view" : "raw"}`;
  if (!segment.fromView) {
    const select = [...head, ...measures.map((x) => `${x.sql} ${x.alias}`)].join(", ");
    const sql = `SELECT ${select} FROM ${query.source.table} WHERE ${filter.sql}${bucket ? ` ${sampleBy(bucket)}` : ""}`;
    return { name, sql, params };
  }
  const view = query.source.view as string;
  const ordered = measures.filter((x) => x.merge === "first" || x.merge === "last");
  if (ordered.length === 0) {
    const select = [...head, ...measures.map(mergeSql)].join(", ");
    const sql = `SELECT ${select} FROM ${view} WHERE ${filter.sql}${bucket ? ` ${sampleBy(bucket)}` : ""}`;
    return { name, sql, params };
  }
  // first/last of several view rows (hours, or combinations of dims merged into one group): the
  // value of the row with the earliest (latest) time, picked by a window over the rows of each
  // (bucket,) group; then one GROUP BY merges the rest.
  const b = bucket ? [`timestamp_floor('${STRIDE[bucket]}', timestamp) timestamp`] : [];
  const partition = `PARTITION BY ${[...(bucket ? ["timestamp"] : []), ...keys].join(", ") || "1"}`;
  const plain = measures.filter((x) => x.merge !== "first" && x.merge !== "last");
  const inner = `SELECT ${[...b, ...keys, ...measures.map((x) => x.alias)].join(", ")} FROM ${view} WHERE ${filter.sql}`;
  const windows = ordered.map(
    (x) =>
      `first_value(${x.alias}) OVER (${partition} ORDER BY ${x.at}${x.merge === "last" ? " DESC" : ""}) ${x.alias}`,
  );
  const middle = `SELECT ${[...head, ...plain.map((x) => x.alias), ...windows].join(", ")} FROM (${inner})`;
  const outer = [...head, ...plain.map(mergeSql), ...ordered.map((x) => `first(${x.alias}) ${x.alias}`)].join(", ");
  return { name, sql: `SELECT ${outer} FROM (${middle})`, params };
}

const isNull = (v: unknown) => v === null || v === undefined;

function add(a: unknown, b: unknown): unknown {
  if (isNull(a)) return b;
  if (isNull(b)) return a;
  if (typeof a === "bigint" || typeof b === "bigint") return BigInt(a as bigint) + BigInt(b as bigint);
  return (a as number) + (b as number);
}

const less = (a: unknown, b: unknown) => (a as number | bigint) < (b as number | bigint);

/** Folds `next` (a later segment's row of the same key) into `into`. */
function fold(into: PartialRow, next: PartialRow, measures: readonly Measure[]): void {
  // first/last compare their times before the min/max of those times are folded.
  for (const measure of measures) {
    if (measure.merge !== "first" && measure.merge !== "last") continue;
    const at = measure.at as string;
    const earlier = isNull(into[at]) || less(next[at], into[at]);
    // Rows of later segments are later: the first stays unless `next` is earlier (never for
    // disjoint ranges); the last moves on unless `next` is earlier.
    if (measure.merge === "first" ? earlier && !isNull(next[at]) : !earlier || isNull(into[measure.alias])) {
      into[measure.alias] = next[measure.alias];
    }
  }
  for (const measure of measures) {
    const a = into[measure.alias];
    const b = next[measure.alias];
    if (measure.merge === "sum") into[measure.alias] = add(a, b);
    else if (measure.merge === "min") {
      if (isNull(a) || (!isNull(b) && less(b, a))) into[measure.alias] = b;
    } else if (measure.merge === "max") {
      if (isNull(a) || (!isNull(b) && less(a, b))) into[measure.alias] = b;
    }
  }
}

/** The (bucket,) group of a row: strings prefixed (null apart), joined by NUL. Cheaper than JSON. */
function rowKey(row: PartialRow, keys: readonly string[], withTime = true): string {
  let key = !withTime || row.timestamp === undefined ? "" : String(row.timestamp);
  for (const k of keys) {
    const value = row[k];
    key += value === null || value === undefined ? "\u0000-" : `\u0000s${String(value)}`;
  }
  return key;
}

/**
 * Rows of one rollup read merged again by `keys` alone (bucketed rows into totals): the measures
 * are mergeable, so the totals over a range equal the fold of its buckets' partial rows.
 */
function mergeByKeys(rows: readonly PartialRow[], keys: readonly string[], measures: readonly Measure[]) {
  const merged = new Map<string, PartialRow>();
  for (const row of rows) {
    const key = rowKey(row, keys, false);
    const into = merged.get(key);
    if (into) fold(into, row, measures);
    else {
      // The group's first row, copied without its bucket (the rows may be cached: never folded into).
      const { timestamp: _bucket, ...first } = row;
      merged.set(key, first);
    }
  }
  return [...merged.values()];
}

/**
 * The totals of `query` (bucket null) over `range`: the fold of `bucketed`, the same range's
 * bucketed partial rows when the request reads them anyway (mergeByKeys), else read on their own
 * (also when reading the buckets failed: the totals get their own answer or error).
 */
export async function readTotals(
  reads: QueryReader,
  query: SegmentQuery,
  range: TimeRange,
  bucketed?: Promise<PartialRow[]>,
): Promise<PartialRow[]> {
  const partials = await bucketed?.catch(() => undefined);
  return partials ? mergeByKeys(partials, query.keys, query.measures) : readRollup(reads, query, range);
}

/**
 * Runs `read` for every item, at most `parallel` at a time (so one long chart does not take every
 * connection), and hands the results to `take` in the items' order, each as soon as every earlier
 * one has been taken (so only the results that wait for an earlier one are held).
 */
export async function forEachInOrder<T, R>(
  items: readonly T[],
  parallel: number,
  read: (item: T) => Promise<R>,
  take: (result: R) => void,
): Promise<void> {
  const results: ({ value: R } | undefined)[] = new Array(items.length);
  let taken = 0;
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = { value: await read(items[index] as T) };
        while (taken < items.length && results[taken]) {
          const result = results[taken] as { value: R };
          results[taken] = undefined;
          taken++;
          take(result.value);
        }
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

/** One segment's rows as read (readRollupParts), in the order of the range. */
export interface RollupPart {
  range: TimeRange;
  /** The segment's partial rows; the cache's own value when `cached` (read-only, stable while cached). */
  rows: readonly PartialRow[];
  /** Whether `rows` is the value of one cached read: the same array while nothing touched its range. */
  cached: boolean;
}

/** Reads one segment of `query`: its statement (cached), or a quiet hour's edge from the hour's index. */
async function readSegment(
  reads: QueryReader,
  query: SegmentQuery,
  segment: Segment,
  quiet: (hour: Micros) => boolean,
): Promise<RollupPart> {
  const hour = floorTo(segment.range.from, HOUR);
  const partial = segment.range.from > hour || segment.range.to < hour + HOUR;
  if (!segment.fromView && partial && segment.range.to <= hour + HOUR && quiet(hour)) {
    const index = await readHour(reads, query, hour);
    if (index) return { range: segment.range, rows: edgeOf(index, segment.range, query.bucket, hour), cached: false };
  }
  const rows = await reads.read<PartialRow, PartialRow[] | null>({
    statement: limited(segmentStatement(query, segment), query.max + 1),
    tables: [query.source.table],
    range: segment.range,
    map: unlessOver(query.max, (r) => r),
  });
  if (!rows) throw (query.tooMany ?? (() => tooManyRows(query.max)))();
  return { range: segment.range, rows, cached: true };
}

/** The segments of `range` (planSegments) and how their hours' edges are read. */
async function plan(reads: QueryReader, query: SegmentQuery, range: TimeRange) {
  const { source } = query;
  const coverage = source.view ? await source.coverage(reads) : null;
  const segments = planSegments(range, query.bucket, coverage);
  // Only the view path reads hours per timestamp (rawSource answers stay the plain reference).
  const quiet = source.view ? await quietHours(reads, source.table) : () => false;
  return { segments, quiet };
}

/** Folds `rows` into `merged` per (bucket,) group; rows of `merged` not in `own` are never written. */
function mergeInto(
  merged: Map<string, PartialRow>,
  own: Set<PartialRow>,
  rows: readonly PartialRow[],
  query: Pick<SegmentQuery, "keys" | "measures">,
): void {
  for (const row of rows) {
    const key = rowKey(row, query.keys);
    let into = merged.get(key);
    if (!into) {
      // Most keys come from one segment (an hourly bucket lies in one): copied only if folded into.
      merged.set(key, row);
      continue;
    }
    if (!own.has(into)) {
      into = { ...into };
      own.add(into);
      merged.set(key, into);
    }
    fold(into, row, query.measures);
  }
}

/**
 * Reads every segment of `range` and merges their rows per (bucket,) group, in time order.
 * Memory: the merged rows (bounded by `max`, the answer) and the segments' rows waiting for an
 * earlier one. The rows returned may be cached values (a key only one segment has): read-only.
 */
export async function readRollup(
  reads: QueryReader,
  query: SegmentQuery,
  range: TimeRange,
  parallel = 2,
): Promise<PartialRow[]> {
  const refuse = query.tooMany ?? (() => tooManyRows(query.max));
  const { segments, quiet } = await plan(reads, query, range);
  const merged = new Map<string, PartialRow>();
  /** Rows of `merged` made here (folded into); the others are a segment's rows, maybe cached: never written. */
  const own = new Set<PartialRow>();
  await forEachInOrder(
    segments,
    parallel,
    (segment) => readSegment(reads, query, segment, quiet),
    (part) => {
      mergeInto(merged, own, part.rows, query);
      if (merged.size > query.max) throw refuse();
    },
  );
  return [...merged.values()];
}

/**
 * The bucketed partial rows of `range` as read, one part per segment in time order, not merged:
 * a part of whole buckets is the same cached array from request to request, so what is made of
 * it (the answer's rows, their JSON: analytics/series-pieces.ts) can be kept with it. `query.bucket`
 * must be set. Refused past `max` distinct (bucket, group) keys, as readRollup.
 */
export async function readRollupParts(
  reads: QueryReader,
  query: SegmentQuery,
  range: TimeRange,
  parallel = 2,
): Promise<RollupPart[]> {
  const bucket = query.bucket as TimeBucket;
  const refuse = query.tooMany ?? (() => tooManyRows(query.max));
  const { segments, quiet } = await plan(reads, query, range);
  const parts: RollupPart[] = [];
  /** Keys of parts that may share a bucket with a neighbour (those not of whole buckets). */
  const shared = new Set<string>();
  let whole = 0;
  await forEachInOrder(
    segments,
    parallel,
    (segment) => readSegment(reads, query, segment, quiet),
    (part) => {
      parts.push(part);
      if (wholeBuckets(part.range, bucket)) whole += part.rows.length;
      else for (const row of part.rows) shared.add(rowKey(row, query.keys));
      if (whole + shared.size > query.max) throw refuse();
    },
  );
  return parts;
}

/** Whether `range` starts and ends on bucket boundaries (its buckets lie wholly inside it). */
export const wholeBuckets = (range: TimeRange, bucket: TimeBucket): boolean =>
  bucketStart(range.from, bucket) === range.from && bucketStart(range.to, bucket) === range.to;

/** The fold of parts' rows per (bucket,) group, in time order (what readRollup returns). */
export function mergeParts(parts: readonly RollupPart[], query: Pick<SegmentQuery, "keys" | "measures">): PartialRow[] {
  const merged = new Map<string, PartialRow>();
  const own = new Set<PartialRow>();
  for (const part of parts) mergeInto(merged, own, part.rows, query);
  return [...merged.values()];
}

/** Per cached part's rows, their fold by group alone (its totals), made once. */
const partTotals = new WeakMap<readonly PartialRow[], PartialRow[]>();

/**
 * The totals (rows merged by `keys` alone) of parts read by readRollupParts: each cached part's
 * fold is made once and kept with its rows, so a month's totals fold ~30 rows per group, not
 * every bucket of the month.
 */
export function totalsOfParts(
  parts: readonly RollupPart[],
  query: Pick<SegmentQuery, "keys" | "measures">,
): PartialRow[] {
  const folded: PartialRow[] = [];
  for (const part of parts) {
    let totals = part.cached ? partTotals.get(part.rows) : undefined;
    if (!totals) {
      totals = mergeByKeys(part.rows, query.keys, query.measures);
      if (part.cached) partTotals.set(part.rows, totals);
    }
    folded.push(...totals);
  }
  return mergeByKeys(folded, query.keys, query.measures);
}

/** Transactions of a table looked at to tell whether an hour is being written. */
const RECENT_TXNS = 64;
/**
 * Most rows an hour read per timestamp may have, else its edge is read as a range, raw: the
 * hour's index holds its rows and two folded rows per row (indexHour), so a dense hour would fill
 * the cache's budget (300,000 trades a day are 12,500 an hour: ~20 MB an index).
 */
const HOUR_ROWS = 2_000;

/**
 * Whether an hour of `table` is quiet: none of its last RECENT_TXNS transactions (as far as the
 * transaction log knows) touched it. Only such an hour's partial edges are read through readHour:
 * an hour being written would be read whole again after every write. A hint only: the cache drops
 * an hour's rows whenever a transaction touches the hour, so answers stay exact either way.
 */
async function quietHours(reads: QueryReader, table: string): Promise<(hour: Micros) => boolean> {
  const snapshot = await reads.snapshot([table]);
  const txn = snapshot.tables.get(table);
  const recent = txn ? snapshot.recentlyTouched(table, txn.writerTxn, RECENT_TXNS) : null;
  if (!recent) return () => false;
  return (hour) => !recent.some((r) => r.from < hour + HOUR && r.to > hour);
}

/** One group's rows of an hour (readHour), in time order, folded from the hour's start and to its end. */
interface HourGroup {
  /** The rows' times, ascending (one row per exact timestamp). */
  times: Micros[];
  /** upTo[i]: the fold of rows 0..i (the figures of [hour, times[i]]). */
  upTo: PartialRow[];
  /** onward[i]: the fold of rows i..end (the figures of [times[i], hour end)). */
  onward: PartialRow[];
}

/** An hour's rows (per exact timestamp and group, in time order) and their running folds per group. */
export interface HourIndex {
  rows: readonly PartialRow[];
  groups: readonly HourGroup[];
}

/**
 * An hour's partial figures per exact timestamp and group, read once and cached (tied to the
 * hour), as running folds per group (indexHour): a range's first hour moves with the clock, so
 * its edge [from, next hour) is new with every request, but the hour is not, and each request
 * takes one folded row per group (a binary search) instead of folding the hour's rows again. Null
 * past HOUR_ROWS rows (then read the edge raw).
 */
function readHour(reads: QueryReader, query: SegmentQuery, hour: Micros): Promise<HourIndex | null> {
  const range = { from: hour, to: hour + HOUR };
  const filter = where(query.filters);
  const select = ["timestamp", ...query.keys, ...query.measures.map((x) => `${x.sql} ${x.alias}`)].join(", ");
  const limit = Math.min(HOUR_ROWS, query.max);
  return reads.read<PartialRow, HourIndex | null>({
    statement: limited(
      {
        name: `${query.name}.hour`,
        sql: `SELECT ${select} FROM ${query.source.table} WHERE ${filter.sql} ORDER BY timestamp`,
        params: [...rangeParams(range), ...filter.values],
      },
      limit + 1,
    ),
    tables: [query.source.table],
    range,
    map: unlessOver(limit, (rows) => indexHour(rows, query.keys, query.measures)),
  });
}

/** Rows of one hour in time order (readHour) → per group, the running folds from either end. */
export function indexHour(
  rows: readonly PartialRow[],
  keys: readonly string[],
  measures: readonly Measure[],
): HourIndex {
  const groups = new Map<string, { times: Micros[]; rows: PartialRow[] }>();
  for (const { timestamp, ...row } of rows) {
    const key = rowKey(row, keys, false);
    let group = groups.get(key);
    if (!group) {
      group = { times: [], rows: [] };
      groups.set(key, group);
    }
    group.times.push(timestamp as Micros);
    group.rows.push(row);
  }
  const folded = [...groups.values()].map(({ times, rows: own }) => {
    const upTo: PartialRow[] = [];
    const onward: PartialRow[] = new Array(own.length);
    for (const [i, row] of own.entries()) {
      const folded = { ...(upTo[i - 1] ?? row) };
      if (i > 0) fold(folded, row, measures);
      upTo.push(folded);
    }
    for (let i = own.length - 1; i >= 0; i--) {
      const folded = { ...(own[i] as PartialRow) };
      const later = onward[i + 1];
      if (later) fold(folded, later, measures);
      onward[i] = folded;
    }
    return { times, upTo, onward };
  });
  return { rows, groups: folded };
}

/** The first index of `times` (ascending) at or after `t`. */
function firstAtOrAfter(times: readonly Micros[], t: Micros): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as Micros) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The figures of `range`, a part of `hour`, from the hour's index, each under its bucket (none
 * for totals): a part that starts or ends at one of the hour's boundaries and lies in one bucket
 * (a range's edge) takes one folded row per group; any other part (inside the hour, or over
 * several buckets) folds the rows inside it.
 */
export function edgeOf(index: HourIndex, range: TimeRange, bucket: TimeBucket | null, hour: Micros): PartialRow[] {
  const fromStart = range.from <= hour;
  const toEnd = range.to >= hour + HOUR;
  const start = bucket ? bucketStart(range.from, bucket) : undefined;
  if (fromStart === toEnd || (bucket && bucketStart(range.to - 1n, bucket) !== start)) {
    return rowsIn(index.rows, range, bucket);
  }
  const under = (row: PartialRow): PartialRow => (start === undefined ? row : { ...row, timestamp: start });
  const edge: PartialRow[] = [];
  for (const group of index.groups) {
    if (fromStart) {
      const last = firstAtOrAfter(group.times, range.to) - 1;
      if (last >= 0) edge.push(under(group.upTo[last] as PartialRow));
    } else {
      const first = firstAtOrAfter(group.times, range.from);
      if (first < group.times.length) edge.push(under(group.onward[first] as PartialRow));
    }
  }
  return edge;
}

/** The rows of an hour (readHour) inside `range`, each under its bucket (none for totals). */
function rowsIn(rows: readonly PartialRow[], range: TimeRange, bucket: TimeBucket | null): PartialRow[] {
  const edge: PartialRow[] = [];
  for (const { timestamp, ...row } of rows) {
    const at = timestamp as Micros;
    if (at < range.from || at >= range.to) continue;
    edge.push(bucket ? { ...row, timestamp: bucketStart(at, bucket) } : row);
  }
  return edge;
}
