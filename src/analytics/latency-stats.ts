// latencyStats: count, min, mean, max and the p50/p90/p95/p99/p99.9 percentiles of latency_us per
// stage, over the range and per calendar bucket. One statement builds a log-binned histogram per
// (bucket,) stage with an ordinary parallel GROUP BY; count, min, max and the sum (so the mean)
// are exact because every bin carries them, the percentiles come from the bins (histogram.ts).
import type { Micros } from "../time.ts";
import type { QueryReader } from "./cache.ts";
import { type Bin, LATENCY_BIN_SQL, PERCENTILES, percentilesFromBins, sortBins } from "./histogram.ts";
import { checkRange, rangeParams, sampleBy, type TimeBucket, type TimeRange } from "./range.ts";
import { fillSeries, sortByGroup } from "./series.ts";

export interface LatencyStatsArgs {
  range: TimeRange;
  stage: string | null;
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
  total: bigint;
}

const SELECT = `stage, ${LATENCY_BIN_SQL} k, count() n, min(latency_us) lo, max(latency_us) hi, sum(latency_us) total`;
const PER_MILLES = Object.values(PERCENTILES);

function statement(table: string, args: LatencyStatsArgs, bucketed: boolean) {
  const params: unknown[] = rangeParams(args.range);
  let where = "timestamp >= $1 AND timestamp < $2";
  if (args.stage !== null) {
    params.push(args.stage);
    where += " AND stage = $3";
  }
  const sql =
    `SELECT ${bucketed ? "timestamp, " : ""}${SELECT} FROM ${table} WHERE ${where}` +
    (bucketed && args.bucket ? ` ${sampleBy(args.bucket)}` : "");
  return { name: bucketed ? "latencyStats.buckets" : "latencyStats.totals", sql, params };
}

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

/** Bin rows → one row per (bucket, stage). */
function collect(rows: readonly BinRow[], bucketed: boolean): LatencyStatsRow[] {
  const groups = new Map<string | null, { bucket: Micros | null; stage: string | null; rows: BinRow[] }>();
  for (const row of rows) {
    const bucket = bucketed ? (row.timestamp ?? null) : null;
    // A stage is 1–64 printable characters: "\u0000" cannot occur in one (it stands for none).
    const key = bucketed ? `${bucket}\u0000${row.stage ?? "\u0000"}` : row.stage;
    let group = groups.get(key);
    if (!group) {
      group = { bucket, stage: row.stage, rows: [] };
      groups.set(key, group);
    }
    group.rows.push(row);
  }
  return [...groups.values()].map((g) => rowFromBins(g.bucket, g.stage, g.rows));
}

/** One row per stage over the range (with a stage filter: that stage, even without data). */
export function latencyStatsTotals(
  cache: QueryReader,
  table: string,
  args: LatencyStatsArgs,
): Promise<LatencyStatsRow[]> {
  checkRange(args.range, null);
  return cache.read<BinRow, LatencyStatsRow[]>({
    statement: statement(table, args, false),
    tables: [table],
    map: (rows) => {
      const totals = sortByGroup(collect(rows, false));
      return args.stage !== null && totals.length === 0 ? [rowFromBins(null, args.stage, [])] : totals;
    },
  });
}

/** One row per bucket and stage, empty buckets included; [] when no bucket was asked for. */
export async function latencyStatsBuckets(
  cache: QueryReader,
  table: string,
  args: LatencyStatsArgs,
): Promise<LatencyStatsRow[]> {
  const starts = checkRange(args.range, args.bucket);
  if (!args.bucket) return [];
  return cache.read<BinRow, LatencyStatsRow[]>({
    statement: statement(table, args, true),
    tables: [table],
    map: (rows) => {
      const found = collect(rows, true);
      // With a stage filter the series exists even when the stage has no data at all.
      const seed = args.stage !== null && found.length === 0 ? [rowFromBins(starts[0] ?? null, args.stage, [])] : [];
      return fillSeries([...found, ...seed], starts, true, (bucket, values) =>
        rowFromBins(bucket, values[0] ?? null, []),
      );
    },
  });
}
