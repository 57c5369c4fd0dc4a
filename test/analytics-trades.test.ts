// Trade history filters (pair, slippage and fee ranges) and the nested latency/MEV fields, which
// must load with one SQL statement per field per request.
import { beforeAll, describe, expect, it } from "vitest";
import {
  type TradeFilter,
  TradeIdsDocument,
  type TradeIdsQuery,
  type TradeIdsQueryVariables,
  TradesWithLinksDocument,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Dataset, type GenTrade, generateDataset, HOUR_US, iso, loadDataset } from "./support/dataset.ts";

let t: TestApp;
let ds: Dataset;
beforeAll(async () => {
  t = await startTestApp("tradefilters");
  ds = generateDataset(11);
  await loadDataset(t, ds);
});

const byTime = (a: GenTrade, b: GenTrade) =>
  a.micros === b.micros ? (a.tradeId < b.tradeId ? -1 : 1) : a.micros < b.micros ? -1 : 1;

async function walk(filter: TradeFilter, first = 250): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const r: Awaited<ReturnType<typeof t.gql<TradeIdsQuery, TradeIdsQueryVariables>>> = await t.gql(TradeIdsDocument, {
      filter,
      first,
      after,
      order: "ASC",
    });
    expect(r.errors).toBeUndefined();
    ids.push(...(r.data?.trades.edges.map((e) => e.node.tradeId) ?? []));
    if (!r.data?.trades.pageInfo.hasNextPage) return ids;
    after = r.data.trades.pageInfo.endCursor;
  }
  throw new Error("too many pages");
}

const fee = (trade: GenTrade) => Number(trade.transactionFee) + Number(trade.priorityFee);

describe("trades filters", () => {
  const cases: [string, TradeFilter, (trade: GenTrade) => boolean][] = [
    [
      "pair",
      { pair: { baseToken: "SOL", quoteToken: "USDC" } },
      (x) => x.baseToken === "SOL" && x.quoteToken === "USDC",
    ],
    ["a pair that never traded", { pair: { baseToken: "SOL", quoteToken: "SOL" } }, () => false],
    [
      "actual slippage from 0 to 1 %",
      { actualSlippage: { min: 0, max: 0.01 } },
      (x) => x.actualSlippage >= 0 && x.actualSlippage <= 0.01,
    ],
    ["price improvement (negative slippage)", { actualSlippage: { max: -1 / 65_536 } }, (x) => x.actualSlippage < 0],
    ["expected slippage at least 2 %", { expectedSlippage: { min: 0.02 } }, (x) => x.expectedSlippage >= 0.02],
    [
      "transaction fee range, inclusive at both ends",
      { transactionFee: { min: 8000, max: "9000" } },
      (x) => Number(x.transactionFee) >= 8000 && Number(x.transactionFee) <= 9000,
    ],
    ["priority fee at most 100000", { priorityFee: { max: 100_000 } }, (x) => Number(x.priorityFee) <= 100_000],
    [
      "total fee range",
      { totalFee: { min: 1_000_000, max: 1_500_000 } },
      (x) => fee(x) >= 1_000_000 && fee(x) <= 1_500_000,
    ],
    [
      "everything at once",
      {
        pair: { baseToken: "JUP", quoteToken: "USDC" },
        actualSlippage: { min: -0.005, max: 0.03 },
        totalFee: { min: 200_000 },
        strategy: "alpha",
        from: "",
        to: "",
      },
      (x) =>
        x.baseToken === "JUP" &&
        x.quoteToken === "USDC" &&
        x.actualSlippage >= -0.005 &&
        x.actualSlippage <= 0.03 &&
        fee(x) >= 200_000 &&
        x.strategy === "alpha" &&
        x.micros >= ds.day0 &&
        x.micros < ds.day0 + 12n * HOUR_US,
    ],
  ];

  for (const [name, filter, predicate] of cases) {
    it(`filters by ${name} like an independent filter, across pages`, async () => {
      const f = { ...filter };
      if (f.from === "") f.from = iso(ds.day0);
      if (f.to === "") f.to = iso(ds.day0 + 12n * HOUR_US);
      const want = ds.trades
        .filter(predicate)
        .sort(byTime)
        .map((x) => x.tradeId);
      expect(await walk(f)).toEqual(want);
    });
  }

  it("refuses a range whose min is above its max, naming the field", async () => {
    const slip = await t.gql(TradeIdsDocument, { filter: { actualSlippage: { min: 0.02, max: 0.01 } } });
    expect(slip.errors?.[0]?.message).toBe("filter.actualSlippage: min (0.02) is greater than max (0.01)");
    expect(slip.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "filter.actualSlippage" });
    const fees = await t.gql(TradeIdsDocument, { filter: { totalFee: { min: "5", max: 4 } } });
    expect(fees.errors?.[0]?.message).toBe("filter.totalFee: min (5) is greater than max (4)");
  });
});

describe("nested latency measurements and MEV record", () => {
  const statements = (name: string) => t.app.services.sql.stats().byName[name] ?? 0;

  function expectedLinks(trade: GenTrade) {
    const latency = ds.latency
      .filter((m) => m.tradeId === trade.tradeId)
      .sort((a, b) => (a.micros === b.micros ? (a.stage < b.stage ? -1 : 1) : a.micros < b.micros ? -1 : 1))
      .map((m) => ({
        metricId: `${trade.tradeId}:${m.stage}`,
        timestamp: m.timestamp,
        stage: m.stage,
        latencyUs: String(m.latencyUs),
        success: m.success ?? true,
        strategy: m.strategy ?? null,
        tradeId: trade.tradeId,
      }));
    const m = ds.mev.find((x) => x.tradeId === trade.tradeId);
    const mev = m
      ? {
          metricId: trade.tradeId,
          timestamp: m.timestamp,
          tradeId: trade.tradeId,
          protection: m.protection,
          outcome: m.outcome,
          tipLamports: String(m.tipLamports),
          expectedProfit: m.expectedProfit ?? null,
          realizedProfit: m.realizedProfit ?? null,
          lossAvoided: m.lossAvoided ?? null,
          attackDetected: m.attackDetected ?? false,
          slotsToLand: m.slotsToLand ?? null,
          strategy: m.strategy ?? null,
        }
      : null;
    return { tradeId: trade.tradeId, timestamp: trade.timestamp, latencyMetrics: latency, mev };
  }

  it("loads a page of 200 trades with their measurements and MEV records in one statement per field", async () => {
    const filter = { from: iso(ds.day0 - 6n * HOUR_US), to: iso(ds.day0 + 30n * HOUR_US) };
    const want = [...ds.trades].sort(byTime).reverse();
    const before = {
      trades: statements("trades"),
      latency: statements("trade.latencyMetrics"),
      mev: statements("trade.mev"),
    };

    const page1 = await t.gql(TradesWithLinksDocument, { filter, first: 200 });
    expect(page1.errors).toBeUndefined();
    expect(page1.data?.trades.edges.map((e) => e.node)).toEqual(want.slice(0, 200).map(expectedLinks));
    expect(page1.data?.trades.edges.some((e) => e.node.latencyMetrics.length === 5)).toBe(true);
    expect(page1.data?.trades.edges.some((e) => e.node.mev !== null)).toBe(true);
    expect(statements("trades") - before.trades).toBe(1);
    expect(statements("trade.latencyMetrics") - before.latency).toBe(1);
    expect(statements("trade.mev") - before.mev).toBe(1);

    const page2 = await t.gql(TradesWithLinksDocument, {
      filter,
      first: 200,
      after: page1.data?.trades.pageInfo.endCursor ?? null,
    });
    expect(page2.data?.trades.edges.map((e) => e.node)).toEqual(want.slice(200, 400).map(expectedLinks));
    expect(statements("trade.latencyMetrics") - before.latency).toBe(2);
    expect(statements("trade.mev") - before.mev).toBe(2);

    // The same page again: every statement is answered from the cache.
    await t.gql(TradesWithLinksDocument, { filter, first: 200 });
    expect(statements("trade.latencyMetrics") - before.latency).toBe(2);
    expect(statements("trades") - before.trades).toBe(2);
  });

  it("gives an empty list and null for trades without measurements or MEV record", async () => {
    const lonely = ds.trades.find((_trade, i) => i % 3 !== 0 && i % 4 !== 1) as GenTrade;
    const r = await t.gql(TradesWithLinksDocument, { filter: { tradeId: lonely.tradeId } });
    expect(r.data?.trades.edges.map((e) => e.node)).toEqual([
      { tradeId: lonely.tradeId, timestamp: lonely.timestamp, latencyMetrics: [], mev: null },
    ]);
  });
});
