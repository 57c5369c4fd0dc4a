// mevEffectiveness: MEV protection results per calendar bucket, protection method and strategy.
import { LAMPORTS_TOKEN, netBenefitAt } from "../analytics/mev-breakdowns.ts";
import {
  MEV_GROUP_KEYS,
  type MevEffectivenessArgs,
  mevBuckets,
  mevPartials,
  mevRowKey,
  mevTotals,
  normalizeMevGroupBy,
} from "../analytics/mev-effectiveness.ts";
import { type MevLinkFigures, mevLinks, NO_LINKS } from "../analytics/mev-links.ts";
import { checkRange } from "../analytics/range.ts";
import type { Context } from "../context.ts";
import { MAX_AMOUNT } from "../ingest/validation.ts";
import { checkAmount, checkList, MAX_LIST_ITEMS } from "./arguments.ts";
import { noteBuckets, statisticsRows } from "./bucket-fold.ts";
import { builder } from "./builder.ts";
import {
  checkPrices,
  currencies,
  MevCurrencyRef,
  MevNetBenefitRef,
  type MevRowSource,
  SlotsToLandRef,
  slotsToLand,
  TipOverFloorRef,
  TipStatsRef,
  TokenPriceRef,
} from "./mev-breakdowns.ts";
import { argsKey, TimeBucketEnum, TimeRangeRef } from "./range.ts";
import "./scalars.ts";

const MevGroupKeyEnum = builder.enumType("MevGroupKey", {
  description:
    "What mevEffectiveness groups by: PROTECTION (method), STRATEGY and/or VENUE (as recorded on the MEV rows).",
  values: MEV_GROUP_KEYS,
});

type Row = MevRowSource;

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

/** The linked trades' figures of a row (one join per request for all rows, when selected). */
async function links(r: Row, { services, loaders, reads }: Context): Promise<MevLinkFigures> {
  const all = await loaders.once(`mev.links|${r.bucketed}|${argsKey(r.args)}`, () =>
    mevLinks(
      reads,
      { mev: services.tables.mev_metrics, trades: services.tables.trades },
      r.args,
      r.bucketed,
      services.maxResultRows,
    ),
  );
  return all.get(mevRowKey(r.row.bucket, r.row.groupValues)) ?? NO_LINKS;
}

/** A mixed-currency sum kept for old clients (issue 16, point 4). */
const MIXED = "Adds the amounts of every quote token as if they were one currency; read byCurrency.";

const MevEffectivenessRowRef = builder.objectRef<Row>("MevEffectivenessRow").implement({
  description:
    "MEV results of the transactions in one bucket and group (one mev_metrics row per transaction). Rates are 0..1 and null when their denominator is 0; money per currency in byCurrency, tips and fees in lamports. Attacked, its parts and landed are defined once (docs/queries.md#mev-vocabulary).",
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
    venue: t.string({
      nullable: true,
      description: "Null unless grouped by VENUE (or no venue recorded on the MEV rows).",
      resolve: (r) => r.row.venue,
    }),
    transactions: t.int({ resolve: (r) => r.row.transactions }),
    protectedShare: t.float({
      nullable: true,
      description: "Share of transactions sent with a protection (any method but NONE).",
      resolve: (r) => ratio(r.row.protectedCount, r.row.transactions),
    }),
    attacks: t.int({
      description:
        "Transactions attacked: outcome SANDWICHED, FRONT_RUN or BACK_RUN (= sandwiched + frontRun + backRun).",
      resolve: (r) => r.row.attacks,
    }),
    attackRate: t.float({
      nullable: true,
      description: "attacks / transactions.",
      resolve: (r) => ratio(r.row.attacks, r.row.transactions),
    }),
    sandwiched: t.int({ description: "Transactions with outcome SANDWICHED.", resolve: (r) => r.row.sandwiched }),
    frontRun: t.int({ description: "Transactions with outcome FRONT_RUN.", resolve: (r) => r.row.frontRun }),
    backRun: t.int({ description: "Transactions with outcome BACK_RUN.", resolve: (r) => r.row.backRun }),
    attacksDetected: t.int({ description: "Transactions with attackDetected.", resolve: (r) => r.row.attacksDetected }),
    landed: t.int({
      description: "Transactions that landed (outcome neither FAILED nor DROPPED).",
      resolve: (r) => r.row.landed,
    }),
    landingRate: t.float({
      nullable: true,
      description: "landed / transactions.",
      resolve: (r) => ratio(r.row.landed, r.row.transactions),
    }),
    slotsToLand: t.field({
      type: [SlotsToLandRef],
      description:
        "Distribution of slotsToLand over the landed transactions that recorded it: four buckets, 0, 1, 2 and 3+ slots.",
      resolve: (r) => slotsToLand(r.row),
    }),
    bundles: t.int({ description: "Transactions sent as JITO_BUNDLE.", resolve: (r) => r.row.bundles }),
    bundleLandingRate: t.float({
      nullable: true,
      description: "Landed bundles / bundles.",
      resolve: (r) => ratio(r.row.bundlesLanded, r.row.bundles),
    }),
    tipsLamports: t.field({ type: "Long", description: "Σ tips paid.", resolve: (r) => r.row.tipsLamports }),
    tipPerLandedBundle: t.field({
      type: TipStatsRef,
      description: "Tips of the landed bundles (JITO_BUNDLE, landed): mean exact, p50 / p90 approximate.",
      resolve: (r) => r,
    }),
    tipOverFloor: t.field({
      type: TipOverFloorRef,
      description: "Tips of the landed bundles that recorded tipFloorLamports, against that floor.",
      resolve: (r) => r.row,
    }),
    priorityFeesLamports: t.field({
      type: "Long",
      description:
        "Σ priority fees of the linked trades (same tradeId and writer, within an hour). Runs a join, only when asked for.",
      resolve: async (r, _args, context) => (await links(r, context)).priorityFees,
    }),
    priorityFeePerComputeUnit: t.float({
      nullable: true,
      description:
        "Σ priorityFee × 10⁶ / Σ computeUnits over the linked rows that recorded computeUnits: micro-lamports per compute unit (the average compute-unit price, weighted by units). Null without such rows. From the join.",
      resolve: async (r, _args, context) => {
        const l = await links(r, context);
        return l.computeUnits > 0n ? (Number(l.cuPriorityFees) * 1e6) / Number(l.computeUnits) : null;
      },
    }),
    linkedTrades: t.int({
      description: "MEV rows whose trade was found (same tradeId and writer, within an hour). From the join.",
      resolve: async (r, _args, context) => (await links(r, context)).linked,
    }),
    statusMismatches: t.int({
      description:
        "Linked MEV rows whose trade's mevStatus disagrees with the outcome (docs/queries.md#mev-vocabulary: the same attack, no attack on either side, or status UNKNOWN agree). From the join.",
      resolve: async (r, _args, context) => (await links(r, context)).statusMismatches,
    }),
    byCurrency: t.field({
      type: [MevCurrencyRef],
      description:
        "Loss avoided and profits per quote token recorded on the MEV rows (token null: rows without one), tokens in name order. One statement for all rows, only when asked for.",
      resolve: (r, _args, context) => currencies(r, context),
    }),
    netBenefitAt: t.field({
      type: MevNetBenefitRef,
      description: `Σ lossAvoided × price of its quote token − (tipsLamports + priorityFeesLamports) / 10⁹ × price of ${LAMPORTS_TOKEN}, in the currency the prices are given in. Parts without a price are left out and listed in unconvertedTokens.`,
      args: {
        prices: t.arg({
          type: [TokenPriceRef],
          required: true,
          description: `Price of one unit of each token in one reference currency; ${LAMPORTS_TOKEN} converts tips and priority fees. At most ${MAX_LIST_ITEMS}, each token once, prices 0 to ${MAX_AMOUNT}.`,
        }),
      },
      resolve: async (r, args, context) => {
        const prices = checkPrices(args.prices);
        const costs = r.row.tipsLamports + (await links(r, context)).priorityFees;
        return netBenefitAt(await currencies(r, context), costs, prices);
      },
    }),
    lossAvoided: t.float({
      description: "Σ estimated loss avoided (quote units of every token added together).",
      deprecationReason: MIXED,
      resolve: (r) => r.row.lossAvoided,
    }),
    netBenefit: t.float({
      description:
        "lossAvoided − (tipsLamports + priorityFeesLamports) / 1e9 × solPrice, in quote units. solPrice converts lamports: the price of 1 SOL in the quote token (1 when the quote is SOL).",
      deprecationReason: "Adds the loss avoided of every quote token as one currency; use netBenefitAt(prices).",
      args: {
        solPrice: t.arg.float({ required: true, description: `Quote units per SOL, 0 to ${MAX_AMOUNT}.` }),
      },
      resolve: async (r, args, context) => {
        checkAmount("solPrice", args.solPrice);
        const costs = Number(r.row.tipsLamports + (await links(r, context)).priorityFees);
        return r.row.lossAvoided - (costs / 1e9) * args.solPrice;
      },
    }),
    opportunities: t.int({
      description: "The bot's own opportunities: transactions with an expected profit.",
      resolve: (r) => r.row.opportunities,
    }),
    expectedProfit: t.float({
      description: "Σ expected profit of the opportunities.",
      deprecationReason: MIXED,
      resolve: (r) => r.row.expectedProfit,
    }),
    realizedProfit: t.float({
      description: "Σ realized profit of the opportunities (a missing one counts as 0).",
      deprecationReason: MIXED,
      resolve: (r) => r.row.realizedProfit,
    }),
    captureRatio: t.float({
      nullable: true,
      description: "realizedProfit / expectedProfit; null without opportunities or when expectedProfit is 0.",
      deprecationReason: MIXED,
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
      resolve: (args, _a, context) =>
        statisticsRows("mevEffectiveness", mevTotals, mevPartials, context.services.rollups.mev, args, context, false),
    }),
    buckets: t.field({
      type: [MevEffectivenessRowRef],
      description: "One row per bucket and group, empty buckets included. Empty when no bucket was given.",
      resolve: (args, _a, context) =>
        statisticsRows("mevEffectiveness", mevBuckets, mevPartials, context.services.rollups.mev, args, context, true),
    }),
  }),
});

builder.queryFields((t) => ({
  mevEffectiveness: t.field({
    type: MevEffectivenessRef,
    description:
      "Share protected, attacks and their parts, landing rates and slots to land, tips (per landed bundle, over the floor), priority fee per compute unit, mevStatus mismatches, money per currency and net benefit, per calendar bucket and per protection method, strategy and/or venue.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      bucket: t.arg({ type: TimeBucketEnum, description: "Leave out for totals only." }),
      groupBy: t.arg({
        type: [MevGroupKeyEnum],
        description: `Default: no grouping. At most ${MAX_LIST_ITEMS} items; duplicates ignored.`,
      }),
    },
    resolve: (_root, args, _context, info) => {
      checkRange(args.range, args.bucket);
      const groupBy = normalizeMevGroupBy(checkList("groupBy", args.groupBy));
      return noteBuckets<MevEffectivenessArgs>({ range: args.range, bucket: args.bucket ?? null, groupBy }, info);
    },
  }),
}));
