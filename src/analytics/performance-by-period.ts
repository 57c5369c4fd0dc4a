// performanceByPeriod (issue 16, point 6): strategyPerformance's trade and PnL figures per
// calendar day, week (Monday 00:00 UTC) or month (the 1st, UTC), of one strategy, one API key's
// trades, or all. One SAMPLE BY statement; the series is complete (periods without trades are
// rows with zeros), as tradeStats.buckets. docs/queries.md ("performanceByPeriod").
import { LimitError } from "../errors.ts";
import type { Micros } from "../time.ts";
import { tooManyRows } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, nextBucket, type TimeBucket, type TimeRange } from "./range.ts";
import type { RollupSource } from "./rollup.ts";
import { fillSeries } from "./series.ts";
import { idleRow, readPerformance, type StrategyPerformance, toPerformance } from "./strategy-performance.ts";

export const PERIOD_BUCKETS = ["DAY", "WEEK", "MONTH"] as const satisfies readonly TimeBucket[];
export type PeriodBucket = (typeof PERIOD_BUCKETS)[number];

export interface PerformanceByPeriodArgs {
  range: TimeRange;
  bucket: PeriodBucket;
  strategy: string | null;
  writer: string | null;
}

export interface PeriodPerformance {
  /** The calendar period's start (UTC), also when the range starts inside it. */
  bucket: Micros;
  /** The next period's start (exclusive end of this one). */
  end: Micros;
  perf: StrategyPerformance;
  /** Σ realized PnL of this period and every earlier period of the range. */
  cumulativePnl: number;
}

const PERIODS = "The answer's rows (periods)";
const PERIOD_HINT = "choose a larger bucket or a shorter range";

/**
 * One row per period of the range, in order, empty periods included, when the range has trades;
 * [] when it has none (docs/queries.md, "No data, no row"). Refused over MAX_RESULT_ROWS periods
 * before any SQL; QuestDB returns the non-empty ones (at most that many).
 */
export async function performanceByPeriod(
  reads: QueryReader,
  source: RollupSource,
  args: PerformanceByPeriodArgs,
  max: number,
): Promise<PeriodPerformance[]> {
  const starts = checkRange(args.range, args.bucket);
  if (starts.length > max) throw new LimitError("MAX_RESULT_ROWS", max, starts.length, PERIODS, { hint: PERIOD_HINT });
  type Found = { bucket: Micros; groupValues: []; perf: StrategyPerformance };
  const rows = await readPerformance(reads, source, args, [], args.bucket, "performanceByPeriod", max, () =>
    tooManyRows(max, PERIODS, PERIOD_HINT),
  );
  const found: Found[] = rows.map((row) => ({
    bucket: row.timestamp as Micros,
    groupValues: [],
    perf: toPerformance(row, []),
  }));
  const series = fillSeries<Found>(found, starts, (bucket) => ({
    bucket,
    groupValues: [],
    perf: idleRow([], []),
  }));
  let cumulativePnl = 0;
  return series.map(({ bucket, perf }) => {
    cumulativePnl += perf.realizedPnl;
    return { bucket, end: nextBucket(bucket, args.bucket), perf, cumulativePnl };
  });
}
