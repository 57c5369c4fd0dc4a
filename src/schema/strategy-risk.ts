// The risk-adjusted figures of StrategyPerformance (issue 16, point 1), each computed only when
// selected: the daily PnL and the streaks are one statement per request each, for every row.
// Formulas and conventions: docs/queries.md ("Risk-adjusted figures").
import { groupKey } from "../analytics/series.ts";
import {
  calmar,
  type DayPnl,
  dailyPnl,
  dayCounts,
  type ReturnFigures,
  returnFigures,
  type Streaks,
  sqn,
  strategyStreaks,
} from "../analytics/strategy-risk.ts";
import type { Context } from "../context.ts";
import { builder } from "./builder.ts";
import { argsKey } from "./range.ts";
import { type PerformanceRow, relativeDrawdownOf, StrategyPerformanceRef } from "./strategy-performance.ts";
import "./scalars.ts";

async function daysOf(r: PerformanceRow, { services, loaders, reads }: Context): Promise<DayPnl[]> {
  const all = await loaders.once(`strategy.daily|${argsKey(r.args)}`, () =>
    dailyPnl(reads, services.tables.trades, r.args, services.maxResultRows),
  );
  return all.get(groupKey(r.perf.groupValues)) ?? [];
}

/** The row's return figures, computed once per row (five fields read them). */
async function returnsOf(r: PerformanceRow, context: Context): Promise<ReturnFigures> {
  const key = `strategy.returns|${argsKey(r.args)}|${r.startingBalance}|${groupKey(r.perf.groupValues)}`;
  return context.loaders.once(key, async () =>
    returnFigures(await daysOf(r, context), r.args.range, r.startingBalance),
  );
}

async function streaksOf(r: PerformanceRow, { services, loaders, reads }: Context): Promise<Streaks> {
  const all = await loaders.once(`strategy.streaks|${argsKey(r.args)}`, () =>
    strategyStreaks(reads, services.tables.trades, r.args, services.maxResultRows),
  );
  return all.get(groupKey(r.perf.groupValues)) ?? { winning: 0, losing: 0 };
}

const DayPnlRef = builder.objectRef<DayPnl>("DayPnl").implement({
  description: "Realized PnL of one UTC day (the closed trades of that day within the range).",
  fields: (t) => ({
    day: t.field({ type: "Timestamp", description: "The day's start, 00:00 UTC.", resolve: (d) => d.day }),
    realizedPnl: t.float({ resolve: (d) => d.pnl }),
  }),
});

const RETURNS =
  "Daily returns: every UTC day the range touches (days without closed trades return 0), r = day's realized PnL / balance at the day's start, the balance starting at startingBalance and compounding.";

builder.objectFields(StrategyPerformanceRef, (t) => ({
  sharpe: t.float({
    nullable: true,
    description: `mean(r) / sd(r) × √365 over the daily returns (sample sd, risk-free rate 0). ${RETURNS} Null without a positive startingBalance, with fewer than 2 days, a zero sd, or a balance at or below 0 before a day (Freqtrade reports −100 for a zero sd).`,
    resolve: async (r, _args, context) => (await returnsOf(r, context)).sharpe,
  }),
  sortino: t.float({
    nullable: true,
    description: `mean(r) / √(Σ min(r, 0)² / days) × √365 over the daily returns (downside deviation, target 0). Null as sharpe, and without a losing day (Freqtrade reports −100).`,
    resolve: async (r, _args, context) => (await returnsOf(r, context)).sortino,
  }),
  cagr: t.float({
    nullable: true,
    description:
      "(final balance / startingBalance)^(365 / days) − 1, final balance = startingBalance + realizedPnl, days = the UTC days the range touches. Null without a positive startingBalance, with a negative final balance, or when it overflows a double (a huge growth over a few days).",
    resolve: async (r, _args, context) => (await returnsOf(r, context)).cagr,
  }),
  calmar: t.float({
    nullable: true,
    description: "cagr / maxDrawdownRelative; null when either is null or there is no drawdown.",
    resolve: async (r, _args, context) => {
      const [returns, relative] = await Promise.all([returnsOf(r, context), relativeDrawdownOf(r, context)]);
      return calmar(returns.cagr, relative);
    },
  }),
  sqn: t.float({
    nullable: true,
    description:
      "System Quality Number (Van Tharp, as Freqtrade): √closedTrades × mean PnL / sd PnL per closed trade (sample sd). Null under 2 closed trades or with a zero sd (Freqtrade reports −100).",
    resolve: (r) => sqn(r.perf.closedTrades, r.perf.realizedPnl, r.perf.pnlStdDev),
  }),
  bestDay: t.field({
    type: DayPnlRef,
    nullable: true,
    description: "The UTC day with the highest realized PnL (the earliest on ties); null without closed trades.",
    resolve: async (r, _args, context) => dayCounts(await daysOf(r, context)).bestDay,
  }),
  worstDay: t.field({
    type: DayPnlRef,
    nullable: true,
    description: "The UTC day with the lowest realized PnL (the earliest on ties); null without closed trades.",
    resolve: async (r, _args, context) => dayCounts(await daysOf(r, context)).worstDay,
  }),
  daysWon: t.int({
    description: "UTC days with at least one closed trade whose realized PnL is > 0.",
    resolve: async (r, _args, context) => dayCounts(await daysOf(r, context)).daysWon,
  }),
  daysDrawn: t.int({
    description: "UTC days with at least one closed trade whose realized PnL is = 0.",
    resolve: async (r, _args, context) => dayCounts(await daysOf(r, context)).daysDrawn,
  }),
  daysLost: t.int({
    description: "UTC days with at least one closed trade whose realized PnL is < 0.",
    resolve: async (r, _args, context) => dayCounts(await daysOf(r, context)).daysLost,
  }),
  longestWinningStreak: t.int({
    description:
      "Most consecutive closed trades with PnL > 0, in (timestamp, tradeId, writer) order; a draw ends a streak.",
    resolve: async (r, _args, context) => (await streaksOf(r, context)).winning,
  }),
  longestLosingStreak: t.int({
    description: "Most consecutive closed trades with PnL < 0, in (timestamp, tradeId, writer) order.",
    resolve: async (r, _args, context) => (await streaksOf(r, context)).losing,
  }),
}));
