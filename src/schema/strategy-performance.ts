// strategyPerformance: per-strategy results over a range, Freqtrade-style (docs/queries.md).
import { checkRange } from "../analytics/range.ts";
import {
  type Drawdown,
  type StrategyPerformance,
  type StrategyPerformanceArgs,
  strategyDrawdowns,
  strategyPerformance,
} from "../analytics/strategy-performance.ts";
import type { Context } from "../context.ts";
import { MAX_AMOUNT, MAX_NAME_LENGTH } from "../ingest/validation.ts";
import { checkAmount, checkName } from "./arguments.ts";
import { builder } from "./builder.ts";
import { argsKey, TimeRangeRef } from "./range.ts";
import "./scalars.ts";

interface Row {
  perf: StrategyPerformance;
  args: StrategyPerformanceArgs;
  startingBalance: number;
}

async function drawdownOf(r: Row, { services, loaders, reads }: Context): Promise<Drawdown> {
  const all = await loaders.once(`strategy.drawdown|${argsKey(r.args)}`, () =>
    strategyDrawdowns(reads, services.tables.trades, r.args, services.maxResultRows),
  );
  return all.get(r.perf.strategy) ?? { maxDrawdown: 0, peak: 0 };
}

const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);
const averageWin = (p: StrategyPerformance) => (p.wins > 0 ? p.grossProfit / p.wins : null);
const averageLoss = (p: StrategyPerformance) => (p.losses > 0 ? p.grossLoss / p.losses : null);

const StrategyPerformanceRef = builder.objectRef<Row>("StrategyPerformance").implement({
  description:
    "One strategy's results over the range. PnL figures use the closed trades (those with a realizedPnl), in (timestamp, tradeId, writer) order; money in quote units, fees in lamports. Formulas and the differences from Freqtrade: docs/queries.md.",
  fields: (t) => ({
    strategy: t.string({
      nullable: true,
      description: "Null: trades recorded without a strategy.",
      resolve: (r) => r.perf.strategy,
    }),
    trades: t.int({ resolve: (r) => r.perf.trades }),
    closedTrades: t.int({ description: "Trades with a realizedPnl.", resolve: (r) => r.perf.closedTrades }),
    baseVolume: t.float({ resolve: (r) => r.perf.baseVolume }),
    quoteVolume: t.float({ resolve: (r) => r.perf.quoteVolume }),
    transactionFees: t.field({ type: "Long", resolve: (r) => r.perf.transactionFees }),
    priorityFees: t.field({ type: "Long", resolve: (r) => r.perf.priorityFees }),
    totalFees: t.field({ type: "Long", resolve: (r) => r.perf.transactionFees + r.perf.priorityFees }),
    transferFees: t.float({ resolve: (r) => r.perf.transferFees }),
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
        "Largest fall of cumulative realized PnL below its running peak (peak floored at 0, as Freqtrade), positive. Runs a window query, only when asked for.",
      resolve: async (r, _args, context) => (await drawdownOf(r, context)).maxDrawdown,
    }),
    maxDrawdownRelative: t.float({
      nullable: true,
      description:
        "maxDrawdown / (startingBalance + peak before it), Freqtrade's relative account drawdown; 0 without drawdown, null when startingBalance + peak is not positive.",
      resolve: async (r, _args, context) => {
        const { maxDrawdown, peak } = await drawdownOf(r, context);
        if (maxDrawdown === 0) return 0;
        const base = r.startingBalance + peak;
        return base > 0 ? maxDrawdown / base : null;
      },
    }),
  }),
});

builder.queryFields((t) => ({
  strategyPerformance: t.field({
    type: [StrategyPerformanceRef],
    description:
      "Per strategy: trades, volume, fees, realized PnL, win rate, profit factor, expectancy and max drawdown (absolute and relative) over the realized-PnL series.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      strategy: t.arg.string({
        description: `One strategy (1–${MAX_NAME_LENGTH} characters, as on ingest); default every strategy (and trades without one).`,
      }),
      writer: t.arg.string({ description: "Only the trades this API key (by name) recorded; default every key's." }),
      startingBalance: t.arg.float({
        description: `Account balance at the start of the range, quote units (0 to ${MAX_AMOUNT}), for maxDrawdownRelative. Default 0.`,
      }),
    },
    resolve: async (_root, args, { services, reads }) => {
      checkRange(args.range, null);
      checkName("strategy", args.strategy);
      checkName("writer", args.writer);
      checkAmount("startingBalance", args.startingBalance);
      const startingBalance = args.startingBalance ?? 0;
      const perfArgs = { range: args.range, strategy: args.strategy ?? null, writer: args.writer ?? null };
      const rows = await strategyPerformance(reads, services.tables.trades, perfArgs, services.maxResultRows);
      return rows.map((perf) => ({ perf, args: perfArgs, startingBalance }));
    },
  }),
}));
