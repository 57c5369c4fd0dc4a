// strategyPerformance: per-strategy (or per-pair) results over a range, Freqtrade-style
// (docs/queries.md). The risk-adjusted figures are added to the type in strategy-risk.ts.
import { drawdownsByHour } from "../analytics/drawdown-periods.ts";
import { checkRange } from "../analytics/range.ts";
import { groupKey } from "../analytics/series.ts";
import {
  type Drawdown,
  NO_DRAWDOWN,
  normalizePerformanceGroupBy,
  PERFORMANCE_GROUP_KEYS,
  type StrategyPerformance,
  type StrategyPerformanceArgs,
  strategyPerformance,
} from "../analytics/strategy-performance.ts";
import type { Context } from "../context.ts";
import { MAX_AMOUNT, MAX_NAME_LENGTH } from "../ingest/validation.ts";
import { checkAmount, checkList, checkName, MAX_LIST_ITEMS } from "./arguments.ts";
import { builder } from "./builder.ts";
import { argsKey, TimeRangeRef } from "./range.ts";
import "./scalars.ts";

export interface PerformanceRow {
  perf: StrategyPerformance;
  args: StrategyPerformanceArgs;
  startingBalance: number;
}

/** The row's drawdown (every row's at once, from hourly summaries, when first asked for). */
export async function drawdownOf(r: PerformanceRow, { services, loaders, reads }: Context): Promise<Drawdown> {
  const { tables, rollups } = services;
  const all = await loaders.once(`strategy.drawdown|${argsKey(r.args)}`, () =>
    drawdownsByHour(
      reads,
      services.sql,
      services.drawdownHours,
      { pnl: rollups.pnl, stored: tables.drawdown_hours },
      r.args,
      services.maxResultRows,
    ),
  );
  return all.get(groupKey(r.perf.groupValues)) ?? NO_DRAWDOWN;
}

/** maxDrawdown / (startingBalance + peak before it); 0 without drawdown, null on a base ≤ 0. */
export async function relativeDrawdownOf(r: PerformanceRow, context: Context): Promise<number | null> {
  const { maxDrawdown, peak } = await drawdownOf(r, context);
  if (maxDrawdown === 0) return 0;
  const base = r.startingBalance + peak;
  return base > 0 ? maxDrawdown / base : null;
}

const PerformanceGroupKeyEnum = builder.enumType("PerformanceGroupKey", {
  description: "What strategyPerformance groups by: STRATEGY, PAIR (base and quote token).",
  values: PERFORMANCE_GROUP_KEYS,
});

const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);
const averageWin = (p: StrategyPerformance) => (p.wins > 0 ? p.grossProfit / p.wins : null);
const averageLoss = (p: StrategyPerformance) => (p.losses > 0 ? p.grossLoss / p.losses : null);

export const StrategyPerformanceRef = builder.objectRef<PerformanceRow>("StrategyPerformance").implement({
  description:
    "One group's results over the range (a strategy, a pair, both, or everything: see groupBy). PnL figures use the closed trades (those with a realizedPnl), in (timestamp, tradeId, writer) order; money in quote units, fees in lamports. Formulas and the differences from Freqtrade: docs/queries.md.",
  fields: (t) => ({
    strategy: t.string({
      nullable: true,
      description: "Null: not grouped by STRATEGY, or trades recorded without a strategy.",
      resolve: (r) => r.perf.group.strategy,
    }),
    baseToken: t.string({
      nullable: true,
      description: "The pair's base token; null when not grouped by PAIR.",
      resolve: (r) => r.perf.group.baseToken,
    }),
    quoteToken: t.string({
      nullable: true,
      description: "The pair's quote token; null when not grouped by PAIR.",
      resolve: (r) => r.perf.group.quoteToken,
    }),
    trades: t.int({ resolve: (r) => r.perf.trades }),
    closedTrades: t.int({ description: "Trades with a realizedPnl.", resolve: (r) => r.perf.closedTrades }),
    baseVolume: t.float({ resolve: (r) => r.perf.baseVolume }),
    quoteVolume: t.float({ resolve: (r) => r.perf.quoteVolume }),
    transactionFees: t.field({ type: "Long", resolve: (r) => r.perf.transactionFees }),
    priorityFees: t.field({ type: "Long", resolve: (r) => r.perf.priorityFees }),
    totalFees: t.field({ type: "Long", resolve: (r) => r.perf.transactionFees + r.perf.priorityFees }),
    transferFees: t.float({
      description: "Σ transferFees in quote-token units: a single currency only when grouped by PAIR.",
      deprecationReason:
        "Adds the transfer fees of different quote tokens unless grouped by PAIR; group by PAIR, or read tradeStats.transferFeesByCurrency.",
      resolve: (r) => r.perf.transferFees,
    }),
    realizedPnl: t.float({ description: "Σ realizedPnl.", resolve: (r) => r.perf.realizedPnl }),
    wins: t.int({ description: "Closed trades with PnL > 0.", resolve: (r) => r.perf.wins }),
    losses: t.int({ description: "Closed trades with PnL < 0.", resolve: (r) => r.perf.losses }),
    draws: t.int({
      description: "Closed trades with PnL = 0.",
      resolve: (r) => r.perf.closedTrades - r.perf.wins - r.perf.losses,
    }),
    winRate: t.float({
      nullable: true,
      description: "wins / closedTrades.",
      resolve: (r) => rate(r.perf.wins, r.perf.closedTrades),
    }),
    grossProfit: t.float({ description: "Σ PnL of wins.", resolve: (r) => r.perf.grossProfit }),
    grossLoss: t.float({ description: "Σ |PnL| of losses (positive).", resolve: (r) => r.perf.grossLoss }),
    profitFactor: t.float({
      nullable: true,
      description: "grossProfit / grossLoss; null without losses (Freqtrade reports 0).",
      resolve: (r) => (r.perf.grossLoss > 0 ? r.perf.grossProfit / r.perf.grossLoss : null),
    }),
    averageWin: t.float({ nullable: true, resolve: (r) => averageWin(r.perf) }),
    averageLoss: t.float({ nullable: true, description: "Positive.", resolve: (r) => averageLoss(r.perf) }),
    expectancy: t.float({
      nullable: true,
      description: "winRate × averageWin − lossRate × averageLoss (per closed trade); null without closed trades.",
      resolve: ({ perf }) => {
        if (perf.closedTrades === 0) return null;
        const win = perf.wins / perf.closedTrades;
        const loss = perf.losses / perf.closedTrades;
        return win * (averageWin(perf) ?? 0) - loss * (averageLoss(perf) ?? 0);
      },
    }),
    expectancyRatio: t.float({
      nullable: true,
      description: "(1 + averageWin / averageLoss) × winRate − 1; null without losses (Freqtrade reports 100).",
      resolve: ({ perf }) => {
        const loss = averageLoss(perf);
        if (loss === null || loss === 0) return null;
        return (1 + (averageWin(perf) ?? 0) / loss) * (perf.wins / perf.closedTrades) - 1;
      },
    }),
    maxDrawdown: t.float({
      description:
        "Largest fall of cumulative realized PnL below its running peak (peak floored at 0, as Freqtrade), positive. Combined from hourly summaries, only when asked for.",
      resolve: async (r, _args, context) => (await drawdownOf(r, context)).maxDrawdown,
    }),
    maxDrawdownRelative: t.float({
      nullable: true,
      description:
        "maxDrawdown / (startingBalance + peak before it), Freqtrade's relative account drawdown; 0 without drawdown, null when startingBalance + peak is not positive.",
      resolve: (r, _args, context) => relativeDrawdownOf(r, context),
    }),
    maxDrawdownPeakAt: t.field({
      type: "Timestamp",
      nullable: true,
      description:
        "When the drawdown's peak was first reached: the first closed trade whose cumulative PnL equals it; null without drawdown or when the peak is the start (cumulative 0 before any trade: the range's from).",
      resolve: async (r, _args, context) => (await drawdownOf(r, context)).peakAt,
    }),
    maxDrawdownTroughAt: t.field({
      type: "Timestamp",
      nullable: true,
      description: "The closed trade at the bottom of the max drawdown (the first, on ties); null without drawdown.",
      resolve: async (r, _args, context) => (await drawdownOf(r, context)).troughAt,
    }),
    maxDrawdownRecoveredAt: t.field({
      type: "Timestamp",
      nullable: true,
      description:
        "The first closed trade after the trough whose cumulative PnL is back at the peak or above; null without drawdown or when not recovered within the range.",
      resolve: async (r, _args, context) => (await drawdownOf(r, context)).recoveredAt,
    }),
  }),
});

builder.queryFields((t) => ({
  strategyPerformance: t.field({
    type: [StrategyPerformanceRef],
    description:
      "Per strategy (or pair, see groupBy): trades, volume, fees, realized PnL, win rate, profit factor, expectancy, max drawdown (absolute, relative, when) over the realized-PnL series, and the risk-adjusted figures over daily returns (Sharpe, Sortino, Calmar, SQN, CAGR, best and worst day, streaks).",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      strategy: t.arg.string({
        description: `One strategy (1–${MAX_NAME_LENGTH} characters, as on ingest); default every strategy (and trades without one).`,
      }),
      writer: t.arg.string({ description: "Only the trades this API key (by name) recorded; default every key's." }),
      startingBalance: t.arg.float({
        description: `Account balance at the start of the range, quote units (0 to ${MAX_AMOUNT}), for maxDrawdownRelative and the daily returns (each row is an account of its own starting with it). Default 0: no returns (Sharpe, Sortino, CAGR, Calmar null).`,
      }),
      groupBy: t.arg({
        type: [PerformanceGroupKeyEnum],
        defaultValue: ["STRATEGY"],
        description: `One row per strategy (default), per pair, per strategy and pair, or ([]) one row over every trade. At most ${MAX_LIST_ITEMS} items; duplicates ignored.`,
      }),
    },
    resolve: async (_root, args, { services, reads }) => {
      checkRange(args.range, null);
      checkName("strategy", args.strategy);
      checkName("writer", args.writer);
      checkAmount("startingBalance", args.startingBalance);
      const startingBalance = args.startingBalance ?? 0;
      const groupBy = normalizePerformanceGroupBy(checkList("groupBy", args.groupBy));
      const perfArgs = { range: args.range, strategy: args.strategy ?? null, writer: args.writer ?? null, groupBy };
      const rows = await strategyPerformance(reads, services.rollups.trades, perfArgs, services.maxResultRows);
      return rows.map((perf) => ({ perf, args: perfArgs, startingBalance }));
    },
  }),
}));
