// strategyPerformance against the real QuestDB: every figure compared with an independent,
// Freqtrade-style computation (test/support/expected.ts), plus a hand-checked drawdown series.
import { beforeAll, describe, expect, it } from "vitest";
import { RecordTradesDocument, StrategyPerformanceDocument, type TradeInput } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Dataset, generateDataset, HOUR_US, iso, loadDataset } from "./support/dataset.ts";
import { inRange, performanceFigures } from "./support/expected.ts";
import { walApplied } from "./support/questdb.ts";

let t: TestApp;
let ds: Dataset;
beforeAll(async () => {
  t = await startTestApp("strategy");
  ds = generateDataset(53);
  await loadDataset(t, ds);
});

async function check(from: bigint, to: bigint, strategy: string | null, startingBalance: number | null) {
  const result = await t.gql(StrategyPerformanceDocument, {
    range: { from: iso(from), to: iso(to) },
    ...(strategy ? { strategy } : {}),
    ...(startingBalance !== null ? { startingBalance } : {}),
  });
  expect(result.errors).toBeUndefined();
  const trades = ds.trades.filter((x) => inRange(x.micros, from, to) && (strategy === null || x.strategy === strategy));
  // No data, no row (docs/queries.md): a named strategy too has a row only when it has trades.
  const strategies = [...new Set(trades.map((x) => x.strategy ?? null))].sort((a, b) =>
    a === null ? -1 : b === null ? 1 : a < b ? -1 : 1,
  );
  expect(result.data?.strategyPerformance).toEqual(
    strategies.map((s) => ({
      strategy: s,
      ...performanceFigures(
        trades.filter((x) => (x.strategy ?? null) === s),
        startingBalance,
      ),
    })),
  );
  return result.data?.strategyPerformance ?? [];
}

describe("strategyPerformance", () => {
  it("matches an independent computation for every strategy (and trades without one) across day partitions", async () => {
    const rows = await check(ds.day0 - 6n * HOUR_US, ds.day0 + 30n * HOUR_US, null, 1000);
    expect(rows.map((r) => r.strategy)).toEqual([null, "alpha", "beta"]);
    expect(rows.every((r) => r.maxDrawdown > 0 && r.draws > 0)).toBe(true);
    await check(ds.day0 - 6n * HOUR_US, ds.day0 + 30n * HOUR_US, "beta", null);
    await check(ds.day0 - HOUR_US, ds.day0 + HOUR_US, "alpha", 50);
  });

  it("answers a range with one trade, and an empty range with no rows, for a named strategy too", async () => {
    await check(ds.day0, ds.day0 + 1n, null, null);
    expect(await check(ds.day0 + 5n * HOUR_US, ds.day0 + 8n * HOUR_US, "alpha", 100)).toEqual([]);
    expect(await check(ds.day0 + 5n * HOUR_US, ds.day0 + 8n * HOUR_US, null, null)).toEqual([]);
  });

  it("computes the drawdown of a hand-checked series the way Freqtrade does (peak floored at 0, ties by tradeId)", async () => {
    // PnL in time order: −5, −3, +10, −4, +1, −8 (the last two share a timestamp: dd-5 < dd-6).
    // cumulative −5, −8, 2, −2, −1, −9; high max(0, running max) 0, 0, 2, 2, 2, 2;
    // drawdown 5, 8, 0, 4, 3, 11 → max 11 with the peak at 2: relative 11 / (100 + 2).
    const at = ds.day0 + 2n * HOUR_US;
    const pnl = [-5, -3, 10, -4, 1, -8];
    const inputs: TradeInput[] = pnl.map((p, i) => ({
      tradeId: `dd-${i + 1}`,
      timestamp: iso(at + BigInt(Math.min(i, 4)) * 1_000_000n),
      action: "SELL",
      baseToken: "SOL",
      quoteToken: "USDC",
      baseAmount: 1,
      quoteAmount: 100,
      executedPrice: 100,
      transactionFee: 5000,
      priorityFee: 0,
      expectedSlippage: 0,
      actualSlippage: 0,
      mevStatus: "PROTECTED",
      transferFees: 0,
      strategy: "drawdown_case",
      realizedPnl: p,
    }));
    const recorded = await t.gql(RecordTradesDocument, { inputs, durability: "COMMITTED" });
    expect(recorded.errors).toBeUndefined();
    await walApplied(`${t.prefix}trades`);
    const r = await t.gql(StrategyPerformanceDocument, {
      range: { from: iso(at), to: iso(at + HOUR_US) },
      strategy: "drawdown_case",
      startingBalance: 100,
    });
    expect(r.data?.strategyPerformance[0]).toMatchObject({
      trades: 6,
      realizedPnl: -9,
      wins: 2,
      losses: 4,
      winRate: 2 / 6,
      grossProfit: 11,
      grossLoss: 20,
      profitFactor: 11 / 20,
      expectancy: (2 / 6) * 5.5 - (4 / 6) * 5,
      expectancyRatio: (1 + 5.5 / 5) * (2 / 6) - 1,
      maxDrawdown: 11,
      maxDrawdownRelative: 11 / 102,
    });
  });

  it("refuses a negative starting balance", async () => {
    const r = await t.gql(StrategyPerformanceDocument, {
      range: { from: iso(ds.day0), to: iso(ds.day0 + HOUR_US) },
      startingBalance: -5,
    });
    expect(r.errors?.[0]?.message).toBe("startingBalance: must not be negative");
  });
});
