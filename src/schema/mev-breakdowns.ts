// The parts of a MevEffectivenessRow with a type of their own (issue 16): slots to land, tips
// per landed bundle and over the floor, money per currency and the net benefit at given prices.
import {
  type MevCurrencyRow,
  mevCurrencies,
  mevTipPercentiles,
  type NetBenefit,
  TIP_PERCENTILE_PRECISION,
} from "../analytics/mev-breakdowns.ts";
import { type MevEffectivenessArgs, type MevEffectivenessRow, mevRowKey } from "../analytics/mev-effectiveness.ts";
import type { Context } from "../context.ts";
import { BadInputError } from "../errors.ts";
import { MAX_AMOUNT, nameProblem, numberProblem } from "../ingest/validation.ts";
import { checkList } from "./arguments.ts";
import { builder } from "./builder.ts";
import { argsKey } from "./range.ts";
import "./scalars.ts";

/** A row of the answer with what its lazy fields need to run their statements. */
export interface MevRowSource {
  row: MevEffectivenessRow;
  args: MevEffectivenessArgs;
  bucketed: boolean;
}

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

interface SlotsBucket {
  slots: string;
  count: number;
  share: number | null;
}

const SLOT_BUCKETS = ["0", "1", "2", "3+"] as const;

export const slotsToLand = (row: MevEffectivenessRow): SlotsBucket[] =>
  SLOT_BUCKETS.map((slots, i) => {
    const count = row.slots[i] ?? 0;
    return { slots, count, share: ratio(count, row.slotsRecorded) };
  });

export const SlotsToLandRef = builder.objectRef<SlotsBucket>("SlotsToLandBucket").implement({
  description: "One bucket of the slots-to-land distribution of the landed transactions that recorded slotsToLand.",
  fields: (t) => ({
    slots: t.exposeString("slots", { description: '"0", "1", "2" or "3+".' }),
    count: t.exposeInt("count"),
    share: t.exposeFloat("share", {
      nullable: true,
      description: "count / the landed transactions that recorded slotsToLand; null when none did.",
    }),
  }),
});

async function tipPercentiles(r: MevRowSource, { services, loaders, reads }: Context) {
  const all = await loaders.once(`mev.tips|${r.bucketed}|${argsKey(r.args)}`, () =>
    mevTipPercentiles(reads, services.tables.mev_metrics, r.args, r.bucketed, services.maxResultRows),
  );
  return all.get(mevRowKey(r.row.bucket, r.row.groupValues)) ?? { p50: null, p90: null };
}

export const TipStatsRef = builder.objectRef<MevRowSource>("MevTipStats").implement({
  description: "Tips of the landed bundles (protection JITO_BUNDLE, outcome neither FAILED nor DROPPED), lamports.",
  fields: (t) => ({
    bundles: t.int({ description: "Landed bundles.", resolve: (r) => r.row.bundlesLanded }),
    totalLamports: t.field({ type: "Long", resolve: (r) => r.row.landedBundleTips }),
    meanLamports: t.float({
      nullable: true,
      description: "Σ tip / landed bundles, exact; null without landed bundles.",
      resolve: (r) => ratio(Number(r.row.landedBundleTips), r.row.bundlesLanded),
    }),
    p50Lamports: t.float({
      nullable: true,
      description: `Median tip (nearest rank), from QuestDB's approx_percentile with precision ${TIP_PERCENTILE_PRECISION}: exact below 2048 lamports, otherwise at most 0.098 % above the exact value. A statement of its own, only when asked for.`,
      resolve: async (r, _args, context) => (await tipPercentiles(r, context)).p50,
    }),
    p90Lamports: t.float({
      nullable: true,
      description: "90th percentile tip (nearest rank), with the precision of p50Lamports.",
      resolve: async (r, _args, context) => (await tipPercentiles(r, context)).p90,
    }),
  }),
});

export const TipOverFloorRef = builder.objectRef<MevEffectivenessRow>("MevTipOverFloor").implement({
  description:
    "Landed bundles that recorded the tip floor the bot saw (tipFloorLamports), their tip against that floor.",
  fields: (t) => ({
    bundles: t.int({ description: "Landed bundles with a tip floor.", resolve: (r) => r.flooredBundles }),
    meanExcessLamports: t.float({
      nullable: true,
      description:
        "Mean of tip − floor, lamports (negative when the bot tipped under the floor); null without such bundles.",
      resolve: (r) => ratio(Number(r.tipOverFloor), r.flooredBundles),
    }),
    ratio: t.float({
      nullable: true,
      description: "Σ tip / Σ floor over those bundles (1: tipping at the floor); null when Σ floor is 0.",
      resolve: (r) => (r.floors > 0n ? Number(r.flooredTips) / Number(r.floors) : null),
    }),
  }),
});

/** A row's money per currency (one statement per request for all rows, when selected). */
export async function currencies(r: MevRowSource, { services, loaders, reads }: Context): Promise<MevCurrencyRow[]> {
  const all = await loaders.once(`mev.currencies|${r.bucketed}|${argsKey(r.args)}`, () =>
    mevCurrencies(reads, services.tables.mev_metrics, r.args, r.bucketed, services.maxResultRows),
  );
  return all.get(mevRowKey(r.row.bucket, r.row.groupValues)) ?? [];
}

export const MevCurrencyRef = builder.objectRef<MevCurrencyRow>("MevCurrencyAmounts").implement({
  description:
    "MEV money in one currency: the quote token recorded on the MEV rows. Amounts of different tokens are never added together.",
  fields: (t) => ({
    token: t.exposeString("token", {
      nullable: true,
      description: "The quote token; null for rows recorded without one (currency unknown).",
    }),
    transactions: t.exposeInt("transactions"),
    lossAvoided: t.exposeFloat("lossAvoided", { description: "Σ estimated loss avoided (null counts as 0)." }),
    opportunities: t.exposeInt("opportunities", { description: "Rows with an expected profit." }),
    expectedProfit: t.exposeFloat("expectedProfit", { description: "Σ expected profit of the opportunities." }),
    realizedProfit: t.exposeFloat("realizedProfit", {
      description: "Σ realized profit of the opportunities (a missing one counts as 0).",
    }),
    captureRatio: t.float({
      nullable: true,
      description: "realizedProfit / expectedProfit; null without opportunities or when expectedProfit is 0.",
      resolve: (c) => (c.opportunities > 0 && c.expectedProfit !== 0 ? c.realizedProfit / c.expectedProfit : null),
    }),
  }),
});

export const MevNetBenefitRef = builder.objectRef<NetBenefit>("MevNetBenefit").implement({
  description: "The net benefit converted into the prices' currency.",
  fields: (t) => ({
    value: t.exposeFloat("value", {
      description: "Over the converted parts only: complete when unconvertedTokens is empty.",
    }),
    unconvertedTokens: t.field({
      type: ["String"],
      nullable: { list: false, items: true },
      description:
        "Tokens with an amount in the figure but no price, in name order with SOL (lamport costs) last; null stands for rows without a quote token.",
      resolve: (b) => b.unconvertedTokens,
    }),
  }),
});

interface TokenPrice {
  token: string;
  price: number;
}

export const TokenPriceRef = builder.inputType("TokenPriceInput", {
  description: "The price of one unit of a token in a reference currency (the same for every item of a list).",
  fields: (t) => ({
    token: t.string({ required: true, description: "A token name as recorded (quoteToken), a name." }),
    price: t.float({ required: true, description: `0 to ${MAX_AMOUNT}.` }),
  }),
});

/** Checks a prices argument; returns the prices by token. */
export function checkPrices(list: readonly TokenPrice[]): Map<string, number> {
  const prices = new Map<string, number>();
  checkList("prices", list)?.forEach((item, i) => {
    const problem = nameProblem(item.token);
    if (problem !== undefined) throw new BadInputError(`prices[${i}].token`, problem);
    if (prices.has(item.token)) throw new BadInputError(`prices[${i}].token`, `${item.token} is priced twice`);
    const priceProblem = numberProblem(item.price, 0, MAX_AMOUNT);
    if (priceProblem !== undefined) throw new BadInputError(`prices[${i}].price`, priceProblem);
    prices.set(item.token, item.price);
  });
  return prices;
}
