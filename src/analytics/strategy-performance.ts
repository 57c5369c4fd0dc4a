// strategyPerformance: per strategy (or pair, or both, or overall), trades, volume, fees, realized
// PnL and the Freqtrade-style figures over the realized-PnL series (win rate, profit factor,
// expectancy, max drawdown with its timestamps). Definitions and where they differ from
// freqtrade/data/metrics.py: docs/queries.md. The daily figures (Sharpe, Sortino, CAGR, best day,
// streaks) are in strategy-risk.ts.
//
// Two statements: a parallel aggregate for everything but the drawdown, and, only when asked
// for, window functions over the closed trades in (timestamp, trade_id, writer) order for the drawdown.
import { TRADE_MEASURES } from "../questdb/views.ts";
import type { Micros } from "../time.ts";
import { limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, rangeParams, type TimeBucket, type TimeRange } from "./range.ts";
import { type RollupSource, readRollup } from "./rollup.ts";
import { compareGroups, type GroupValues, groupKey } from "./series.ts";

export const PERFORMANCE_GROUP_KEYS = ["STRATEGY", "PAIR"] as const;
export type PerformanceGroupKey = (typeof PERFORMANCE_GROUP_KEYS)[number];

/** Group key → the columns it groups by (a closed set, in this canonical order). */
const GROUP_COLUMNS: Readonly<Record<PerformanceGroupKey, readonly PerformanceColumn[]>> = {
  STRATEGY: ["strategy"],
  PAIR: ["base_token", "quote_token"],
};
export type PerformanceColumn = "strategy" | "base_token" | "quote_token";

export interface StrategyPerformanceArgs {
  range: TimeRange;
  strategy: string | null;
  /** Only the trades this API key recorded; null: every key's. */
  writer: string | null;
  /** Canonical order (normalizePerformanceGroupBy); [] is one row over everything. */
  groupBy: readonly PerformanceGroupKey[];
}

export interface PerformanceGroup {
  strategy: string | null;
  baseToken: string | null;
  quoteToken: string | null;
}

export interface StrategyPerformance {
  /** The grouped columns' values, in groupColumns order (the key of the lazy figures' maps). */
  groupValues: GroupValues;
  group: PerformanceGroup;
  trades: number;
  /** Trades with a realized PnL. */
  closedTrades: number;
  baseVolume: number;
  quoteVolume: number;
  transactionFees: bigint;
  priorityFees: bigint;
  transferFees: number;
  realizedPnl: number;
  /** Sample standard deviation (n − 1) of the closed trades' PnL, for SQN; null under 2 closed trades. */
  pnlStdDev: number | null;
  wins: number;
  losses: number;
  grossProfit: number;
  /** Σ |PnL| of losing trades (positive). */
  grossLoss: number;
}

export interface Drawdown {
  /** Largest fall of cumulative PnL below its running peak (the peak floored at 0). */
  maxDrawdown: number;
  /** The running peak at that point, for the relative drawdown. */
  peak: number;
  /** The first closed trade whose cumulative PnL reached the peak; null when the peak is the start (0). */
  peakAt: Micros | null;
  /** The closed trade at the bottom (the first with the largest drawdown); null without drawdown. */
  troughAt: Micros | null;
  /** The first closed trade after the trough back at the peak; null when not recovered in the range. */
  recoveredAt: Micros | null;
}

export const NO_DRAWDOWN: Drawdown = { maxDrawdown: 0, peak: 0, peakAt: null, troughAt: null, recoveredAt: null };

export interface AggregateRow {
  strategy?: string | null;
  base_token?: string | null;
  quote_token?: string | null;
  trades: bigint;
  closed: bigint;
  base_volume: number | null;
  quote_volume: number | null;
  transaction_fees: bigint | null;
  priority_fees: bigint | null;
  transfer_fees: number | null;
  pnl: number | null;
  pnl_std: number | null;
  wins: bigint | null;
  losses: bigint | null;
  gross_profit: number | null;
  gross_loss: number | null;
}

const GROUP_HINT = "choose a shorter range or one strategy";
/** The refusal of more groups than MAX_RESULT_ROWS (worded as before groupBy when by strategy). */
export const tooManyGroups = (max: number, groupBy: readonly PerformanceGroupKey[]) =>
  tooManyRows(
    max,
    `The answer's rows (${groupBy.length === 1 && groupBy[0] === "STRATEGY" ? "strategies" : "groups"})`,
    GROUP_HINT,
  );

/** Group keys in canonical order without repeats; absent: by STRATEGY (the query's first form). */
export function normalizePerformanceGroupBy(
  groupBy: readonly PerformanceGroupKey[] | null | undefined,
): PerformanceGroupKey[] {
  if (groupBy == null) return ["STRATEGY"];
  return PERFORMANCE_GROUP_KEYS.filter((key) => groupBy.includes(key));
}

export function groupColumns(groupBy: readonly PerformanceGroupKey[]): PerformanceColumn[] {
  return groupBy.flatMap((key) => GROUP_COLUMNS[key]);
}

/** `PARTITION BY <columns> ` for the window functions, or nothing when not grouped. */
export function partitionBy(columns: readonly PerformanceColumn[], extra: readonly string[] = []): string {
  const all = [...columns, ...extra];
  return all.length > 0 ? `PARTITION BY ${all.join(", ")} ` : "";
}

/** The columns as the head of a SELECT list ("" when not grouped). */
export const selectColumns = (columns: readonly PerformanceColumn[]): string =>
  columns.map((column) => `${column}, `).join("");

export function groupValuesOf(
  row: Partial<Record<PerformanceColumn, string | null>>,
  columns: readonly PerformanceColumn[],
) {
  return columns.map((column) => row[column] ?? null);
}

function groupOf(columns: readonly PerformanceColumn[], values: GroupValues): PerformanceGroup {
  const at = (column: PerformanceColumn) => {
    const index = columns.indexOf(column);
    return index < 0 ? null : (values[index] ?? null);
  };
  return { strategy: at("strategy"), baseToken: at("base_token"), quoteToken: at("quote_token") };
}

/** The WHERE clause (range, strategy, writer), its parameters pushed onto `params` from $1. */
export function where(args: Omit<StrategyPerformanceArgs, "groupBy">, params: unknown[], extra = ""): string {
  params.push(...rangeParams(args.range));
  let sql = `timestamp >= $1 AND timestamp < $2${extra}`;
  if (args.strategy !== null) {
    params.push(args.strategy);
    sql += ` AND strategy = $${params.length}`;
  }
  if (args.writer !== null) {
    params.push(args.writer);
    sql += ` AND writer = $${params.length}`;
  }
  return sql;
}

export function toPerformance(row: AggregateRow, columns: readonly PerformanceColumn[]): StrategyPerformance {
  const groupValues = groupValuesOf(row, columns);
  return {
    groupValues,
    group: groupOf(columns, groupValues),
    trades: Number(row.trades),
    closedTrades: Number(row.closed),
    baseVolume: row.base_volume ?? 0,
    quoteVolume: row.quote_volume ?? 0,
    transactionFees: row.transaction_fees ?? 0n,
    priorityFees: row.priority_fees ?? 0n,
    transferFees: row.transfer_fees ?? 0,
    realizedPnl: row.pnl ?? 0,
    pnlStdDev: row.pnl_std ?? null,
    wins: Number(row.wins ?? 0n),
    losses: Number(row.losses ?? 0n),
    grossProfit: row.gross_profit ?? 0,
    grossLoss: -(row.gross_loss ?? 0),
  };
}

/** A row with no trades (an idle strategy, an empty period). */
export const idleRow = (columns: readonly PerformanceColumn[], values: GroupValues): StrategyPerformance =>
  toPerformance(
    { ...Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null])), trades: 0n, closed: 0n } as AggregateRow,
    columns,
  );

/**
 * One row per group with trades in the range (strategy null: trades without one), grouped or not,
 * a strategy filter included: an empty range answers [] (docs/queries.md, "No data, no row").
 * Read with LIMIT max + 1: more groups than MAX_RESULT_ROWS are refused without being read.
 */
export async function strategyPerformance(
  reads: QueryReader,
  source: RollupSource,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<StrategyPerformance[]> {
  checkRange(args.range, null);
  const columns = groupColumns(args.groupBy);
  const rows = await readPerformance(reads, source, args, columns, null, "strategyPerformance.totals", max, () =>
    tooManyGroups(max, args.groupBy),
  );
  return rows
    .map((row) => toPerformance(row, columns))
    .filter((row) => row.trades > 0)
    .sort((a, b) => compareGroups(a.groupValues, b.groupValues));
}

/** The view's measures of strategyPerformance's figures (questdb/views.ts). */
const MEASURES = TRADE_MEASURES.filter((measure) =>
  [
    "trades",
    "closed",
    "base_volume",
    "quote_volume",
    "transaction_fees",
    "priority_fees",
    "transfer_fees",
    "pnl",
    "pnl_squares",
    "wins",
    "losses",
    "gross_profit",
    "gross_loss",
  ].includes(measure.alias),
);

/**
 * strategyPerformance's figures per (bucket,) group through the rollups (analytics/rollup.ts),
 * as AggregateRows: the sample standard deviation of the PnL from its count, Σ and Σ².
 */
export async function readPerformance(
  reads: QueryReader,
  source: RollupSource,
  args: Omit<StrategyPerformanceArgs, "groupBy">,
  columns: readonly PerformanceColumn[],
  bucket: TimeBucket | null,
  name: string,
  max: number,
  tooMany?: () => Error,
): Promise<(AggregateRow & { timestamp?: Micros })[]> {
  const filters = [
    ...(args.strategy !== null ? [{ column: "strategy", value: args.strategy }] : []),
    ...(args.writer !== null ? [{ column: "writer", value: args.writer }] : []),
  ];
  const rows = await readRollup(
    reads,
    { name, source, keys: columns, measures: MEASURES, bucket, filters, max, ...(tooMany ? { tooMany } : {}) },
    args.range,
  );
  return rows.map((row) => {
    const n = Number(row.closed ?? 0n);
    const sum = (row.pnl as number | null) ?? 0;
    const squares = (row.pnl_squares as number | null) ?? 0;
    const variance = n > 1 ? Math.max(0, (squares - (sum * sum) / n) / (n - 1)) : null;
    return { ...(row as unknown as AggregateRow), pnl_std: variance === null ? null : Math.sqrt(variance) };
  });
}

/** ORDER BY of the series: the writer breaks ties of two keys' trades with the same timestamp and id. */
const SERIES_ORDER = "ORDER BY timestamp, trade_id, writer";
const RUNNING = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";

interface DrawdownRow {
  strategy?: string | null;
  base_token?: string | null;
  quote_token?: string | null;
  dd: number;
  peak: number;
  peak_at: Micros | null;
  trough_at: Micros | null;
  recovered_at: Micros | null;
}

/**
 * Max drawdown per group over the closed trades in (timestamp, trade_id, writer) order, as Freqtrade's
 * _calc_drawdown_series: cumulative = running Σ PnL, high = max(0, running max of cumulative),
 * drawdown = high − cumulative; the first row (n, its place in the series) with the largest
 * drawdown is the trough, and gives the peak. One more window (first_value in drawdown order) puts
 * the trough's n and peak on every row, so one GROUP BY finds the peak's first trade and the
 * recovery (the first row after the trough whose drawdown is 0, i.e. cumulative ≥ peak again).
 * Keyed by groupKey(group values).
 */
export async function strategyDrawdowns(
  cache: QueryReader,
  table: string,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<Map<string, Drawdown>> {
  const columns = groupColumns(args.groupBy);
  const head = selectColumns(columns);
  const running = `${partitionBy(columns)}${SERIES_ORDER} ${RUNNING}`;
  // After c, n stands for the series order (it is the row's place in it).
  const runningByN = `${partitionBy(columns)}ORDER BY n ${RUNNING}`;
  const troughFirst = `${partitionBy(columns)}ORDER BY dd DESC, n`;
  const params: unknown[] = [];
  const filter = where(args, params, " AND realized_pnl IS NOT NULL");
  const sql = [
    `WITH c AS (SELECT ${head}timestamp, sum(realized_pnl) OVER (${running}) cum,`,
    `row_number() OVER (${partitionBy(columns)}${SERIES_ORDER}) n FROM ${table} WHERE ${filter}),`,
    `d AS (SELECT ${head}timestamp, n, cum, greatest(0.0, max(cum) OVER (${runningByN})) peak FROM c),`,
    `e AS (SELECT ${head}timestamp, n, cum, peak, peak - cum dd FROM d),`,
    `f AS (SELECT ${head}timestamp, n, cum, dd, first_value(n) OVER (${troughFirst}) tn,`,
    `first_value(peak) OVER (${troughFirst}) tp FROM e)`,
    `SELECT ${head}max(dd) dd, max(tp) peak, min(CASE WHEN tp > 0 AND cum = tp THEN timestamp END) peak_at,`,
    "min(CASE WHEN n = tn THEN timestamp END) trough_at,",
    "min(CASE WHEN n > tn AND dd = 0 THEN timestamp END) recovered_at FROM f",
  ].join(" ");
  // One row per group (QuestDB runs the window functions; only the aggregate of each comes back).
  const drawdowns = await cache.read<DrawdownRow, Map<string, Drawdown> | null>({
    statement: limited({ name: "strategyPerformance.drawdown", sql, params }, max + 1),
    tables: [table],
    range: args.range,
    map: unlessOver(
      max,
      (rows) => new Map(rows.map((row) => [groupKey(groupValuesOf(row, columns)), toDrawdown(row)])),
    ),
  });
  if (!drawdowns) throw tooManyGroups(max, args.groupBy);
  return drawdowns;
}

function toDrawdown(row: DrawdownRow): Drawdown {
  if (row.dd === 0) return { ...NO_DRAWDOWN, peak: row.peak };
  return {
    maxDrawdown: row.dd,
    peak: row.peak,
    peakAt: row.peak_at,
    troughAt: row.trough_at,
    recoveredAt: row.recovered_at,
  };
}
