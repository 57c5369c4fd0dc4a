// mevEffectiveness against the real QuestDB, every figure compared with an independent
// computation over the generated MEV records and their trades.
import { beforeAll, describe, expect, it } from "vitest";
import {
  MevEffectivenessDocument,
  MevEffectivenessLeanDocument,
  type MevEffectivenessQuery,
  type MevGroupKey,
  type TimeBucket,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Dataset, type GenMev, generateDataset, HOUR_US, iso, loadDataset } from "./support/dataset.ts";
import { type Bucket, bucketsOf, floorTo, groupsOf, inRange, mevFigures } from "./support/expected.ts";

const SOL_PRICE = 187.5;

let t: TestApp;
let ds: Dataset;
let feeOf: (tradeId: string) => number | undefined;
beforeAll(async () => {
  t = await startTestApp("mev");
  ds = generateDataset(31);
  await loadDataset(t, ds);
  const fees = new Map(ds.trades.map((trade) => [trade.tradeId, Number(trade.priorityFee)]));
  feeOf = (id) => fees.get(id);
});

type Row = MevEffectivenessQuery["mevEffectiveness"]["totals"][number];

function expectedRow(
  bucket: bigint | null,
  group: { protection: string | null; strategy: string | null },
  rows: GenMev[],
) {
  const { netBenefit, landed: _landed, bundlesLanded: _bl, ...figures } = mevFigures(rows, feeOf);
  return {
    bucket: bucket === null ? null : iso(bucket),
    ...group,
    ...figures,
    landingRate: rows.length ? _landed / rows.length : null,
    attacksDetected: rows.filter((r) => r.attackDetected).length,
    netBenefit: netBenefit(SOL_PRICE),
  };
}

async function check(from: bigint, to: bigint, bucket: Bucket | null, groupBy: MevGroupKey[]) {
  const what = `${iso(from)}..${iso(to)} ${bucket} [${groupBy}]`;
  const result = await t.gql(MevEffectivenessDocument, {
    range: { from: iso(from), to: iso(to) },
    ...(bucket ? { bucket: bucket as TimeBucket } : {}),
    groupBy,
    solPrice: SOL_PRICE,
  });
  expect(result.errors, what).toBeUndefined();
  const rows = ds.mev.filter((m) => inRange(m.micros, from, to));
  const groupOf = (m: GenMev) => ({
    protection: groupBy.includes("PROTECTION") ? m.protection : null,
    strategy: groupBy.includes("STRATEGY") ? (m.strategy ?? null) : null,
  });
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  // No data, no row (docs/queries.md): ungrouped, the one group exists when the range has a row.
  const groups = groupBy.length
    ? groupsOf(rows.map(groupOf), ["protection", "strategy"])
    : rows.length > 0
      ? [{ protection: null, strategy: null }]
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
  expect(sortKeys(stats.totals), `${what} totals`).toEqual(sortKeys(totals));
  expect(sortKeys(stats.buckets), `${what} buckets`).toEqual(sortKeys(buckets));
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

  it("fills hours without transactions, per group, with zero counts and null rates", async () => {
    const stats = await check(ds.day0 + 3n * HOUR_US, ds.day0 + 10n * HOUR_US, "HOUR", ["PROTECTION"]);
    const empty = stats.buckets.filter((r) => r.bucket === iso(ds.day0 + 6n * HOUR_US));
    expect(empty.map((r) => r.protection)).toEqual(["JITO_BUNDLE", "NONE", "OTHER", "PRIVATE_RPC"]);
    for (const row of empty) {
      expect(row).toMatchObject({
        transactions: 0,
        protectedShare: null,
        attackRate: null,
        landingRate: null,
        bundleLandingRate: null,
        captureRatio: null,
        tipsLamports: "0",
        priorityFeesLamports: "0",
        netBenefit: 0,
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

  it("runs the join for priority fees only when they are asked for", async () => {
    const count = () => t.app.services.sql.stats().byName["mevEffectiveness.priorityFees"] ?? 0;
    const before = count();
    const range = { from: iso(ds.day0), to: iso(ds.day0 + 2n * HOUR_US) };
    const lean = await t.gql(MevEffectivenessLeanDocument, { range, groupBy: ["STRATEGY"] });
    expect(lean.errors).toBeUndefined();
    expect(count()).toBe(before);
    await t.gql(MevEffectivenessDocument, { range, groupBy: ["STRATEGY"], solPrice: 1 });
    expect(count()).toBe(before + 1);
  });

  it("refuses a negative SOL price", async () => {
    const r = await t.gql(MevEffectivenessDocument, {
      range: { from: iso(ds.day0), to: iso(ds.day0 + HOUR_US) },
      solPrice: -1,
    });
    expect(r.errors?.[0]?.message).toBe("solPrice: must not be negative");
  });
});
