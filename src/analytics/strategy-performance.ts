// strategyPerformance: per strategy, trades, volume, fees, realized PnL and the Freqtrade-style
// figures over the realized-PnL series (win rate, profit factor, expectancy, max drawdown).
// Definitions and where they differ from freqtrade/data/metrics.py: docs/queries.md.
//
// Two statements: a parallel aggregate for everything but the drawdown, and, only when asked
// for, window functions over the closed trades in (timestamp, trade_id, writer) order for the drawdown.
import { limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, rangeParams, type TimeRange } from "./range.ts";
import { compareGroups } from "./series.ts";

export interface StrategyPerformanceArgs {
  range: TimeRange;
  strategy: string | null;
  /** Only the trades this API key recorded; null: every key's. */
  writer: string | null;
}

export interface StrategyPerformance {
  strategy: string | null;
  trades: number;
  /** Trades with a realized PnL. */
  closedTrades: number;
  baseVolume: number;
  quoteVolume: number;
  transactionFees: bigint;
  priorityFees: bigint;
  transferFees: number;
  realizedPnl: number;
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
}

interface AggregateRow {
  strategy: string | null;
  trades: bigint;
  closed: bigint;
  base_volume: number | null;
  quote_volume: number | null;
  transaction_fees: bigint | null;
  priority_fees: bigint | null;
  transfer_fees: number | null;
  pnl: number | null;
  wins: bigint | null;
  losses: bigint | null;
  gross_profit: number | null;
  gross_loss: number | null;
}

const AGGREGATES = [
  "count() trades",
  "count(realized_pnl) closed",
  "sum(base_amount) base_volume",
  "sum(quote_amount) quote_volume",
  "sum(transaction_fee) transaction_fees",
  "sum(priority_fee) priority_fees",
  "sum(transfer_fees) transfer_fees",
  "sum(realized_pnl) pnl",
  "sum(CASE WHEN realized_pnl > 0 THEN 1 ELSE 0 END) wins",
  "sum(CASE WHEN realized_pnl < 0 THEN 1 ELSE 0 END) losses",
  "sum(CASE WHEN realized_pnl > 0 THEN realized_pnl ELSE 0.0 END) gross_profit",
  "sum(CASE WHEN realized_pnl < 0 THEN realized_pnl ELSE 0.0 END) gross_loss",
].join(", ");

const STRATEGIES = "The answer's rows (strategies)";
const STRATEGY_HINT = "choose a shorter range or one strategy";

function where(args: StrategyPerformanceArgs, params: unknown[], extra = ""): string {
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

function toPerformance(row: AggregateRow): StrategyPerformance {
  return {
    strategy: row.strategy,
    trades: Number(row.trades),
    closedTrades: Number(row.closed),
    baseVolume: row.base_volume ?? 0,
    quoteVolume: row.quote_volume ?? 0,
    transactionFees: row.transaction_fees ?? 0n,
    priorityFees: row.priority_fees ?? 0n,
    transferFees: row.transfer_fees ?? 0,
    realizedPnl: row.pnl ?? 0,
    wins: Number(row.wins ?? 0n),
    losses: Number(row.losses ?? 0n),
    grossProfit: row.gross_profit ?? 0,
    grossLoss: -(row.gross_loss ?? 0),
  };
}

/**
 * One row per strategy with trades in the range (null: trades without one); a strategy filter
 * without trades answers [] (docs/queries.md, "No data, no row").
 * Read with LIMIT max + 1: more strategies than MAX_RESULT_ROWS are refused without being read.
 */
export async function strategyPerformance(
  cache: QueryReader,
  table: string,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<StrategyPerformance[]> {
  checkRange(args.range, null);
  const params: unknown[] = [];
  const sql = `SELECT strategy, ${AGGREGATES} FROM ${table} WHERE ${where(args, params)}`;
  const list = await cache.read<AggregateRow, StrategyPerformance[] | null>({
    statement: limited({ name: "strategyPerformance.totals", sql, params }, max + 1),
    tables: [table],
    map: unlessOver(max, (rows) => rows.map(toPerformance).sort((a, b) => compareGroups([a.strategy], [b.strategy]))),
  });
  if (!list) throw tooManyRows(max, STRATEGIES, STRATEGY_HINT);
  return list;
}

// The writer breaks ties of two keys' trades with the same timestamp and id, so the order is total.
const RUNNING =
  "PARTITION BY strategy ORDER BY timestamp, trade_id, writer ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";

/**
 * Max drawdown per strategy over the closed trades in (timestamp, trade_id, writer) order, as Freqtrade's
 * _calc_drawdown_series: cumulative = running Σ PnL, high = max(0, running max of cumulative),
 * drawdown = high − cumulative; the first row with the largest drawdown gives the peak.
 */
export async function strategyDrawdowns(
  cache: QueryReader,
  table: string,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<Map<string | null, Drawdown>> {
  const params: unknown[] = [];
  const filter = where(args, params, " AND realized_pnl IS NOT NULL");
  const sql = [
    `WITH c AS (SELECT strategy, timestamp, trade_id, writer, sum(realized_pnl) OVER (${RUNNING}) cum FROM ${table} WHERE ${filter}),`,
    `d AS (SELECT strategy, timestamp, trade_id, writer, cum, greatest(0.0, max(cum) OVER (${RUNNING})) peak FROM c),`,
    "e AS (SELECT strategy, timestamp, trade_id, writer, peak, peak - cum dd FROM d),",
    "r AS (SELECT strategy, dd, peak, row_number() OVER (PARTITION BY strategy ORDER BY dd DESC, timestamp, trade_id, writer) rn FROM e)",
    "SELECT strategy, dd, peak FROM r WHERE rn = 1",
  ].join(" ");
  // One row per strategy (QuestDB runs the window functions; only the worst row of each comes back).
  const drawdowns = await cache.read<
    { strategy: string | null; dd: number; peak: number },
    Map<string | null, Drawdown> | null
  >({
    statement: limited({ name: "strategyPerformance.drawdown", sql, params }, max + 1),
    tables: [table],
    map: unlessOver(max, (rows) => new Map(rows.map((row) => [row.strategy, { maxDrawdown: row.dd, peak: row.peak }]))),
  });
  if (!drawdowns) throw tooManyRows(max, STRATEGIES, STRATEGY_HINT);
  return drawdowns;
}
