// mevEffectiveness against the real QuestDB, every figure compared with an independent
// computation over the generated MEV records and their trades.
import { beforeAll, describe, expect, it } from "vitest";
import { statusAgrees } from "../src/analytics/mev-vocabulary.ts";
import { MEV_OUTCOMES } from "../src/ingest/mev-record.ts";
import { MEV_STATUSES } from "../src/ingest/trade-record.ts";
import { measureRule } from "../src/live/alert-measures.ts";
import {
  MevEffectivenessDocument,
  MevEffectivenessLeanDocument,
  type MevEffectivenessQuery,
  type MevGroupKey,
  MevNetBenefitDocument,
  type TimeBucket,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
  type Dataset,
  type GenMev,
  type GenTrade,
  generateDataset,
  HOUR_US,
  iso,
  loadDataset,
} from "./support/dataset.ts";
import {
  AGREES,
  type Bucket,
  bucketsOf,
  exactPercentile,
  floorTo,
  groupsOf,
  inRange,
  mevFigures,
} from "./support/expected.ts";

const SOL_PRICE = 187.5;
const PRICES = [
  { token: "USDC", price: 1 },
  { token: "SOL", price: SOL_PRICE },
];

let t: TestApp;
let ds: Dataset;
let tradeOf: (tradeId: string) => GenTrade | undefined;
beforeAll(async () => {
  t = await startTestApp("mev");
  ds = generateDataset(31);
  await loadDataset(t, ds);
  const trades = new Map(ds.trades.map((trade) => [trade.tradeId, trade]));
  tradeOf = (id) => trades.get(id);
});

type Row = MevEffectivenessQuery["mevEffectiveness"]["totals"][number];
type Group = { protection: string | null; strategy: string | null; venue: string | null };

function expectedRow(bucket: bigint | null, group: Group, rows: GenMev[]) {
  const { netBenefit, netBenefitAt, landedBundleTips: tips, bundlesLanded: _, ...figures } = mevFigures(rows, tradeOf);
  const total = tips.reduce((a, b) => a + b, 0);
  return {
    bucket: bucket === null ? null : iso(bucket),
    ...group,
    ...figures,
    attacksDetected: rows.filter((r) => r.attackDetected).length,
    netBenefit: netBenefit(SOL_PRICE),
    netBenefitAt: netBenefitAt({ USDC: 1, SOL: SOL_PRICE }),
    tipPerLandedBundle: {
      bundles: tips.length,
      totalLamports: String(total),
      meanLamports: tips.length ? total / tips.length : null,
      p50Lamports: exactPercentile(tips, 0.5),
      p90Lamports: exactPercentile(tips, 0.9),
    },
  };
}

/**
 * The tip percentiles come from QuestDB's approx_percentile (precision 3): exact below 2048
 * lamports, otherwise from the exact nearest-rank value to 1/1024 above it. Checked here, then
 * the exact value is put in the answer so the rest compares with toEqual.
 */
function checkTipPercentiles(actual: Row, expected: ReturnType<typeof expectedRow>, what: string): Row {
  const tips = { ...actual.tipPerLandedBundle };
  for (const key of ["p50Lamports", "p90Lamports"] as const) {
    const exact = expected.tipPerLandedBundle[key];
    const got = tips[key];
    if (exact === null || exact < 2048) expect(got, `${what} ${key}`).toBe(exact);
    else {
      expect(got, `${what} ${key}`).toBeGreaterThanOrEqual(exact);
      expect(got, `${what} ${key}`).toBeLessThanOrEqual(exact * (1 + 1 / 1024));
    }
    tips[key] = exact;
  }
  return { ...actual, tipPerLandedBundle: tips };
}

async function check(from: bigint, to: bigint, bucket: Bucket | null, groupBy: MevGroupKey[]) {
  const what = `${iso(from)}..${iso(to)} ${bucket} [${groupBy}]`;
  const result = await t.gql(MevEffectivenessDocument, {
    range: { from: iso(from), to: iso(to) },
    ...(bucket ? { bucket: bucket as TimeBucket } : {}),
    groupBy,
    solPrice: SOL_PRICE,
    prices: PRICES,
  });
  expect(result.errors, what).toBeUndefined();
  const rows = ds.mev.filter((m) => inRange(m.micros, from, to));
  const groupOf = (m: GenMev): Group => ({
    protection: groupBy.includes("PROTECTION") ? m.protection : null,
    strategy: groupBy.includes("STRATEGY") ? (m.strategy ?? null) : null,
    venue: groupBy.includes("VENUE") ? (m.venue ?? null) : null,
  });
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  // No data, no row (docs/queries.md): ungrouped, the one group exists when the range has a row.
  const groups = groupBy.length
    ? groupsOf(rows.map(groupOf), ["protection", "strategy", "venue"])
    : rows.length > 0
      ? [{ protection: null, strategy: null, venue: null }]
      : [];
  const totals = groups.map((g) =>
    expectedRow(
      null,
      g,
      rows.filter((m) => same(groupOf(m), g)),
    ),
  );
  const buckets = bucket
    ? bucketsOf(from, to, bucket).flatMap((b) =>
        groups.map((g) =>
          expectedRow(
            b,
            g,
            rows.filter((m) => same(groupOf(m), g) && floorTo(m.micros, bucket) === b),
          ),
        ),
      )
    : [];
  const stats = result.data?.mevEffectiveness as MevEffectivenessQuery["mevEffectiveness"];
  const sortKeys = (rows: Row[] | ReturnType<typeof expectedRow>[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))));
  const approx = (actual: Row[], expected: ReturnType<typeof expectedRow>[], part: string) =>
    actual.map((row, i) => (expected[i] ? checkTipPercentiles(row, expected[i], `${what} ${part}[${i}]`) : row));
  expect(sortKeys(approx(stats.totals, totals, "totals")), `${what} totals`).toEqual(sortKeys(totals));
  expect(sortKeys(approx(stats.buckets, buckets, "buckets")), `${what} buckets`).toEqual(sortKeys(buckets));
  return stats;
}

describe("mevEffectiveness", () => {
  const from = () => ds.day0 - 6n * HOUR_US;
  const to = () => ds.day0 + 30n * HOUR_US;

  it("matches an independent computation overall, per protection method, per strategy and both, across partitions", async () => {
    const overall = await check(from(), to(), null, []);
    expect(overall.totals[0]?.transactions).toBe(ds.mev.length);
    await check(from(), to(), null, ["PROTECTION"]);
    await check(from(), to(), null, ["STRATEGY"]);
    await check(from(), to(), "DAY", ["STRATEGY", "PROTECTION"]);
  });

  it("folds the totals from the buckets' rows when both are asked for, without statements of their own", async () => {
    const count = (prefix: string) =>
      Object.entries(t.app.services.sql.stats().byName)
        .filter(([name]) => name.startsWith(prefix))
        .reduce((sum, [, n]) => sum + n, 0);
    // A range no other test asks for, so nothing comes from the cache.
    const [a, b] = [from() + 7n, to() - 11n];
    const [totals, buckets] = [count("mevEffectiveness.totals."), count("mevEffectiveness.buckets.")];
    await check(a, b, "HOUR", ["PROTECTION"]);
    expect(count("mevEffectiveness.totals.") - totals).toBe(0);
    expect(count("mevEffectiveness.buckets.") - buckets).toBeGreaterThan(0);
    await check(a, b, null, ["PROTECTION"]);
    expect(count("mevEffectiveness.totals.") - totals).toBeGreaterThan(0);
  });

  it("gives landing rate, slots to land, tips and mismatches per venue and per protection method and venue", async () => {
    const byVenue = await check(from(), to(), null, ["VENUE"]);
    expect(byVenue.totals.map((r) => r.venue)).toEqual([null, "orca", "raydium"]);
    await check(from(), to(), "DAY", ["PROTECTION", "VENUE"]);
    const overall = await check(from(), to(), null, []);
    const row = overall.totals[0] as Row;
    // The data set has every kind of row these figures need, so none of them is vacuous.
    expect(row.slotsToLand.every((b) => b.count > 0)).toBe(true);
    expect(row.tipOverFloor.bundles).toBeGreaterThan(0);
    expect(row.tipPerLandedBundle.bundles).toBeGreaterThan(row.tipOverFloor.bundles);
    expect(row.priorityFeePerComputeUnit).not.toBeNull();
    expect(row.statusMismatches).toBeGreaterThan(0);
    expect(row.statusMismatches).toBeLessThan(row.linkedTrades);
    expect(row.attacks).toBe(row.sandwiched + row.frontRun + row.backRun);
  });

  it("reports money per quote token, never added across currencies, and converts the net benefit with the prices given", async () => {
    const stats = await check(from(), to(), "DAY", ["PROTECTION"]);
    const totals = (await check(from(), to(), null, [])).totals[0] as Row;
    expect(totals.byCurrency.map((c) => c.token)).toEqual([null, "SOL", "USDC"]);
    expect(totals.netBenefitAt.unconvertedTokens).toEqual([null]);
    expect(stats.buckets.length).toBeGreaterThan(0);
    const range = { from: iso(from()), to: iso(to()) };
    const rows = ds.mev.filter((m) => inRange(m.micros, from(), to()));
    const figures = mevFigures(rows, tradeOf);
    for (const prices of [
      [{ token: "USDC", price: 2.5 }],
      [],
      [
        { token: "SOL", price: 0 },
        { token: "BONK", price: 3 },
      ],
    ]) {
      const r = await t.gql(MevNetBenefitDocument, { range, prices });
      expect(r.errors).toBeUndefined();
      const expected = figures.netBenefitAt(Object.fromEntries(prices.map((p) => [p.token, p.price])));
      expect(r.data?.mevEffectiveness.totals[0]?.netBenefitAt, JSON.stringify(prices)).toEqual(expected);
    }
    const usdcOnly = await t.gql(MevNetBenefitDocument, { range, prices: [{ token: "USDC", price: 1 }] });
    expect(usdcOnly.data?.mevEffectiveness.totals[0]?.netBenefitAt.unconvertedTokens).toEqual([null, "SOL"]);
  });

  it("refuses prices that name a bad token, a token twice or a price out of bounds, naming the item", async () => {
    const range = { from: iso(ds.day0), to: iso(ds.day0 + HOUR_US) };
    const cases = [
      [[{ token: "has space", price: 1 }], "prices[0].token"],
      [
        [
          { token: "SOL", price: 1 },
          { token: "SOL", price: 2 },
        ],
        "prices[1].token: SOL is priced twice",
      ],
      [[{ token: "USDC", price: -1 }], "prices[0].price: must not be negative"],
      [[{ token: "USDC", price: 1e16 }], "prices[0].price: must be at most 1000000000000000"],
    ] as const;
    for (const [prices, message] of cases) {
      const r = await t.gql(MevNetBenefitDocument, { range, prices: [...prices] });
      expect(r.errors?.[0]?.message, message).toContain(message);
      expect(r.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    }
  });

  it("measures the SANDWICH_RATE and ATTACK_RATE alerts with the same vocabulary, in one unit", async () => {
    const ctx = { sql: t.app.services.sql, tables: t.app.services.tables, writer: t.app.writer, deadlineMs: 10_000 };
    // A window over the whole data set (days old): the alert statements have no upper bound.
    const rule = { id: "r", stage: null, windowSeconds: 5 * 86_400, threshold: 1, hysteresis: 0.1 };
    const now = BigInt(Date.now()) * 1000n;
    const sandwich = await measureRule({ ...rule, kind: "SANDWICH_RATE" }, now, ctx);
    const attack = await measureRule({ ...rule, kind: "ATTACK_RATE" }, now, ctx);
    const share = (statuses: string[]) =>
      ds.trades.filter((trade) => statuses.includes(trade.mevStatus)).length / ds.trades.length;
    const attacked = share(["SANDWICHED", "FRONT_RUN", "BACK_RUN"]);
    // Whatever the threshold unit (a percent or a fraction), both kinds use the same one.
    const unit = (sandwich as number) / share(["SANDWICHED"]);
    expect([1, 100].some((u) => Math.abs(unit - u) < 1e-9)).toBe(true);
    expect(attack).toBeCloseTo(attacked * unit, 12);
  });

  it("defines agreement of outcome and mevStatus by one table", () => {
    for (const outcome of MEV_OUTCOMES) {
      for (const status of MEV_STATUSES) {
        expect(statusAgrees(outcome, status), `${outcome} ${status}`).toBe(AGREES[outcome]?.includes(status));
      }
    }
  });

  it("fills hours without transactions, per group, with zero counts and null rates", async () => {
    const stats = await check(ds.day0 + 3n * HOUR_US, ds.day0 + 10n * HOUR_US, "HOUR", ["PROTECTION"]);
    const empty = stats.buckets.filter((r) => r.bucket === iso(ds.day0 + 6n * HOUR_US));
    expect(empty.map((r) => r.protection)).toEqual(["JITO_BUNDLE", "NONE", "OTHER", "PRIVATE_RPC"]);
    for (const row of empty) {
      expect(row).toMatchObject({
        transactions: 0,
        protectedShare: null,
        attackRate: null,
        sandwiched: 0,
        landingRate: null,
        slotsToLand: [
          { slots: "0", count: 0, share: null },
          { slots: "1", count: 0, share: null },
          { slots: "2", count: 0, share: null },
          { slots: "3+", count: 0, share: null },
        ],
        tipOverFloor: { bundles: 0, meanExcessLamports: null, ratio: null },
        bundleLandingRate: null,
        captureRatio: null,
        tipsLamports: "0",
        priorityFeesLamports: "0",
        priorityFeePerComputeUnit: null,
        statusMismatches: 0,
        netBenefit: 0,
        netBenefitAt: { value: 0, unconvertedTokens: [] },
        byCurrency: [],
        tipPerLandedBundle: { bundles: 0, meanLamports: null, p50Lamports: null, p90Lamports: null },
      });
    }
  });

  it("answers one transaction, and an empty range with no rows, grouped or not", async () => {
    const m = ds.mev[10] as GenMev;
    await check(m.micros, m.micros + 1n, "MINUTE", ["PROTECTION"]);
    const empty = await check(ds.day0 + 5n * HOUR_US + 1n, ds.day0 + 8n * HOUR_US, "HOUR", []);
    expect(empty.totals).toEqual([]);
    expect(empty.buckets).toEqual([]);
    const grouped = await check(ds.day0 + 5n * HOUR_US + 1n, ds.day0 + 8n * HOUR_US, null, ["STRATEGY"]);
    expect(grouped.totals).toEqual([]);
  });

  it("runs the join, the tip percentiles and the money per currency only when asked for, once per request", async () => {
    const names = ["mevEffectiveness.priorityFees", "mevEffectiveness.tips", "mevEffectiveness.currencies"];
    const counts = () => names.map((name) => t.app.services.sql.stats().byName[name] ?? 0);
    const before = counts();
    const range = { from: iso(ds.day0), to: iso(ds.day0 + 2n * HOUR_US) };
    const lean = await t.gql(MevEffectivenessLeanDocument, { range, groupBy: ["STRATEGY"] });
    expect(lean.errors).toBeUndefined();
    expect(counts()).toEqual(before);
    // netBenefit, netBenefitAt and the join's four fields share one join; byCurrency and netBenefitAt one statement.
    // The join reads its range in pieces: cut an hour before the last whole hour (day0 + 1 h), two.
    await t.gql(MevEffectivenessDocument, { range, groupBy: ["STRATEGY"], solPrice: 1, prices: PRICES });
    expect(counts()).toEqual(before.map((n, i) => n + (i === 0 ? 2 : 1)));
  });

  it("refuses a negative SOL price", async () => {
    const r = await t.gql(MevEffectivenessDocument, {
      range: { from: iso(ds.day0), to: iso(ds.day0 + HOUR_US) },
      solPrice: -1,
      prices: PRICES,
    });
    expect(r.errors?.[0]?.message).toBe("solPrice: must not be negative");
  });
});
