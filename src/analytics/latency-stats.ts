// latencyStats: count, min, mean, max and the p50/p90/p95/p99/p99.9 percentiles of latency_us per
// stage, over the range and per calendar bucket. One statement builds a log-binned histogram per
// (bucket,) stage with an ordinary parallel GROUP BY; count, min, max and the sum (so the mean)
// are exact because every bin carries them, the percentiles come from the bins (histogram.ts).
import type { Micros } from "../time.ts";
import { checkResultRows, limited, runsUnder, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { type Bin, LATENCY_BIN_SQL, PERCENTILES, percentilesFromBins, sortBins } from "./histogram.ts";
import { bucketRunRange, checkRange, rangeParams, sampleBy, type TimeBucket, type TimeRange } from "./range.ts";
import { fillSeries, sortByGroup } from "./series.ts";

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
  total: bigint;
}

const SELECT = `stage, ${LATENCY_BIN_SQL} k, count() n, min(latency_us) lo, max(latency_us) hi, sum(latency_us) total`;
const PER_MILLES = Object.values(PERCENTILES);

function statement(table: string, args: LatencyStatsArgs, bucketed: boolean) {
  const params: unknown[] = rangeParams(args.range);
  let where = "timestamp >= $1 AND timestamp < $2";
  if (args.stage !== null) {
    params.push(args.stage);
    where += ` AND stage = $${params.length}`;
  }
  if (args.strategy != null) {
    params.push(args.strategy);
    where += ` AND strategy = $${params.length}`;
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

/** Bins read and merged by one statement of a long chart (runs of whole buckets). */
export const BINS_PER_STATEMENT = 10_000;
/** Bins a bucket is assumed to hold when deciding whether to read a range's bins in one go. */
const LIKELY_BINS_PER_BUCKET = 200;

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

/** Bins one (bucket,) stage may have between latencies lo and hi: one per log bin, the NULL bin of 0 µs, and one for rounding. */
function binsBetween(lo: bigint, hi: bigint): number {
  const k = (us: bigint) => Math.floor(Math.log(Number(us > 0n ? us : 1n)) * 100);
  return k(hi) - k(lo) + 1 + (lo === 0n ? 1 : 0) + 1;
}

interface PlanRow {
  timestamp?: bigint;
  stage: string | null;
  n: bigint;
  lo: bigint;
  hi: bigint;
}

/** At most this many bin rows of the (bucket,) stage: no more than its measurements, nor than its bins. */
const estimate = (row: PlanRow) => Math.min(Number(row.n), binsBetween(row.lo, row.hi));

/**
 * One row per (bucket,) stage with its count and latency range, from which the number of bin rows
 * is bounded: read with LIMIT max + 1 (it has one row per non-empty answer row).
 */
function planStatement(table: string, args: LatencyStatsArgs, bucketed: boolean, max: number) {
  const { sql, params } = statement(table, args, bucketed);
  const select = `${bucketed ? "timestamp, " : ""}${SELECT}`;
  return limited(
    {
      name: bucketed ? "latencyStats.plan.buckets" : "latencyStats.plan.totals",
      sql: sql.replace(
        select,
        `${bucketed ? "timestamp, " : ""}stage, count() n, min(latency_us) lo, max(latency_us) hi`,
      ),
      params,
    },
    max + 1,
  );
}

/**
 * One row per stage with measurements in the range (a stage filter without data: []). The bins
 * of every stage come in one statement read with LIMIT max + 1; when there are more, the stages
 * are read in sets whose bins stay under the bound.
 */
export async function latencyStatsTotals(
  cache: QueryReader,
  table: string,
  args: LatencyStatsArgs,
  max: number,
): Promise<LatencyStatsRow[]> {
  checkRange(args.range, null);
  const finish = (totals: LatencyStatsRow[]) => {
    checkResultRows(max, totals.length);
    sortByGroup(totals);
    return totals;
  };
  const whole = await cache.read<BinRow, LatencyStatsRow[] | null>({
    statement: limited(statement(table, args, false), max + 1),
    tables: [table],
    range: args.range,
    map: unlessOver(max, (rows) => collect(rows, false)),
  });
  if (whole) return finish([...whole]);
  const plan = await cache.read<PlanRow, PlanRow[] | null>({
    statement: planStatement(table, args, false, max),
    tables: [table],
    range: args.range,
    map: unlessOver(max, (rows) => rows),
  });
  if (!plan) throw tooManyRows(max);
  checkResultRows(max, plan.length);
  const found: LatencyStatsRow[] = [];
  for (const run of runsUnder(plan, estimate, max)) {
    const stages = run.map((row) => row.stage);
    found.push(
      ...(await cache.read<BinRow, LatencyStatsRow[]>({
        statement: stageSetStatement(table, args, stages),
        tables: [table],
        range: args.range,
        map: (rows) => collect(rows, false),
      })),
    );
  }
  return finish(found);
}

/** The totals' bins statement for a set of stages (NULL, a stage without a name, included when listed). */
function stageSetStatement(table: string, args: LatencyStatsArgs, stages: readonly (string | null)[]) {
  const { sql, params } = statement(table, { ...args, stage: null }, false);
  const named = stages.filter((stage) => stage !== null);
  const list = named.map((_stage, i) => `$${params.length + 1 + i}`);
  const tests = [
    ...(list.length > 0 ? [`stage IN (${list.join(", ")})`] : []),
    ...(named.length < stages.length ? ["stage IS NULL"] : []),
  ];
  return {
    name: "latencyStats.totals.stages",
    sql: sql.replace("timestamp < $2", `timestamp < $2 AND (${tests.join(" OR ")})`),
    params: [...params, ...named],
  };
}

/**
 * One row per bucket and stage, empty buckets included; [] when no bucket was asked for. The bins
 * of the whole range come in one statement read with LIMIT max + 1; when there are more, a plan
 * (one row per non-empty bucket and stage) bounds the bins of each bucket, and the bins are read
 * over consecutive runs of whole buckets holding at most `max` bins, each run reduced to its
 * answer rows before the next is read.
 */
export async function latencyStatsBuckets(
  cache: QueryReader,
  table: string,
  args: LatencyStatsArgs,
  max: number,
): Promise<LatencyStatsRow[]> {
  const starts = checkRange(args.range, args.bucket);
  const bucket = args.bucket;
  if (!bucket) return [];
  checkResultRows(max, starts.length);
  const finish = (found: LatencyStatsRow[]) => {
    const stages = new Set(found.map((row) => row.stage));
    checkResultRows(max, starts.length * Math.max(1, stages.size));
    return fillSeries(found, starts, (start, values) => rowFromBins(start, values[0] ?? null, []));
  };
  // A bucket of one stage may hold ~2,000 bins (one per 1 % of latency from 1 µs to an hour):
  // when the buckets alone could pass the bound, go straight to the plan instead of reading (and
  // throwing away) `max` bins of a scan over the whole range.
  if (starts.length * LIKELY_BINS_PER_BUCKET <= max) {
    const whole = await cache.read<BinRow, LatencyStatsRow[] | null>({
      statement: limited(statement(table, args, true), max + 1),
      tables: [table],
      range: args.range,
      map: unlessOver(max, (rows) => collect(rows, true)),
    });
    if (whole) return finish(whole);
  }

  const plan = await cache.read<PlanRow, { stages: number; weights: Map<bigint, number> } | null>({
    statement: planStatement(table, args, true, max),
    tables: [table],
    range: args.range,
    map: unlessOver(max, (rows) => {
      const weights = new Map<bigint, number>();
      for (const row of rows) {
        const start = row.timestamp ?? 0n;
        weights.set(start, (weights.get(start) ?? 0) + estimate(row));
      }
      return { stages: new Set(rows.map((row) => row.stage)).size, weights };
    }),
  });
  if (!plan) throw tooManyRows(max);
  checkResultRows(max, starts.length * Math.max(1, plan.stages));
  const found: LatencyStatsRow[] = [];
  // Runs of at most BINS_PER_STATEMENT bins: each is merged in one synchronous step on the event
  // loop every other request shares, so a run is kept to a few milliseconds of work.
  for (const run of runsUnder(starts, (start) => plan.weights.get(start) ?? 0, Math.min(max, BINS_PER_STATEMENT))) {
    const range = bucketRunRange(run, bucket, args.range);
    found.push(
      ...(await cache.read<BinRow, LatencyStatsRow[]>({
        statement: { ...statement(table, { ...args, range }, true), name: "latencyStats.buckets.run" },
        tables: [table],
        range: range,
        map: (rows) => collect(rows, true),
      })),
    );
  }
  return finish(found);
}
