// tradeStats: trade figures per calendar bucket and group.

import { checkRange } from "../analytics/range.ts";
import {
  type CurrencyAmount,
  normalizeGroupBy,
  slippageKey,
  TRADE_GROUP_KEYS,
  type TradeStatsArgs,
  type TradeStatsRow,
  tradeSlippageP95,
  tradeStatsPartials,
  tradeStatsSeries,
  tradeStatsTotals,
  tradeTransferFeesByCurrency,
} from "../analytics/trade-stats.ts";
import { checkList, MAX_LIST_ITEMS } from "./arguments.ts";
import { bucketRows, noteBuckets, statisticsRows } from "./bucket-fold.ts";
import { builder } from "./builder.ts";
import { argsKey, TimeBucketEnum, TimeRangeRef } from "./range.ts";
import "./scalars.ts";
import { splicedListKey, splicedRows } from "./spliced.ts";

/** TradeStatsRow fields that read more than the row (statements of their own): never spliced. */
const COMPUTED_FIELDS: ReadonlySet<string> = new Set(["p95Slippage", "transferFeesByCurrency"]);

const TradeGroupKeyEnum = builder.enumType("TradeGroupKey", {
  description: "What tradeStats groups by: PAIR (base and quote token), STRATEGY, ACTION, MEV_STATUS, VENUE.",
  values: TRADE_GROUP_KEYS,
});

const TradeGroupRef = builder.objectRef<TradeStatsRow["group"]>("TradeGroup").implement({
  description:
    "The group a row belongs to. Fields not grouped by are null; a grouped field is null for trades without a value.",
  fields: (t) => ({
    baseToken: t.exposeString("baseToken", { nullable: true }),
    quoteToken: t.exposeString("quoteToken", { nullable: true }),
    strategy: t.exposeString("strategy", { nullable: true }),
    action: t.exposeString("action", { nullable: true }),
    mevStatus: t.exposeString("mevStatus", { nullable: true }),
    venue: t.exposeString("venue", { nullable: true }),
  }),
});

const CurrencyAmountRef = builder.objectRef<CurrencyAmount>("CurrencyAmount").implement({
  description: "An amount in one currency.",
  fields: (t) => ({
    token: t.exposeString("token", { nullable: true, description: "The quote token." }),
    amount: t.exposeFloat("amount", { description: "In units of token." }),
  }),
});

/**
 * What a TradeStatsRow field reads: the figures as properties named as the fields (graphql-jit
 * reads such a field inline instead of calling a resolver: 4,320 rows × 17 fields of an hourly
 * month by pair were ~20 ms of resolver calls), and the row and arguments for the fields that run
 * statements of their own.
 */
type StatsRow = Omit<TradeStatsRow, "trades" | "groupValues"> & {
  row: TradeStatsRow;
  args: TradeStatsArgs;
  bucketed: boolean;
  count: number;
  totalFees: bigint;
};

const statsRow = (row: TradeStatsRow, args: TradeStatsArgs, bucketed: boolean): StatsRow => ({
  row,
  args,
  bucketed,
  bucket: row.bucket,
  group: row.group,
  count: row.trades,
  baseVolume: row.baseVolume,
  quoteVolume: row.quoteVolume,
  vwap: row.vwap,
  minPrice: row.minPrice,
  maxPrice: row.maxPrice,
  firstPrice: row.firstPrice,
  lastPrice: row.lastPrice,
  transactionFees: row.transactionFees,
  priorityFees: row.priorityFees,
  totalFees: row.transactionFees + row.priorityFees,
  transferFees: row.transferFees,
  meanSlippage: row.meanSlippage,
  meanSlippageError: row.meanSlippageError,
  overExpectedSlippageShare: row.overExpectedSlippageShare,
});

const TradeStatsRowRef = builder.objectRef<StatsRow>("TradeStatsRow").implement({
  description:
    "Figures of the trades in one bucket and group. Volumes in token units, prices in quote per base, fees in lamports (transfer fees in token units), slippage as a fraction. Figures that need a trade are null when count is 0.",
  fields: (t) => ({
    bucket: t.expose("bucket", {
      type: "Timestamp",
      nullable: true,
      description: "Bucket start (UTC); null in totals.",
    }),
    group: t.expose("group", { type: TradeGroupRef }),
    count: t.exposeInt("count", { description: "Trades." }),
    baseVolume: t.exposeFloat("baseVolume", { description: "Σ baseAmount." }),
    quoteVolume: t.exposeFloat("quoteVolume", { description: "Σ quoteAmount." }),
    vwap: t.exposeFloat("vwap", {
      nullable: true,
      description: "Σ(executedPrice × baseAmount) / Σ baseAmount; null when Σ baseAmount is 0.",
    }),
    minPrice: t.exposeFloat("minPrice", { nullable: true }),
    maxPrice: t.exposeFloat("maxPrice", { nullable: true }),
    firstPrice: t.exposeFloat("firstPrice", { nullable: true, description: "Price of the earliest trade." }),
    lastPrice: t.exposeFloat("lastPrice", { nullable: true, description: "Price of the latest trade." }),
    transactionFees: t.expose("transactionFees", { type: "Long" }),
    priorityFees: t.expose("priorityFees", { type: "Long" }),
    totalFees: t.expose("totalFees", { type: "Long", description: "transactionFees + priorityFees." }),
    transferFees: t.exposeFloat("transferFees", {
      description: "Σ transferFees, in quote-token units of every quote token in the row added together.",
      deprecationReason:
        "Adds the transfer fees of different quote tokens unless grouped by PAIR; read transferFeesByCurrency.",
    }),
    transferFeesByCurrency: t.field({
      type: [CurrencyAmountRef],
      description:
        "Σ transferFees per quote token (transfer fees are in the quote token's units), tokens in name order: never added across currencies. A statement of its own, only when asked for.",
      resolve: async (r, _args, { services, loaders, reads }) => {
        const fees = await loaders.once(`tradeStats.transferFees|${r.bucketed}|${argsKey(r.args)}`, () =>
          tradeTransferFeesByCurrency(reads, services.tables.trades, r.args, r.bucketed, services.maxResultRows),
        );
        return fees.get(slippageKey(r.row.bucket, r.row.groupValues)) ?? [];
      },
    }),
    meanSlippage: t.exposeFloat("meanSlippage", { nullable: true, description: "Mean actualSlippage." }),
    p95Slippage: t.float({
      nullable: true,
      description:
        "95th percentile (nearest rank) of actualSlippage, from 1-basis-point bins: within 0.00005 of the exact value. Computed by a second query, only when asked for.",
      resolve: async (r, _args, context) => {
        const { services, loaders, reads } = context;
        const p95 = await loaders.once(`tradeStats.p95|${r.bucketed}|${argsKey(r.args)}`, () =>
          tradeSlippageP95(reads, services.tables.trades, r.args, r.bucketed, services.maxResultRows),
        );
        return p95.get(slippageKey(r.row.bucket, r.row.groupValues)) ?? null;
      },
    }),
    meanSlippageError: t.exposeFloat("meanSlippageError", {
      nullable: true,
      description: "Mean of actualSlippage − expectedSlippage.",
    }),
    overExpectedSlippageShare: t.exposeFloat("overExpectedSlippageShare", {
      nullable: true,
      description: "Share (0..1) of trades whose actualSlippage is greater than their expectedSlippage.",
    }),
  }),
});

const TradeStatsRef = builder.objectRef<TradeStatsArgs>("TradeStats").implement({
  description: "Trade statistics over a range; each field runs its own (cached) query only when asked for.",
  fields: (t) => ({
    from: t.field({ type: "Timestamp", resolve: (a) => a.range.from }),
    to: t.field({ type: "Timestamp", resolve: (a) => a.range.to }),
    bucket: t.field({ type: TimeBucketEnum, nullable: true, resolve: (a) => a.bucket }),
    groupBy: t.field({ type: [TradeGroupKeyEnum], resolve: (a) => [...a.groupBy] }),
    totals: t.field({
      type: [TradeStatsRowRef],
      description:
        "One row per group with trades in the range, in group order (one row when not grouped; none for an empty range, grouped or not).",
      resolve: (args, _a, context) =>
        statisticsRows(
          "tradeStats",
          tradeStatsTotals,
          tradeStatsPartials,
          context.services.rollups.trades,
          args,
          context,
          false,
          statsRow,
        ),
    }),
    buckets: t.field({
      type: [TradeStatsRowRef],
      description:
        "One row per bucket and group with trades in the range, in bucket then group order; a group's buckets without trades are included with count 0. Empty when no bucket was given or the range has no trades.",
      resolve: async (args, _a, context, info) => {
        const { reads, services } = context;
        const source = services.rollups.trades;
        const max = services.maxResultRows;
        const shared = bucketRows("tradeStats", args, context, false, () =>
          tradeStatsPartials(reads, source, args, max),
        );
        const reuse = splicedListKey(context, info, "tradeStats.buckets", COMPUTED_FIELDS);
        const pieces = await tradeStatsSeries(reads, source, args, max, shared, reuse);
        return splicedRows(context, info, pieces, (row) => statsRow(row, args, true));
      },
    }),
  }),
});

builder.queryFields((t) => ({
  tradeStats: t.field({
    type: TradeStatsRef,
    description: "Trade count, volumes, VWAP, prices, fees and slippage per calendar bucket (UTC) and group.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      bucket: t.arg({ type: TimeBucketEnum, description: "Leave out for totals only." }),
      groupBy: t.arg({
        type: [TradeGroupKeyEnum],
        description: `Default: no grouping. At most ${MAX_LIST_ITEMS} items; duplicates ignored.`,
      }),
    },
    resolve: (_root, args, _context, info) => {
      checkRange(args.range, args.bucket);
      const groupBy = normalizeGroupBy(checkList("groupBy", args.groupBy));
      return noteBuckets<TradeStatsArgs>({ range: args.range, bucket: args.bucket ?? null, groupBy }, info);
    },
  }),
}));
