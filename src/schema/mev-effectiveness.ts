// mevEffectiveness: MEV protection results per calendar bucket, protection method and strategy.
import {
  MEV_GROUP_KEYS,
  type MevEffectivenessArgs,
  type MevEffectivenessRow,
  mevBuckets,
  mevPriorityFees,
  mevRowKey,
  mevTotals,
  normalizeMevGroupBy,
} from "../analytics/mev-effectiveness.ts";
import { checkRange } from "../analytics/range.ts";
import type { Context } from "../context.ts";
import { MAX_AMOUNT } from "../ingest/validation.ts";
import { checkAmount, checkList, MAX_LIST_ITEMS } from "./arguments.ts";
import { builder } from "./builder.ts";
import { argsKey, TimeBucketEnum, TimeRangeRef } from "./range.ts";
import "./scalars.ts";

const MevGroupKeyEnum = builder.enumType("MevGroupKey", {
  description: "What mevEffectiveness groups by: PROTECTION (method) and/or STRATEGY.",
  values: MEV_GROUP_KEYS,
});

interface Row {
  row: MevEffectivenessRow;
  args: MevEffectivenessArgs;
  bucketed: boolean;
}

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

async function priorityFees(r: Row, { services, loaders, reads }: Context): Promise<bigint> {
  const fees = await loaders.once(`mev.priorityFees|${r.bucketed}|${argsKey(r.args)}`, () =>
    mevPriorityFees(
      reads,
      { mev: services.tables.mev_metrics, trades: services.tables.trades },
      r.args,
      r.bucketed,
      services.maxResultRows,
    ),
  );
  return fees.get(mevRowKey(r.row.bucket, r.row.groupValues)) ?? 0n;
}

const MevEffectivenessRowRef = builder.objectRef<Row>("MevEffectivenessRow").implement({
  description:
    "MEV results of the transactions in one bucket and group (one mev_metrics row per transaction). Rates are 0..1 and null when their denominator is 0; profits and losses in quote units, tips and fees in lamports.",
  fields: (t) => ({
    bucket: t.field({
      type: "Timestamp",
      nullable: true,
      description: "Bucket start (UTC); null in totals.",
      resolve: (r) => r.row.bucket,
    }),
    protection: t.string({
      nullable: true,
      description: "Null unless grouped by PROTECTION.",
      resolve: (r) => r.row.protection,
    }),
    strategy: t.string({
      nullable: true,
      description: "Null unless grouped by STRATEGY (or no strategy).",
      resolve: (r) => r.row.strategy,
    }),
    transactions: t.int({ resolve: (r) => r.row.transactions }),
    protectedShare: t.float({
      nullable: true,
      description: "Share of transactions sent with a protection (any method but NONE).",
      resolve: (r) => ratio(r.row.protectedCount, r.row.transactions),
    }),
    attacks: t.int({ description: "Transactions SANDWICHED or FRONT_RUN.", resolve: (r) => r.row.attacks }),
    attackRate: t.float({
      nullable: true,
      description: "attacks / transactions.",
      resolve: (r) => ratio(r.row.attacks, r.row.transactions),
    }),
    attacksDetected: t.int({ description: "Transactions with attackDetected.", resolve: (r) => r.row.attacksDetected }),
    landingRate: t.float({
      nullable: true,
      description: "Share of transactions that landed (outcome neither FAILED nor DROPPED).",
      resolve: (r) => ratio(r.row.landed, r.row.transactions),
    }),
    bundles: t.int({ description: "Transactions sent as JITO_BUNDLE.", resolve: (r) => r.row.bundles }),
    bundleLandingRate: t.float({
      nullable: true,
      description: "Landed bundles / bundles.",
      resolve: (r) => ratio(r.row.bundlesLanded, r.row.bundles),
    }),
    tipsLamports: t.field({ type: "Long", description: "Σ tips paid.", resolve: (r) => r.row.tipsLamports }),
    lossAvoided: t.float({ description: "Σ estimated loss avoided (quote units).", resolve: (r) => r.row.lossAvoided }),
    priorityFeesLamports: t.field({
      type: "Long",
      description:
        "Σ priority fees of the linked trades (same tradeId and writer, within an hour). Runs a join, only when asked for.",
      resolve: (r, _args, context) => priorityFees(r, context),
    }),
    netBenefit: t.float({
      description:
        "lossAvoided − (tipsLamports + priorityFeesLamports) / 1e9 × solPrice, in quote units. solPrice converts lamports: the price of 1 SOL in the quote token (1 when the quote is SOL).",
      args: {
        solPrice: t.arg.float({ required: true, description: `Quote units per SOL, 0 to ${MAX_AMOUNT}.` }),
      },
      resolve: async (r, args, context) => {
        checkAmount("solPrice", args.solPrice);
        const costs = Number(r.row.tipsLamports + (await priorityFees(r, context)));
        return r.row.lossAvoided - (costs / 1e9) * args.solPrice;
      },
    }),
    opportunities: t.int({
      description: "The bot's own opportunities: transactions with an expected profit.",
      resolve: (r) => r.row.opportunities,
    }),
    expectedProfit: t.float({
      description: "Σ expected profit of the opportunities.",
      resolve: (r) => r.row.expectedProfit,
    }),
    realizedProfit: t.float({
      description: "Σ realized profit of the opportunities (a missing one counts as 0).",
      resolve: (r) => r.row.realizedProfit,
    }),
    captureRatio: t.float({
      nullable: true,
      description: "realizedProfit / expectedProfit; null without opportunities or when expectedProfit is 0.",
      resolve: (r) =>
        r.row.opportunities > 0 && r.row.expectedProfit !== 0 ? r.row.realizedProfit / r.row.expectedProfit : null,
    }),
  }),
});

const MevEffectivenessRef = builder.objectRef<MevEffectivenessArgs>("MevEffectiveness").implement({
  description: "MEV protection results over a range; each field runs its own (cached) query only when asked for.",
  fields: (t) => ({
    from: t.field({ type: "Timestamp", resolve: (a) => a.range.from }),
    to: t.field({ type: "Timestamp", resolve: (a) => a.range.to }),
    bucket: t.field({ type: TimeBucketEnum, nullable: true, resolve: (a) => a.bucket }),
    groupBy: t.field({ type: [MevGroupKeyEnum], resolve: (a) => [...a.groupBy] }),
    totals: t.field({
      type: [MevEffectivenessRowRef],
      description:
        "One row per group with transactions in the range, in group order (one row when not grouped; none for an empty range, grouped or not).",
      resolve: async (args, _a, { services, reads }) =>
        (await mevTotals(reads, services.tables.mev_metrics, args, services.maxResultRows)).map((row) => ({
          row,
          args,
          bucketed: false,
        })),
    }),
    buckets: t.field({
      type: [MevEffectivenessRowRef],
      description: "One row per bucket and group, empty buckets included. Empty when no bucket was given.",
      resolve: async (args, _a, { services, reads }) =>
        (await mevBuckets(reads, services.tables.mev_metrics, args, services.maxResultRows)).map((row) => ({
          row,
          args,
          bucketed: true,
        })),
    }),
  }),
});

builder.queryFields((t) => ({
  mevEffectiveness: t.field({
    type: MevEffectivenessRef,
    description:
      "Share protected, attack rate, landing and bundle landing rate, tips, loss avoided, net benefit and capture ratio, per calendar bucket and per protection method and/or strategy.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      bucket: t.arg({ type: TimeBucketEnum, description: "Leave out for totals only." }),
      groupBy: t.arg({
        type: [MevGroupKeyEnum],
        description: `Default: no grouping. At most ${MAX_LIST_ITEMS} items; duplicates ignored.`,
      }),
    },
    resolve: (_root, args) => {
      checkRange(args.range, args.bucket);
      const groupBy = normalizeMevGroupBy(checkList("groupBy", args.groupBy));
      return { range: args.range, bucket: args.bucket ?? null, groupBy };
    },
  }),
}));
