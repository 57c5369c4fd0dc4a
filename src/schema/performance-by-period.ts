// performanceByPeriod: trade and PnL figures per calendar day, week or month (docs/queries.md).
import { PERIOD_BUCKETS, type PeriodPerformance, performanceByPeriod } from "../analytics/performance-by-period.ts";
import { checkRange } from "../analytics/range.ts";
import { MAX_NAME_LENGTH } from "../ingest/validation.ts";
import { checkName } from "./arguments.ts";
import { builder } from "./builder.ts";
import { TimeRangeRef } from "./range.ts";
import "./scalars.ts";

const PeriodBucketEnum = builder.enumType("PeriodBucket", {
  description:
    "Calendar periods in UTC: DAY from 00:00, WEEK from Monday 00:00, MONTH from the 1st 00:00. The first and last are clipped to the range.",
  values: PERIOD_BUCKETS,
});

const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);

const PeriodPerformanceRef = builder.objectRef<PeriodPerformance>("PeriodPerformance").implement({
  description:
    "The trades of one calendar period within the range. A period without trades has zeros and null rates. Money in quote units, fees in lamports.",
  fields: (t) => ({
    bucket: t.field({
      type: "Timestamp",
      description: "The period's start (UTC), even when the range starts inside it.",
      resolve: (p) => p.bucket,
    }),
    end: t.field({ type: "Timestamp", description: "The next period's start (exclusive).", resolve: (p) => p.end }),
    trades: t.int({ resolve: (p) => p.perf.trades }),
    closedTrades: t.int({ description: "Trades with a realizedPnl.", resolve: (p) => p.perf.closedTrades }),
    wins: t.int({ description: "Closed trades with PnL > 0.", resolve: (p) => p.perf.wins }),
    losses: t.int({ description: "Closed trades with PnL < 0.", resolve: (p) => p.perf.losses }),
    draws: t.int({
      description: "Closed trades with PnL = 0.",
      resolve: (p) => p.perf.closedTrades - p.perf.wins - p.perf.losses,
    }),
    winRate: t.float({
      nullable: true,
      description: "wins / closedTrades; null without closed trades.",
      resolve: (p) => rate(p.perf.wins, p.perf.closedTrades),
    }),
    realizedPnl: t.float({ description: "Σ realizedPnl.", resolve: (p) => p.perf.realizedPnl }),
    cumulativePnl: t.float({
      description: "Σ realizedPnl of this and every earlier period of the range.",
      resolve: (p) => p.cumulativePnl,
    }),
    grossProfit: t.float({ description: "Σ PnL of wins.", resolve: (p) => p.perf.grossProfit }),
    grossLoss: t.float({ description: "Σ |PnL| of losses (positive).", resolve: (p) => p.perf.grossLoss }),
    profitFactor: t.float({
      nullable: true,
      description: "grossProfit / grossLoss; null without losses.",
      resolve: (p) => (p.perf.grossLoss > 0 ? p.perf.grossProfit / p.perf.grossLoss : null),
    }),
    baseVolume: t.float({ resolve: (p) => p.perf.baseVolume }),
    quoteVolume: t.float({ resolve: (p) => p.perf.quoteVolume }),
    transactionFees: t.field({ type: "Long", resolve: (p) => p.perf.transactionFees }),
    priorityFees: t.field({ type: "Long", resolve: (p) => p.perf.priorityFees }),
    totalFees: t.field({
      type: "Long",
      description: "transactionFees + priorityFees.",
      resolve: (p) => p.perf.transactionFees + p.perf.priorityFees,
    }),
    transferFees: t.float({
      description: "Σ transferFees in quote-token units, every quote token added together.",
      deprecationReason:
        "Adds the transfer fees of different quote tokens; read tradeStats(bucket, groupBy: [PAIR]).transferFeesByCurrency.",
      resolve: (p) => p.perf.transferFees,
    }),
  }),
});

builder.queryFields((t) => ({
  performanceByPeriod: t.field({
    type: [PeriodPerformanceRef],
    description:
      "Trades, closed trades, realized PnL, wins and losses, win rate, volume and fees per calendar day, week or month (UTC), every period of the range included.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      bucket: t.arg({ type: PeriodBucketEnum, required: true }),
      strategy: t.arg.string({
        description: `One strategy (1–${MAX_NAME_LENGTH} characters); default every trade.`,
      }),
      writer: t.arg.string({ description: "Only the trades this API key (by name) recorded; default every key's." }),
    },
    resolve: (_root, args, { services, reads }) => {
      checkRange(args.range, args.bucket);
      checkName("strategy", args.strategy);
      checkName("writer", args.writer);
      const periodArgs = {
        range: args.range,
        bucket: args.bucket,
        strategy: args.strategy ?? null,
        writer: args.writer ?? null,
      };
      return performanceByPeriod(reads, services.rollups.trades, periodArgs, services.maxResultRows);
    },
  }),
}));
