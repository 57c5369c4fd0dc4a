// strategyPerformance's risk-adjusted figures (Sharpe, Sortino, Calmar, SQN, CAGR, drawdown times,
// best and worst day, days won / drawn / lost, streaks), its groupBy, and performanceByPeriod,
// against the real QuestDB: every figure compared with an independent computation
// (test/support/expected-risk.ts) over 70 generated days that cross two month boundaries, plus
// hand-checked series for the edge cases.
import { beforeAll, describe, expect, it } from "vitest";
import { calmar, returnFigures } from "../src/analytics/strategy-risk.ts";
import {
  PerformanceByPeriodDocument,
  type PerformanceByPeriodQueryVariables,
  RecordTradesDocument,
  StrategyRiskDocument,
  type StrategyRiskQueryVariables,
  type TradeInput,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { iso, rng } from "./support/dataset.ts";
import { groupsOf, performanceFigures } from "./support/expected.ts";
import { periodFigures, type RiskTrade, riskFigures } from "./support/expected-risk.ts";
import { viewsCaughtUp, walApplied } from "./support/questdb.ts";

const DAY = 86_400_000_000n;
const HOUR = 3_600_000_000n;
const DAYS = 70n;
const PAIRS = [
  ["SOL", "USDC"],
  ["JUP", "USDC"],
  ["BONK", "SOL"],
] as const;

let t: TestApp;
/** UTC midnight of the 1st of the month three months ago: 70 days from it are in the past. */
let start: bigint;
let trades: RiskTrade[];

function trade(id: string, micros: bigint, strategy: string | null, realizedPnl: number | null, pick = 0): RiskTrade {
  const [baseToken, quoteToken] = PAIRS[pick % 3] as (typeof PAIRS)[number];
  const baseAmount = 1 + (pick % 7) / 8;
  return {
    tradeId: id,
    micros,
    timestamp: iso(micros),
    action: pick % 2 ? "BUY" : "SELL",
    baseToken,
    quoteToken,
    baseAmount,
    quoteAmount: baseAmount * 64,
    executedPrice: 64,
    transactionFee: 5000 + pick,
    priorityFee: 1000 * pick,
    expectedSlippage: 0,
    actualSlippage: 0,
    mevStatus: "PROTECTED",
    transferFees: pick / 1024,
    ...(strategy ? { strategy } : {}),
    ...(realizedPnl !== null ? { realizedPnl } : {}),
  };
}

/**
 * 70 days of trades (PnL multiples of 2^-6, so every sum is exact): every 9th day idle, every
 * 13th with opening legs only; plus hand-made strategies for the edge cases on days 40–45.
 */
function generate(): RiskTrade[] {
  const random = rng(16);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const list: RiskTrade[] = [];
  for (let d = 0n; d < DAYS; d++) {
    if (d % 9n === 4n) continue;
    const count = int(5, 25);
    for (let i = 0; i < count; i++) {
      const at = start + d * DAY + BigInt(int(0, 86_399)) * 1_000_000n + BigInt(i);
      const roll = random();
      const pnl = d % 13n === 5n || roll < 0.33 ? null : roll < 0.38 ? 0 : (int(0, 1000) - 470) / 64;
      list.push(trade(`g-${d}-${i}`, at, (["alpha", "beta", null] as const)[int(0, 2)] ?? null, pnl, int(0, 20)));
    }
  }
  const at = (day: bigint, hour: bigint) => start + day * DAY + hour * HOUR;
  for (let d = 40n; d < 43n; d++) list.push(trade(`open-${d}`, at(d, 3n), "open_only", null, 1));
  [-2, -0.5, -3, -1.25].forEach((p, i) => {
    list.push(trade(`lose-${i}`, at(40n + BigInt(i), 5n), "loser", p, 2));
  });
  [0, 0, 0].forEach((p, i) => {
    list.push(trade(`flat-${i}`, at(40n + BigInt(i), 6n), "flat", p, 3));
  });
  // +10 on a balance of 100, then +11 on 110: both days return 10 %, a zero deviation.
  list.push(trade("steady-0", at(44n, 1n), "steady", 10, 4), trade("steady-1", at(45n, 1n), "steady", 11, 4));
  // Cumulative 4, −2, 1, 6, 5: peak 4 (first trade), trough −2 (second), back above 4 at the fourth.
  // One timestamp, recorded out of order: the series is in tradeId order, + + − + (a run of 2 wins).
  [
    ["tie-d", 1],
    ["tie-c", -1],
    ["tie-b", 1],
    ["tie-a", 1],
  ].forEach(([id, p]) => {
    list.push(trade(id as string, at(42n, 7n), "ties", p as number, 6));
  });
  [4, -6, 3, 5, -1].forEach((p, i) => {
    list.push(trade(`rec-${i}`, at(41n, BigInt(i + 1)), "recovery", p, 5));
  });
  return list;
}

beforeAll(async () => {
  const now = new Date();
  start = BigInt(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)) * 1000n;
  // Data three months back: a retention longer than the default 30 days.
  t = await startTestApp("risk", { RETENTION_DAYS: "400" });
  trades = generate();
  const strip = ({ micros: _m, ...rest }: RiskTrade): TradeInput => rest;
  const recorded = await t.gql(RecordTradesDocument, { inputs: trades.map(strip), durability: "COMMITTED" });
  expect(recorded.errors).toBeUndefined();
  await walApplied(`${t.prefix}trades`);
  await viewsCaughtUp(t.prefix);
});

/**
 * A float within 1e-9 relative (absolute below 1): the server and the test compute the same
 * formula in a different order of operations, so the last bits may differ.
 */
const near = (x: number | null) =>
  x === null
    ? null
    : {
        asymmetricMatch: (actual: unknown) =>
          typeof actual === "number" && Math.abs(actual - x) <= 1e-9 * Math.max(1, Math.abs(x)),
        toString: () => `near(${x})`,
        toAsymmetricMatcher: () => `near(${x})`,
      };

type Key = "strategy" | "baseToken" | "quoteToken";
const keyOf = (x: RiskTrade, by: readonly Key[]) => ({
  strategy: by.includes("strategy") ? (x.strategy ?? null) : null,
  baseToken: by.includes("baseToken") ? x.baseToken : null,
  quoteToken: by.includes("quoteToken") ? x.quoteToken : null,
});

/** The expected rows: the groups in the API's order, each with its figures. */
function expectedRows(from: bigint, to: bigint, by: readonly Key[], balance: number, only?: string) {
  const inRange = trades.filter((x) => x.micros >= from && x.micros < to && (!only || x.strategy === only));
  const groups = groupsOf(
    inRange.map((x) => keyOf(x, by)),
    ["strategy", "baseToken", "quoteToken"],
  );
  return groups.map((group) => {
    const mine = inRange.filter((x) => JSON.stringify(keyOf(x, by)) === JSON.stringify(group));
    const base = performanceFigures(mine as Parameters<typeof performanceFigures>[0], balance);
    const risk = riskFigures(mine, from, to, balance, base.maxDrawdownRelative);
    return {
      ...group,
      trades: base.trades,
      closedTrades: base.closedTrades,
      realizedPnl: base.realizedPnl,
      maxDrawdown: base.maxDrawdown,
      maxDrawdownRelative: base.maxDrawdownRelative,
      ...risk,
      sharpe: near(risk.sharpe),
      sortino: near(risk.sortino),
      calmar: near(risk.calmar),
      sqn: near(risk.sqn),
      cagr: near(risk.cagr),
    };
  });
}

async function risk(variables: StrategyRiskQueryVariables) {
  const result = await t.gql(StrategyRiskDocument, variables);
  expect(result.errors).toBeUndefined();
  return result.data?.strategyPerformance ?? [];
}

const range = (from: bigint, to: bigint) => ({ from: iso(from), to: iso(to) });

describe("strategyPerformance: risk-adjusted figures", () => {
  it("match an independent computation per strategy over 70 days across two month boundaries", async () => {
    const [from, to] = [start - 6n * HOUR, start + DAYS * DAY];
    const rows = await risk({ range: range(from, to), startingBalance: 1000 });
    expect(rows).toEqual(expectedRows(from, to, ["strategy"], 1000));
    expect(rows.map((r) => r.strategy)).toEqual([
      null,
      "alpha",
      "beta",
      "flat",
      "loser",
      "open_only",
      "recovery",
      "steady",
      "ties",
    ]);
    expect(rows[1]).toMatchObject({
      sharpe: expect.any(Number),
      sortino: expect.any(Number),
      calmar: expect.any(Number),
    });
  });

  it("match per pair, per strategy and pair, and over every trade (groupBy: [])", async () => {
    const [from, to] = [start + 3n * DAY + 5n * HOUR, start + 50n * DAY];
    const pairs = await risk({ range: range(from, to), startingBalance: 500, groupBy: ["PAIR"] });
    expect(pairs).toEqual(expectedRows(from, to, ["baseToken", "quoteToken"], 500));
    expect(pairs.map((r) => `${r.baseToken}/${r.quoteToken}`)).toEqual(["BONK/SOL", "JUP/USDC", "SOL/USDC"]);
    const both = await risk({ range: range(from, to), startingBalance: 500, groupBy: ["PAIR", "STRATEGY", "PAIR"] });
    expect(both).toEqual(expectedRows(from, to, ["strategy", "baseToken", "quoteToken"], 500));
    const all = await risk({ range: range(from, to), startingBalance: 5000, groupBy: [] });
    expect(all).toEqual(expectedRows(from, to, [], 5000));
    expect(all).toHaveLength(1);
    const alphaPairs = await risk({
      range: range(from, to),
      strategy: "alpha",
      startingBalance: 500,
      groupBy: ["PAIR"],
    });
    expect(alphaPairs).toEqual(expectedRows(from, to, ["baseToken", "quoteToken"], 500, "alpha"));
  });

  it("answers null ratios, zero counts and no days for a strategy without closed trades", async () => {
    const [from, to] = [start + 40n * DAY, start + 43n * DAY];
    const rows = await risk({ range: range(from, to), strategy: "open_only", startingBalance: 100 });
    expect(rows).toEqual(expectedRows(from, to, ["strategy"], 100, "open_only"));
    expect(rows[0]).toMatchObject({
      closedTrades: 0,
      sharpe: null,
      sortino: null,
      calmar: null,
      sqn: null,
      cagr: 0,
      bestDay: null,
      worstDay: null,
      daysWon: 0,
      daysDrawn: 0,
      daysLost: 0,
      longestWinningStreak: 0,
      longestLosingStreak: 0,
      maxDrawdownPeakAt: null,
      maxDrawdownTroughAt: null,
      maxDrawdownRecoveredAt: null,
    });
    // An idle strategy (named, no trades at all) has no row (docs/queries.md, "No data, no row").
    expect(await risk({ range: range(from, to), strategy: "nobody", startingBalance: 100 })).toEqual([]);
  });

  it("answers a one-day range with a CAGR but no Sharpe or Sortino (one return has no deviation)", async () => {
    const [from, to] = [start + 10n * DAY, start + 11n * DAY];
    const rows = await risk({ range: range(from, to), startingBalance: 1000 });
    expect(rows).toEqual(expectedRows(from, to, ["strategy"], 1000));
    for (const row of rows) {
      expect(row).toMatchObject({ sharpe: null, sortino: null });
      expect(row.cagr).toEqual(near(((1000 + row.realizedPnl) / 1000) ** 365 - 1));
    }
  });

  it("reports a strategy of losses only: negative ratios, a drawdown from the start never recovered", async () => {
    const [from, to] = [start + 40n * DAY, start + 44n * DAY];
    const rows = await risk({ range: range(from, to), strategy: "loser", startingBalance: 100 });
    expect(rows).toEqual(expectedRows(from, to, ["strategy"], 100, "loser"));
    // Balances 100, 98, 97.5, 94.5 → 93.25: returns −2/100, −0.5/98, −3/97.5, −1.25/94.5.
    const r = [-2 / 100, -0.5 / 98, -3 / 97.5, -1.25 / 94.5];
    const mean = r.reduce((a, b) => a + b) / 4;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / 3);
    const downside = Math.sqrt(r.reduce((a, x) => a + x * x, 0) / 4);
    expect(rows[0]).toMatchObject({
      realizedPnl: -6.75,
      maxDrawdown: 6.75,
      maxDrawdownRelative: 6.75 / 100,
      maxDrawdownPeakAt: null,
      maxDrawdownTroughAt: iso(start + 43n * DAY + 5n * HOUR),
      maxDrawdownRecoveredAt: null,
      sqn: near((2 * (-6.75 / 4)) / Math.sqrt([-2, -0.5, -3, -1.25].reduce((a, x) => a + (x + 6.75 / 4) ** 2, 0) / 3)),
      sharpe: near((mean / sd) * Math.sqrt(365)),
      sortino: near((mean / downside) * Math.sqrt(365)),
      cagr: near((93.25 / 100) ** (365 / 4) - 1),
      calmar: near(((93.25 / 100) ** (365 / 4) - 1) / 0.0675),
      bestDay: { day: iso(start + 41n * DAY), realizedPnl: -0.5 },
      worstDay: { day: iso(start + 42n * DAY), realizedPnl: -3 },
      daysWon: 0,
      daysDrawn: 0,
      daysLost: 4,
      longestWinningStreak: 0,
      longestLosingStreak: 4,
    });
  });

  it("answers null (not Freqtrade's −100) for a zero deviation: equal daily returns, and trades that all draw", async () => {
    const [from, to] = [start + 44n * DAY, start + 46n * DAY];
    const [steady] = await risk({ range: range(from, to), strategy: "steady", startingBalance: 100 });
    expect(steady).toMatchObject({
      realizedPnl: 21,
      sharpe: null,
      sortino: null,
      cagr: near(1.21 ** (365 / 2) - 1),
      calmar: null,
      bestDay: { day: iso(start + 45n * DAY), realizedPnl: 11 },
      worstDay: { day: iso(start + 44n * DAY), realizedPnl: 10 },
      daysWon: 2,
      longestWinningStreak: 2,
    });
    expect(steady?.sqn).toBeCloseTo((Math.sqrt(2) * 10.5) / Math.sqrt(0.5), 12);
    const [flat] = await risk({
      range: range(start + 40n * DAY, start + 43n * DAY),
      strategy: "flat",
      startingBalance: 100,
    });
    expect(flat).toMatchObject({ closedTrades: 3, sharpe: null, sortino: null, sqn: null, cagr: 0, daysDrawn: 3 });
    expect(flat).toMatchObject({
      maxDrawdown: 0,
      maxDrawdownTroughAt: null,
      longestWinningStreak: 0,
      longestLosingStreak: 0,
    });
  });

  it("times a hand-checked drawdown: peak at its first trade, trough, recovery above the peak", async () => {
    const day = start + 41n * DAY;
    const [row] = await risk({ range: range(day, day + DAY), strategy: "recovery", startingBalance: 10 });
    expect(row).toMatchObject({
      maxDrawdown: 6,
      maxDrawdownRelative: 6 / 14,
      maxDrawdownPeakAt: iso(day + HOUR),
      maxDrawdownTroughAt: iso(day + 2n * HOUR),
      maxDrawdownRecoveredAt: iso(day + 4n * HOUR),
      longestWinningStreak: 2,
      longestLosingStreak: 1,
      sharpe: null,
      cagr: near(1.5 ** 365 - 1),
    });
    // Without the last two trades the drawdown is not recovered within the range.
    const [cut] = await risk({ range: range(day, day + 4n * HOUR), strategy: "recovery", startingBalance: 10 });
    expect(cut).toMatchObject({
      maxDrawdown: 6,
      maxDrawdownRecoveredAt: null,
      maxDrawdownTroughAt: iso(day + 2n * HOUR),
    });
  });

  it("counts streaks in (timestamp, tradeId) order when trades share a timestamp", async () => {
    const day = start + 42n * DAY;
    const [row] = await risk({ range: range(day, day + DAY), strategy: "ties", startingBalance: 100 });
    expect(row).toMatchObject({ closedTrades: 4, longestWinningStreak: 2, longestLosingStreak: 1 });
    expect(row).toMatchObject({ maxDrawdown: 1, maxDrawdownPeakAt: iso(day + 7n * HOUR) });
  });

  it("runs each statement once per request for every row, and not again while nothing is written", async () => {
    // The totals come from one statement per segment of the range (analytics/rollup.ts): here ten
    // whole days, read from the rollup view in one.
    const count = (name: string) =>
      Object.entries(t.app.services.sql.stats().byName)
        .filter(([statement]) => statement === name || statement.startsWith(`${name}.`))
        .reduce((sum, [, n]) => sum + n, 0);
    const names = [
      "strategyPerformance.totals",
      "strategyPerformance.drawdown",
      "strategyPerformance.daily",
      "strategyPerformance.streaks",
    ];
    const before = names.map(count);
    const variables = { range: range(start + 20n * DAY, start + 30n * DAY), startingBalance: 777 };
    const first = await risk(variables);
    expect(first.length).toBeGreaterThan(1);
    // At most one statement each for all the rows (the drawdown's fingerprints of these days may
    // already be cached by an earlier request); the daily PnL one per day of the range (ten), read
    // a day at a time so that a write into today leaves the other days cached.
    const once = names.map(count);
    const most = [1, 1, 10, 1];
    once.forEach((n, i) => {
      expect(n - (before[i] as number), names[i]).toBeLessThanOrEqual(most[i] as number);
    });
    expect(once[0]).toBe((before[0] as number) + 1);
    expect(t.app.services.sql.stats().byName["strategyPerformance.totals.view"]).toBeGreaterThanOrEqual(1);
    expect(await risk(variables)).toEqual(first);
    expect(names.map(count)).toEqual(once);
  });

  it("refuses more days × groups (or periods) than MAX_RESULT_ROWS, naming the bound, and still answers one strategy", async () => {
    // About 55 days with closed trades for each of three strategies: over a bound of 100.
    const tiny = await startTestApp("risktiny", {
      RETENTION_DAYS: "400",
      MAX_RESULT_ROWS: "100",
      QUESTDB_TABLE_PREFIX: t.prefix,
    });
    const variables = { range: range(start, start + DAYS * DAY), startingBalance: 100 };
    const all = await tiny.gql(StrategyRiskDocument, variables);
    expect(all.errors?.map((e) => e.message)).toContain(
      "The answer's rows (days with closed trades × groups) is more than 100, above the limit of 100 (MAX_RESULT_ROWS); choose a shorter range, one strategy or fewer groupBy keys",
    );
    const loser = await tiny.gql(StrategyRiskDocument, { ...variables, strategy: "loser" });
    expect(loser.errors).toBeUndefined();
    expect(loser.data?.strategyPerformance[0]?.daysLost).toBe(4);
    const long = range(start - 80n * DAY, start + DAYS * DAY);
    const days = await tiny.gql(PerformanceByPeriodDocument, { range: long, bucket: "DAY" });
    expect(days.errors?.[0]?.message).toBe(
      "The answer's rows (periods) is 150, above the limit of 100 (MAX_RESULT_ROWS); choose a larger bucket or a shorter range",
    );
    const months = await tiny.gql(PerformanceByPeriodDocument, { range: long, bucket: "MONTH" });
    expect(months.errors).toBeUndefined();
  });

  it("needs a starting balance for the return figures: without one they are null, the rest is there", async () => {
    const [from, to] = [start, start + 20n * DAY];
    const rows = await risk({ range: range(from, to) });
    expect(rows).toEqual(expectedRows(from, to, ["strategy"], 0));
    for (const row of rows) expect(row).toMatchObject({ sharpe: null, sortino: null, cagr: null, calmar: null });
    expect(rows.some((row) => row.sqn !== null && row.bestDay !== null)).toBe(true);
  });
});

describe("returnFigures (pure)", () => {
  const day = (n: number, pnl: number) => ({ day: BigInt(n) * DAY, pnl });
  const twoDays = { from: 0n, to: 2n * DAY };

  it("answers null for a CAGR beyond a double, which GraphQL could not send", () => {
    // ×1000 in two days: 1000^182.5 overflows.
    expect(returnFigures([day(0, 999_000)], twoDays, 1000).cagr).toBeNull();
    expect(calmar(Number.MAX_VALUE, 1e-10)).toBeNull();
  });

  it("stops the ratios once the balance is gone; CAGR −1 down to 0, null below", () => {
    // Gone on day 1 (balance 0 before day 2: no return), 5 back on day 2: (5 / 100)^182.5 − 1 is −1.
    expect(returnFigures([day(0, -100), day(1, 5)], twoDays, 100)).toEqual({ sharpe: null, sortino: null, cagr: -1 });
    expect(returnFigures([day(0, -100)], twoDays, 100)).toEqual({ sharpe: null, sortino: null, cagr: -1 });
    // Below 0 at the end: no CAGR either.
    expect(returnFigures([day(0, -150)], twoDays, 100)).toEqual({ sharpe: null, sortino: null, cagr: null });
  });
});

describe("performanceByPeriod", () => {
  async function periods(variables: PerformanceByPeriodQueryVariables) {
    const result = await t.gql(PerformanceByPeriodDocument, variables);
    expect(result.errors).toBeUndefined();
    return result.data?.performanceByPeriod ?? [];
  }

  it("matches an independent computation per day, Monday week and calendar month across month boundaries", async () => {
    // From the middle of a Wednesday-or-so in the first month to the middle of the third.
    const [from, to] = [start + 9n * DAY + 7n * HOUR, start + 66n * DAY + 13n * HOUR];
    for (const bucket of ["DAY", "WEEK", "MONTH"] as const) {
      const rows = await periods({ range: range(from, to), bucket });
      expect(rows).toEqual(periodFigures(trades, from, to, bucket));
    }
    const months = await periods({ range: range(from, to), bucket: "MONTH" });
    expect(months.map((m) => m.bucket)).toEqual([0, 1, 2].map((i) => iso(monthStart(i))));
    const weeks = await periods({ range: range(from, to), bucket: "WEEK" });
    expect(weeks.every((w) => new Date(`${w.bucket.slice(0, 19)}Z`).getUTCDay() === 1)).toBe(true);
  });

  it("keeps empty periods as rows with zeros inside a range with trades, answers [] for a range without, and filters by strategy", async () => {
    const [from, to] = [start + 30n * DAY, start + 50n * DAY];
    const rows = await periods({ range: range(from, to), bucket: "DAY", strategy: "loser" });
    expect(rows).toEqual(
      periodFigures(
        trades.filter((x) => x.strategy === "loser"),
        from,
        to,
        "DAY",
      ),
    );
    expect(rows).toHaveLength(20);
    expect(rows[0]).toMatchObject({
      trades: 0,
      closedTrades: 0,
      winRate: null,
      realizedPnl: 0,
      cumulativePnl: 0,
      totalFees: "0",
    });
    expect(rows.at(-1)?.cumulativePnl).toBe(-6.75);
    // The trades' writer is "anonymous" (no keys): naming it changes nothing, another key has none.
    expect(await periods({ range: range(from, to), bucket: "DAY", strategy: "loser", writer: "anonymous" })).toEqual(
      rows,
    );
    // Another key has no trades: no periods at all, as an idle range (No data, no row).
    expect(await periods({ range: range(from, to), bucket: "DAY", writer: "someone-else" })).toEqual([]);
    const idle = await periods({ range: range(start + 4n * DAY, start + 5n * DAY), bucket: "WEEK" });
    expect(idle).toEqual(periodFigures(trades, start + 4n * DAY, start + 5n * DAY, "WEEK"));
    expect(idle).toEqual([]);
  });

  it("refuses a range whose from is not before to, naming the argument", async () => {
    const result = await t.gql(PerformanceByPeriodDocument, { range: range(start, start), bucket: "DAY" });
    expect(result.errors?.[0]?.message).toBe(
      `range: from (${iso(start)}) must be before to (${iso(start)}); to is exclusive`,
    );
  });
});

describe("strategyPerformance's cached statements", () => {
  // Last in this file: it records two trades the other tests' expectations do not hold.
  it("survive a commit outside their range, and a commit inside it reaches the next answer", async () => {
    const count = () =>
      Object.entries(t.app.services.sql.stats().byName)
        .filter(([name]) => name.startsWith("strategyPerformance."))
        .reduce((sum, [, n]) => sum + n, 0);
    // A range no other test asks for: every figure (daily PnL, streaks, drawdown hours) is read.
    const from = start + 3n * DAY + 7n;
    const to = start + 41n * DAY - 11n;
    const variables = { range: range(from, to), startingBalance: 10_000, groupBy: ["STRATEGY" as const] };
    const first = await risk(variables);
    expect(first).toEqual(expectedRows(from, to, ["strategy"], 10_000));

    const record = async (trade: RiskTrade) => {
      const { micros: _m, ...input } = trade;
      const recorded = await t.gql(RecordTradesDocument, { inputs: [input], durability: "COMMITTED" });
      expect(recorded.errors).toBeUndefined();
      await walApplied(`${t.prefix}trades`);
      await viewsCaughtUp(t.prefix);
    };
    const template = trades.find((x) => x.realizedPnl !== null && x.realizedPnl !== undefined) as RiskTrade;
    // A trade now, months after the range: no statement of the range runs again.
    const now = BigInt(Date.now()) * 1000n;
    await record({ ...template, tradeId: "cache-outside", timestamp: iso(now), micros: now });
    const before = count();
    expect(await risk(variables)).toEqual(first);
    expect(count() - before).toBe(0);

    // A late trade inside the range: read again, and in the answer.
    const inside = from + 5n * DAY;
    const late = { ...template, tradeId: "cache-inside", strategy: "late-one", timestamp: iso(inside), micros: inside };
    await record(late);
    trades.push(late);
    const after = await risk(variables);
    expect(count() - before).toBeGreaterThan(0);
    expect(after).toEqual(expectedRows(from, to, ["strategy"], 10_000));
    expect(after.map((row) => row.strategy)).toContain("late-one");
  });
});

function monthStart(offset: number): bigint {
  const d = new Date(Number(start / 1000n));
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1)) * 1000n;
}
