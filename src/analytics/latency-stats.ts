// latencyStats: count, min, mean, max and the p50/p90/p95/p99/p99.9 percentiles of latency_us per
// stage, over the range and per calendar bucket. One statement builds a log-binned histogram per
// (bucket,) stage with an ordinary parallel GROUP BY; count, min, max and the sum (so the mean)
// are exact because every bin carries them, the percentiles come from the bins (histogram.ts).

import { LATENCY_BIN, LATENCY_MEASURES } from "../questdb/views.ts";
import type { Micros } from "../time.ts";
import { formatIsoMicros } from "../time.ts";
import { checkResultRows, limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { type Bin, nearestRank, PERCENTILES, percentilesFromBins, sortBins } from "./histogram.ts";
import {
  bucketStart,
  checkRange,
  nextBucket,
  rangeParams,
  sampleBy,
  type TimeBucket,
  type TimeRange,
} from "./range.ts";
import { forEachInOrder, planSegments, type RollupSource, type Segment, wholeBuckets } from "./rollup.ts";
import { compareGroups, type GroupValues, groupKey, sortByGroup } from "./series.ts";
import { assemble, type SeriesPiece, seriesRows } from "./series-pieces.ts";

export interface LatencyStatsArgs {
  range: TimeRange;
  stage: string | null;
  /** Only the measurements recorded with this strategy; null: all. */
  strategy?: string | null;
  bucket: TimeBucket | null;
}

export interface LatencyStatsRow {
  bucket: Micros | null;
  groupValues: readonly [string | null];
  stage: string | null;
  count: number;
  minUs: bigint | null;
  maxUs: bigint | null;
  meanUs: number | null;
  p50Us: number | null;
  p90Us: number | null;
  p95Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
}

interface BinRow {
  timestamp?: bigint;
  stage: string | null;
  k: number | null;
  n: bigint;
  lo: bigint;
  hi: bigint;
  total: bigint | number;
}

/** A bin row of a bucket reduced in QuestDB: its place in the bucket's histogram and the bucket's figures. */
interface RankedRow extends BinRow {
  /** Measurements up to and including this bin (window sum, a DOUBLE). */
  upto: number | null;
  /** The bucket's count, min, max and Σ (null: a bin of a bucket cut by the segment, not reduced). */
  cnt: number | null;
  all_lo: bigint | null;
  all_hi: bigint | null;
  all_total: number | null;
}

const PER_MILLES = Object.values(PERCENTILES);

/** Bins merge by summing counts and totals, min of mins, max of maxes. */
const MEASURES = LATENCY_MEASURES;

function rowFromBins(bucket: Micros | null, stage: string | null, rows: readonly BinRow[]): LatencyStatsRow {
  let count = 0;
  // Sums of microseconds: exact as doubles up to 2^53 µs (285 years of summed latency).
  let total = 0;
  let minUs: bigint | null = null;
  let maxUs: bigint | null = null;
  const bins: Bin[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as BinRow;
    const n = Number(row.n);
    count += n;
    total += Number(row.total);
    if (minUs === null || row.lo < minUs) minUs = row.lo;
    if (maxUs === null || row.hi > maxUs) maxUs = row.hi;
    bins[i] = { key: row.k, count: n, min: Number(row.lo), max: Number(row.hi) };
  }
  const [p50Us, p90Us, p95Us, p99Us, p999Us] = percentilesFromBins(sortBins(bins), PER_MILLES);
  return finished(bucket, stage, count, minUs, maxUs, total, [p50Us, p90Us, p95Us, p99Us, p999Us]);
}

function finished(
  bucket: Micros | null,
  stage: string | null,
  count: number,
  minUs: bigint | null,
  maxUs: bigint | null,
  total: number,
  [p50Us, p90Us, p95Us, p99Us, p999Us]: (number | null | undefined)[],
): LatencyStatsRow {
  return {
    bucket,
    groupValues: [stage],
    stage,
    count,
    minUs,
    maxUs,
    meanUs: count > 0 ? total / count : null,
    p50Us: p50Us ?? null,
    p90Us: p90Us ?? null,
    p95Us: p95Us ?? null,
    p99Us: p99Us ?? null,
    p999Us: p999Us ?? null,
  };
}

/**
 * A bucket reduced in QuestDB: the bins holding each percentile's nearest rank (the same rank
 * and the same value of the bin as percentilesFromBins), and the bucket's figures.
 */
function rowFromRanked(bucket: Micros | null, stage: string | null, rows: readonly RankedRow[]): LatencyStatsRow {
  const first = rows[0] as RankedRow;
  const count = Number(first.cnt);
  const values = PER_MILLES.map((perMille) => {
    const rank = nearestRank(perMille, count);
    const bin = rows.find((row) => (row.upto as number) >= rank && (row.upto as number) - Number(row.n) < rank);
    if (!bin) return null;
    return bin.lo === bin.hi ? Number(bin.lo) : (Number(bin.lo) + Number(bin.hi)) / 2;
  });
  return finished(bucket, stage, count, first.all_lo, first.all_hi, Number(first.all_total), values);
}

/** A stage is 1–64 printable characters: "\u0000" cannot occur in one (it stands for none). */
const keyOf = (bucket: Micros | null, stage: string | null) => `${bucket}\u0000${stage ?? "\u0000"}`;

/** What one segment gives: buckets it holds whole, reduced; bins of buckets other segments share. */
interface SegmentPart {
  rows: LatencyStatsRow[];
  bins: BinRow[];
}

const rankCondition = (perMille: number) => {
  const rank = `floor((${perMille}.0 * cnt + 999) / 1000)`;
  return `(upto >= ${rank} AND upto - n < ${rank})`;
};

/**
 * The segment's statement: its bins per (bucket,) stage; bucketed, the buckets the segment holds
 * whole are reduced in QuestDB to the bins that hold a percentile (windows over the bins in bin
 * order), so a month of hours comes back as a few rows per hour and stage. `cut`: starts of the
 * buckets the segment shares with others (at most two), whose bins all come back.
 */
function segmentStatement(
  source: RollupSource,
  args: LatencyStatsArgs,
  segment: Segment,
  bucketed: boolean,
  cut: Micros[],
) {
  const params: unknown[] = rangeParams(segment.range);
  let where = "timestamp >= $1 AND timestamp < $2";
  if (args.stage !== null) {
    params.push(args.stage);
    where += ` AND stage = $${params.length}`;
  }
  if (args.strategy != null) {
    params.push(args.strategy);
    where += ` AND strategy = $${params.length}`;
  }
  const head = bucketed ? "timestamp, " : "";
  const select = segment.fromView
    ? `${head}stage, k, ${MEASURES.map((m) => `${m.merge}(${m.alias}) ${m.alias}`).join(", ")} FROM ${source.view}`
    : `${head}stage, ${LATENCY_BIN} k, ${MEASURES.map((m) => `${m.sql} ${m.alias}`).join(", ")} FROM ${source.table}`;
  const bins = `SELECT ${select} WHERE ${where}${bucketed && args.bucket ? ` ${sampleBy(args.bucket)}` : ""}`;
  const name = `latencyStats.${bucketed ? "buckets" : "totals"}.${segment.fromView ? "view" : "raw"}`;
  if (!bucketed) return { name, sql: bins, params };
  const over = "OVER (PARTITION BY timestamp, stage)";
  const cuts = cut.map((start) => {
    params.push(formatIsoMicros(start));
    return `$${params.length}`;
  });
  const sql = [
    `WITH b AS (${bins}), c AS (SELECT timestamp, stage, k, n, lo, hi, total,`,
    "sum(n) OVER (PARTITION BY timestamp, stage ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) upto,",
    `sum(n) ${over} cnt, min(lo) ${over} all_lo, max(hi) ${over} all_hi, sum(total) ${over} all_total FROM b)`,
    "SELECT timestamp, stage, k, n, lo, hi, total, upto, cnt, all_lo, all_hi, all_total FROM c WHERE",
    [...(cuts.length > 0 ? [`timestamp IN (${cuts.join(", ")})`] : []), ...PER_MILLES.map(rankCondition)].join(" OR "),
  ].join(" ");
  return { name, sql, params };
}

/** Starts of the buckets whose part of `range` is not all inside `segment`. */
function cutBuckets(range: TimeRange, segment: Segment, bucket: TimeBucket): Micros[] {
  const cut: Micros[] = [];
  const { from, to } = segment.range;
  if (from > range.from && bucketStart(from, bucket) !== from) cut.push(bucketStart(from, bucket));
  const last = bucketStart(to - 1n, bucket);
  if (to < range.to && nextBucket(last, bucket) !== to && !cut.includes(last)) cut.push(last);
  return cut;
}

function partOf(
  rows: readonly RankedRow[] | readonly BinRow[],
  bucketed: boolean,
  cut: readonly Micros[],
): SegmentPart {
  const part: SegmentPart = { rows: [], bins: [] };
  const reduced = new Map<string, { bucket: Micros | null; stage: string | null; rows: RankedRow[] }>();
  for (const row of rows) {
    const bucket = bucketed ? (row.timestamp ?? null) : null;
    if (!bucketed || (bucket !== null && cut.includes(bucket))) {
      part.bins.push(row);
      continue;
    }
    const key = keyOf(bucket, row.stage);
    const group = reduced.get(key) ?? { bucket, stage: row.stage, rows: [] };
    group.rows.push(row as RankedRow);
    reduced.set(key, group);
  }
  for (const group of reduced.values()) part.rows.push(rowFromRanked(group.bucket, group.stage, group.rows));
  return part;
}

/** A segment's part as read (cached: the same object while nothing touched its range). */
interface ReadPart {
  range: TimeRange;
  part: SegmentPart;
  /** Its buckets lie wholly inside it and come reduced (no bins shared with a neighbour). */
  whole: boolean;
}

/**
 * Every segment of the range (analytics/rollup.ts) read in time order, at most two statements at
 * a time: buckets held whole by one segment come reduced (`parts`), the bins of the others
 * (totals, and buckets cut by a segment's edge) are merged per bin and reduced here (`shared`).
 * Memory: the answer's rows and, per shared bucket and stage, one entry per bin.
 */
async function readParts(
  reads: QueryReader,
  source: RollupSource,
  args: LatencyStatsArgs,
  bucketed: boolean,
  max: number,
): Promise<{ parts: ReadPart[]; shared: LatencyStatsRow[] }> {
  const bucket = bucketed ? args.bucket : null;
  const coverage = source.view ? await source.coverage(reads) : null;
  const segments = planSegments(args.range, bucket, coverage);
  const parts: ReadPart[] = [];
  let reduced = 0;
  const shared = new Map<string, { bucket: Micros | null; stage: string | null; bins: Map<string, BinRow> }>();
  await forEachInOrder(
    segments,
    2,
    async (segment) => {
      const cut = bucket ? cutBuckets(args.range, segment, bucket) : [];
      const part = await reads.read<RankedRow, SegmentPart | null>({
        statement: limited(segmentStatement(source, args, segment, bucketed, cut), max + 1),
        tables: [source.table],
        range: segment.range,
        map: unlessOver(max, (found) => partOf(found, bucketed, cut)),
      });
      if (!part) throw tooManyRows(max);
      const whole = bucket !== null && part.bins.length === 0 && wholeBuckets(segment.range, bucket);
      return { range: segment.range, part, whole };
    },
    (read) => {
      parts.push(read);
      reduced += read.part.rows.length;
      for (const bin of read.part.bins) {
        const b = bucketed ? (bin.timestamp ?? null) : null;
        const key = keyOf(b, bin.stage);
        let group = shared.get(key);
        if (!group) {
          group = { bucket: b, stage: bin.stage, bins: new Map() };
          shared.set(key, group);
        }
        const k = String(bin.k);
        const into = group.bins.get(k);
        if (!into) group.bins.set(k, { ...bin });
        else {
          into.n = BigInt(into.n) + BigInt(bin.n);
          into.total = Number(into.total) + Number(bin.total);
          if (bin.lo < into.lo) into.lo = bin.lo;
          if (bin.hi > into.hi) into.hi = bin.hi;
        }
      }
      if (reduced + shared.size > max) throw tooManyRows(max);
    },
  );
  return {
    parts,
    shared: [...shared.values()].map((group) => rowFromBins(group.bucket, group.stage, [...group.bins.values()])),
  };
}

/** One row per stage with measurements in the range (a stage filter without data: []). */
export async function latencyStatsTotals(
  reads: QueryReader,
  source: RollupSource,
  args: LatencyStatsArgs,
  max: number,
): Promise<LatencyStatsRow[]> {
  checkRange(args.range, null);
  const { parts, shared } = await readParts(reads, source, args, false, max);
  const totals = [...parts.flatMap((read) => read.part.rows), ...shared];
  checkResultRows(max, totals.length);
  return sortByGroup(totals);
}

/**
 * One row per bucket and stage, empty buckets included, in pieces (analytics/series-pieces.ts: a
 * segment of whole buckets is a piece whose JSON text may be kept); [] when no bucket was asked
 * for. `reuse`: the name under which the caller's selection keeps the texts (none: rows only).
 */
export async function latencyStatsSeries(
  reads: QueryReader,
  source: RollupSource,
  args: LatencyStatsArgs,
  max: number,
  reuse?: string,
): Promise<SeriesPiece<LatencyStatsRow>[]> {
  const starts = checkRange(args.range, args.bucket);
  const bucket = args.bucket;
  if (!bucket) return [];
  checkResultRows(max, starts.length);
  const { parts, shared } = await readParts(reads, source, args, true, max);
  const stages = new Map<string, GroupValues>();
  for (const row of [...parts.flatMap((read) => read.part.rows), ...shared]) {
    stages.set(groupKey(row.groupValues), row.groupValues);
  }
  checkResultRows(max, starts.length * Math.max(1, stages.size));
  // Runs that share no bucket: a new one wherever a part starts on a bucket boundary.
  const runs: { from: Micros; to: Micros; parts: ReadPart[]; shared: LatencyStatsRow[] }[] = [];
  for (const read of parts) {
    const last = runs.at(-1);
    if (last && bucketStart(read.range.from, bucket) !== read.range.from) {
      last.parts.push(read);
      last.to = read.range.to;
    } else runs.push({ from: read.range.from, to: read.range.to, parts: [read], shared: [] });
  }
  for (const row of shared) {
    const at = (row.bucket as Micros) < args.range.from ? args.range.from : (row.bucket as Micros);
    (runs.find((run) => run.from <= at && at < run.to) ?? runs.at(-1))?.shared.push(row);
  }
  return assemble(
    runs.map((run) => {
      const only = run.parts.length === 1 && run.shared.length === 0 ? run.parts[0] : undefined;
      return {
        to: run.to,
        ...(only?.whole ? { base: only.part } : {}),
        found: () => [...run.parts.flatMap((read) => read.part.rows), ...run.shared],
      };
    }),
    {
      starts,
      groups: [...stages.values()].sort(compareGroups),
      empty: (start, values) => rowFromBins(start, values[0] ?? null, []),
      ...(reuse ? { reuse: { reads, key: reuse } } : {}),
    },
  );
}

/** latencyStatsSeries' rows, every piece built (no text). */
export async function latencyStatsBuckets(
  reads: QueryReader,
  source: RollupSource,
  args: LatencyStatsArgs,
  max: number,
): Promise<LatencyStatsRow[]> {
  return seriesRows(await latencyStatsSeries(reads, source, args, max));
}
