// tradeStats: per calendar bucket (UTC) and group, the trade count, volumes, VWAP, price range,
// fee totals and slippage figures. One aggregate statement (parallel GROUP BY / SAMPLE BY) for the
// figures; the p95 slippage comes from a second, slippage-histogram statement that runs only when
// a client asks for it (docs/queries.md).

import { TRADE_MEASURES } from "../questdb/views.ts";
import type { Micros } from "../time.ts";
import { checkResultRows, limited, runsUnder, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { type Bin, percentilesFromBins, SLIPPAGE_BIN_SQL, sortBins } from "./histogram.ts";
import { bucketRunRange, checkRange, rangeParams, sampleBy, type TimeBucket, type TimeRange } from "./range.ts";
import {
  forEachInOrder,
  piecesFor,
  type RollupPart,
  type RollupSource,
  readInPieces,
  readRollup,
  readRollupParts,
  totalsOfParts,
} from "./rollup.ts";
import { compareGroups, type GroupValues, groupKey, sortByGroup } from "./series.ts";
import { type SeriesPiece, seriesGroups, seriesPieces, seriesRows } from "./series-pieces.ts";

export const TRADE_GROUP_KEYS = ["PAIR", "STRATEGY", "ACTION", "MEV_STATUS", "VENUE"] as const;
export type TradeGroupKey = (typeof TRADE_GROUP_KEYS)[number];

/** Group key → the columns it groups by (a closed set). */
const GROUP_COLUMNS: Readonly<Record<TradeGroupKey, readonly TradeGroupColumn[]>> = {
  PAIR: ["base_token", "quote_token"],
  STRATEGY: ["strategy"],
  ACTION: ["action"],
  MEV_STATUS: ["mev_status"],
  VENUE: ["venue"],
};
type TradeGroupColumn = "base_token" | "quote_token" | "strategy" | "action" | "mev_status" | "venue";

export interface TradeGroup {
  baseToken: string | null;
  quoteToken: string | null;
  strategy: string | null;
  action: string | null;
  mevStatus: string | null;
  venue: string | null;
}

export interface TradeStatsArgs {
  range: TimeRange;
  bucket: TimeBucket | null;
  groupBy: readonly TradeGroupKey[];
}

export interface TradeStatsRow {
  /** Bucket start; null for totals over the whole range. */
  bucket: Micros | null;
  groupValues: GroupValues;
  group: TradeGroup;
  trades: number;
  baseVolume: number;
  quoteVolume: number;
  /** Σ(price × base amount) / Σ base amount. */
  vwap: number | null;
  minPrice: number | null;
  maxPrice: number | null;
  firstPrice: number | null;
  lastPrice: number | null;
  transactionFees: bigint;
  priorityFees: bigint;
  transferFees: number;
  meanSlippage: number | null;
  meanSlippageError: number | null;
  overExpectedSlippageShare: number | null;
}

interface AggregateRow {
  timestamp?: bigint;
  base_token?: string | null;
  quote_token?: string | null;
  strategy?: string | null;
  action?: string | null;
  mev_status?: string | null;
  venue?: string | null;
  trades: bigint;
  base_volume: number | null;
  quote_volume: number | null;
  notional: number | null;
  min_price: number | null;
  max_price: number | null;
  first_price: number | null;
  last_price: number | null;
  transaction_fees: bigint | null;
  priority_fees: bigint | null;
  transfer_fees: number | null;
  slippage_sum: number | null;
  slippage_error_sum: number | null;
  over_expected: bigint | null;
}

/** Group keys in canonical order without repeats, so equal requests share cache entries. */
export function normalizeGroupBy(groupBy: readonly TradeGroupKey[] | null | undefined): TradeGroupKey[] {
  return TRADE_GROUP_KEYS.filter((key) => groupBy?.includes(key));
}

function groupColumns(groupBy: readonly TradeGroupKey[]): TradeGroupColumn[] {
  return groupBy.flatMap((key) => GROUP_COLUMNS[key]);
}

function groupOf(columns: readonly TradeGroupColumn[], values: GroupValues): TradeGroup {
  const at = (column: TradeGroupColumn) => {
    const index = columns.indexOf(column);
    return index < 0 ? null : (values[index] ?? null);
  };
  return {
    baseToken: at("base_token"),
    quoteToken: at("quote_token"),
    strategy: at("strategy"),
    action: at("action"),
    mevStatus: at("mev_status"),
    venue: at("venue"),
  };
}

/** The view's measures tradeStats reads (questdb/views.ts), by their aliases in AggregateRow. */
const MEASURES = TRADE_MEASURES.filter((measure) =>
  [
    "trades",
    "base_volume",
    "quote_volume",
    "notional",
    "min_price",
    "max_price",
    "first_at",
    "last_at",
    "first_price",
    "last_price",
    "transaction_fees",
    "priority_fees",
    "transfer_fees",
    "slippage_sum",
    "slippage_error_sum",
    "over_expected",
  ].includes(measure.alias),
);

/** The rollup read of totals (bucket null) or of the bucketed series. */
const rollupQuery = (source: RollupSource, args: TradeStatsArgs, bucketed: boolean, max: number) => ({
  name: bucketed ? "tradeStats.buckets" : "tradeStats.totals",
  source,
  keys: groupColumns(args.groupBy),
  measures: MEASURES,
  bucket: bucketed ? args.bucket : null,
  max,
});

/** The statement for totals (bucket null) or for the bucketed series. */
function statement(table: string, args: TradeStatsArgs, bucketed: boolean, select: string, name: string) {
  const columns = groupColumns(args.groupBy);
  const keys = [...(bucketed ? ["timestamp"] : []), ...columns];
  const sql =
    `SELECT ${[...keys, select].join(", ")} FROM ${table} WHERE timestamp >= $1 AND timestamp < $2` +
    (bucketed && args.bucket ? ` ${sampleBy(args.bucket)}` : "");
  return { name, sql, params: rangeParams(args.range) };
}

function toRow(row: AggregateRow, columns: readonly TradeGroupColumn[], bucket: Micros | null): TradeStatsRow {
  const groupValues = columns.map((column) => row[column] ?? null);
  const trades = Number(row.trades);
  const baseVolume = row.base_volume ?? 0;
  return {
    bucket,
    groupValues,
    group: groupOf(columns, groupValues),
    trades,
    baseVolume,
    quoteVolume: row.quote_volume ?? 0,
    vwap: baseVolume !== 0 && row.notional !== null ? row.notional / baseVolume : null,
    minPrice: row.min_price,
    maxPrice: row.max_price,
    firstPrice: trades > 0 ? row.first_price : null,
    lastPrice: trades > 0 ? row.last_price : null,
    transactionFees: row.transaction_fees ?? 0n,
    priorityFees: row.priority_fees ?? 0n,
    transferFees: row.transfer_fees ?? 0,
    meanSlippage: trades > 0 && row.slippage_sum !== null ? row.slippage_sum / trades : null,
    meanSlippageError: trades > 0 && row.slippage_error_sum !== null ? row.slippage_error_sum / trades : null,
    overExpectedSlippageShare: trades > 0 ? Number(row.over_expected ?? 0n) / trades : null,
  };
}

function emptyRow(columns: readonly TradeGroupColumn[], bucket: Micros, groupValues: GroupValues): TradeStatsRow {
  return toRow(
    {
      trades: 0n,
      base_volume: null,
      quote_volume: null,
      notional: null,
      min_price: null,
      max_price: null,
      first_price: null,
      last_price: null,
      transaction_fees: null,
      priority_fees: null,
      transfer_fees: null,
      slippage_sum: null,
      slippage_error_sum: null,
      over_expected: null,
      ...Object.fromEntries(columns.map((column, i) => [column, groupValues[i] ?? null])),
    },
    columns,
    bucket,
  );
}

/**
 * One row per group with trades in the range, ungrouped too (an aggregate without GROUP BY
 * answers one row of 0 trades for an empty range: left out, so empty is [] either way). Read with
 * LIMIT max + 1: more groups than MAX_RESULT_ROWS are refused without being read. `bucketed`: the
 * request's bucketed parts (tradeStatsPartials), when it asks for the buckets too: the totals are
 * their fold (each closed part's fold made once, rollup.ts totalsOfParts), without statements of
 * their own (if they could not be read, the totals are read on their own).
 */
export async function tradeStatsTotals(
  reads: QueryReader,
  source: RollupSource,
  args: TradeStatsArgs,
  max: number,
  bucketed?: Promise<RollupPart[]>,
): Promise<TradeStatsRow[]> {
  checkRange(args.range, null);
  const columns = groupColumns(args.groupBy);
  const query = rollupQuery(source, args, false, max);
  const parts = await bucketed?.catch(() => undefined);
  const rows = parts ? totalsOfParts(parts, query) : await readRollup(reads, query, args.range);
  return sortByGroup(
    rows.map((row) => toRow(row as unknown as AggregateRow, columns, null)).filter((row) => row.trades > 0),
  );
}

/** The bucketed parts of a range (readRollupParts), for tradeStatsBuckets and tradeStatsTotals. */
export function tradeStatsPartials(
  reads: QueryReader,
  source: RollupSource,
  args: TradeStatsArgs,
  max: number,
): Promise<RollupPart[]> {
  return readRollupParts(reads, rollupQuery(source, args, true, max), args.range);
}

/**
 * One row per bucket and group, empty buckets included, in pieces (analytics/series-pieces.ts);
 * [] when no bucket was asked for. QuestDB returns the non-empty (bucket, group) rows, read with
 * LIMIT max + 1; the groups among them are every group of the range, so buckets × groups is the
 * answer's size, refused over `max` before the series is built. `reuse`: the name under which the
 * caller's selection keeps the pieces' JSON text (none: every piece comes as rows).
 */
export async function tradeStatsSeries(
  reads: QueryReader,
  source: RollupSource,
  args: TradeStatsArgs,
  max: number,
  bucketed?: Promise<RollupPart[]>,
  reuse?: string,
): Promise<SeriesPiece<TradeStatsRow>[]> {
  const starts = checkRange(args.range, args.bucket);
  const bucket = args.bucket;
  if (!bucket) return [];
  checkResultRows(max, starts.length);
  const columns = groupColumns(args.groupBy);
  const query = rollupQuery(source, args, true, max);
  const parts = await (bucketed ?? tradeStatsPartials(reads, source, args, max));
  const groups = seriesGroups(parts, query.keys);
  checkResultRows(max, starts.length * Math.max(1, groups.length));
  return seriesPieces(parts, {
    query,
    groups,
    bucket,
    starts,
    toRow: (row) => toRow(row as unknown as AggregateRow, columns, row.timestamp ?? null),
    empty: (at, values) => emptyRow(columns, at, values),
    ...(reuse ? { reuse: { reads, key: reuse } } : {}),
  });
}

/** tradeStatsSeries' rows, every piece built (no text). */
export async function tradeStatsBuckets(
  reads: QueryReader,
  source: RollupSource,
  args: TradeStatsArgs,
  max: number,
  bucketed?: Promise<RollupPart[]>,
): Promise<TradeStatsRow[]> {
  return seriesRows(await tradeStatsSeries(reads, source, args, max, bucketed));
}

interface SlippageBinRow {
  timestamp?: bigint;
  k: number | null;
  n: bigint;
  lo: number;
  hi: number;
  [column: string]: unknown;
}

const SLIPPAGE_SELECT = `${SLIPPAGE_BIN_SQL} k, count() n, min(actual_slippage) lo, max(actual_slippage) hi`;

/** Bins from slippage bin rows, per (bucket, group) key. */
function slippageBins(rows: readonly SlippageBinRow[], columns: readonly TradeGroupColumn[], bucketed: boolean) {
  const bins = new Map<string, Bin[]>();
  for (const row of rows) {
    const values = columns.map((column) => (row[column] as string | null | undefined) ?? null);
    const key = slippageKey(bucketed ? (row.timestamp ?? null) : null, values);
    const list = bins.get(key) ?? [];
    list.push({ key: row.k, count: Number(row.n), min: row.lo, max: row.hi });
    bins.set(key, list);
  }
  const p95 = new Map<string, number | null>();
  for (const [key, list] of bins) p95.set(key, percentilesFromBins(sortBins(list), [950])[0] ?? null);
  return p95;
}

/** Upper bound of the 1-bp bins a (bucket, group) holds: its trades, its slippage span, and the NULL bin. */
function slippageBinsBound(row: { n: bigint; lo: number | null; hi: number | null }): number {
  const span = row.lo === null || row.hi === null ? 0 : Math.floor(row.hi * 10000) - Math.floor(row.lo * 10000) + 2;
  return Math.min(Number(row.n), span + 1);
}

/**
 * p95 of actual slippage per (bucket, group) key: `${bucket}|${groupKey}` (bucket "null" for
 * totals). The bins come in one statement read with LIMIT max + 1; bucketed, when there are more,
 * a plan (trades and slippage span per non-empty bucket and group) bounds the bins of each bucket
 * and they are read over runs of whole buckets holding at most `max` bins each; buckets up to a
 * day are read in pieces of the range (rollup.ts, readInPieces). Totals' bins are at most the
 * groups × the distinct basis points of the range; over more than two days they are read a day at
 * a time and merged.
 */
export async function tradeSlippageP95(
  cache: QueryReader,
  table: string,
  args: TradeStatsArgs,
  bucketed: boolean,
  max: number,
): Promise<Map<string, number | null>> {
  const columns = groupColumns(args.groupBy);
  const name = bucketed ? "tradeStats.p95.buckets" : "tradeStats.p95.totals";
  const bins = (range: TimeRange, limit: boolean, run = false) => {
    const s = statement(table, { ...args, range }, bucketed, SLIPPAGE_SELECT, run ? `${name}.run` : name);
    return limit ? limited(s, max + 1) : s;
  };
  const bucket = args.bucket;
  if (!bucketed || !bucket) {
    // Totals: a 1-bp bin's count, min and max merge exactly, so the bins are read a UTC day at a
    // time over more than two days (each day cached with its own range: a write into today
    // re-reads today, not the month) and merged per group and bin; at most the bins one statement
    // over the range would bring.
    const merged = new Map<string, Map<number | null, Bin>>();
    await forEachInOrder(
      piecesFor(args.range, "DAY"),
      2,
      (range) =>
        cache.read<SlippageBinRow, SlippageBinRow[]>({
          statement: bins(range, false),
          tables: [table],
          range,
          map: (rows) => rows,
        }),
      (rows) => {
        for (const row of rows) {
          const key = slippageKey(
            null,
            columns.map((column) => (row[column] as string | null | undefined) ?? null),
          );
          let group = merged.get(key);
          if (!group) {
            group = new Map();
            merged.set(key, group);
          }
          const into = group.get(row.k);
          if (!into) group.set(row.k, { key: row.k, count: Number(row.n), min: row.lo, max: row.hi });
          else {
            into.count += Number(row.n);
            if (row.lo < into.min) into.min = row.lo;
            if (row.hi > into.max) into.max = row.hi;
          }
        }
      },
    );
    const p95 = new Map<string, number | null>();
    for (const [key, group] of merged)
      p95.set(key, percentilesFromBins(sortBins([...group.values()]), [950])[0] ?? null);
    return p95;
  }
  /** Bins too many for one statement: a plan bounds each bucket's, read in runs of whole buckets. */
  const slippageP95InRuns = async (part: TimeRange): Promise<Map<string, number | null>> => {
    const plan = await cache.read<
      { timestamp: bigint; n: bigint; lo: number | null; hi: number | null },
      Map<bigint, number> | null
    >({
      statement: limited(
        statement(
          table,
          { ...args, range: part },
          true,
          "count() n, min(actual_slippage) lo, max(actual_slippage) hi",
          "tradeStats.p95.plan",
        ),
        max + 1,
      ),
      tables: [table],
      range: part,
      map: unlessOver(max, (rows) => {
        const weights = new Map<bigint, number>();
        for (const row of rows) weights.set(row.timestamp, (weights.get(row.timestamp) ?? 0) + slippageBinsBound(row));
        return weights;
      }),
    });
    if (!plan) throw tooManyRows(max);
    const p95 = new Map<string, number | null>();
    for (const run of runsUnder(checkRange(part, bucket), (start) => plan.get(start) ?? 0, max)) {
      const range = bucketRunRange(run, bucket, part);
      const found = await cache.read<SlippageBinRow, Map<string, number | null>>({
        statement: bins(range, false, true),
        tables: [table],
        range,
        map: (rows) => slippageBins(rows, columns, true),
      });
      for (const [key, value] of found) p95.set(key, value);
    }
    return p95;
  };
  return readInPieces(piecesFor(args.range, bucket), max, async (part) => {
    const whole = await cache.read<SlippageBinRow, Map<string, number | null> | null>({
      statement: bins(part, true),
      tables: [table],
      range: part,
      map: unlessOver(max, (rows) => slippageBins(rows, columns, true)),
    });
    return whole ?? (await slippageP95InRuns(part));
  });
}

export const slippageKey = (bucket: Micros | null, values: GroupValues) => `${bucket}|${groupKey(values)}`;

/** An amount in one currency: a quote token (null: trades without one, which cannot happen today). */
export interface CurrencyAmount {
  token: string | null;
  amount: number;
}

interface TransferFeeRow {
  timestamp?: bigint;
  currency: string | null;
  transfer_fees: number | null;
  [column: string]: unknown;
}

/**
 * Σ transfer fees per (bucket, group) key and quote token, tokens in name order (issue 16,
 * point 4): transfer fees are in the quote token's units, so fees of different quote tokens are
 * never added. A statement of its own (the quote token as one more key), only when selected, a
 * piece of the range at a time for buckets up to a day (rollup.ts, readInPieces); read with LIMIT max + 1, as
 * its rows are the answer's rows × the quote tokens.
 */
export async function tradeTransferFeesByCurrency(
  cache: QueryReader,
  table: string,
  args: TradeStatsArgs,
  bucketed: boolean,
  max: number,
): Promise<Map<string, CurrencyAmount[]>> {
  const columns = groupColumns(args.groupBy);
  const name = bucketed ? "tradeStats.transferFees.buckets" : "tradeStats.transferFees.totals";
  // The alias keeps the quote token apart from the PAIR group column of the same name.
  const select = "quote_token currency, sum(transfer_fees) transfer_fees";
  return readInPieces(
    piecesFor(args.range, bucketed ? args.bucket : null),
    max,
    (range) =>
      cache.read<TransferFeeRow, Map<string, CurrencyAmount[]> | null>({
        statement: limited(statement(table, { ...args, range }, bucketed, select, name), max + 1),
        tables: [table],
        range,
        map: unlessOver(max, (rows) => {
          const byKey = new Map<string, CurrencyAmount[]>();
          for (const row of rows) {
            const values = columns.map((column) => (row[column] as string | null | undefined) ?? null);
            const key = slippageKey(bucketed ? (row.timestamp ?? null) : null, values);
            const list = byKey.get(key) ?? [];
            list.push({ token: row.currency, amount: row.transfer_fees ?? 0 });
            byKey.set(key, list);
          }
          for (const list of byKey.values()) list.sort((a, b) => compareGroups([a.token], [b.token]));
          return byKey;
        }),
      }),
    { rows: (list) => list.length },
  );
}
