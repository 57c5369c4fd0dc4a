// strategyPerformance's drawdown from hourly summaries against the real QuestDB: maxDrawdown,
// maxDrawdownRelative and the peak, trough and recovery times equal the independent computations
// of test/support (expected.ts, expected-risk.ts) over a month, for every groupBy (strategy, pair,
// both, the whole account) and the strategy and writer filters, on ranges that start and end inside
// hours; a month asked again recomputes no hour it summarised; late rows and DEDUP upserts into old
// hours change the answer (only those hours are recomputed); the answer stays exact while the view
// lags (the hours it does not reflect read from the table, the others still from the view); another instance reuses the stored hours; a range with more
// (hour, group) rows than MAX_RESULT_ROWS is read in spans.
import { beforeAll, describe, expect, it } from "vitest";
import type { CachedQuery, QueryReader } from "../src/analytics/cache.ts";
import { drawdownsByHour, samePrint } from "../src/analytics/drawdown-periods.ts";
import type { RollupSource } from "../src/analytics/rollup.ts";
import { groupKey } from "../src/analytics/series.ts";
import {
  type PerformanceGroupKey,
  RecordTradesDocument,
  StrategyDrawdownDocument,
  type TradeInput,
} from "./generated/graphql.ts";
import { executeAs, startTestApp, type TestApp } from "./support/app.ts";
import { HOUR_US, iso, rng } from "./support/dataset.ts";
import { inRange, performanceFigures } from "./support/expected.ts";
import { drawdownTimes, type RiskTrade } from "./support/expected-risk.ts";
import { eventually, exec, walApplied } from "./support/questdb.ts";

const DAY_US = 24n * HOUR_US;
const MINUTE_US = 60_000_000n;
const PAIRS = [
  ["SOL", "USDC"],
  ["JUP", "USDC"],
  ["SOL", "USDT"],
] as const;
const STRATEGIES = ["alpha", "beta", "gamma", null] as const;
const SHAPES: PerformanceGroupKey[][] = [["STRATEGY"], ["PAIR"], ["STRATEGY", "PAIR"], []];

type Stored = RiskTrade & { writer: string };
let t: TestApp;
/** The month: whole days, ending a day ago. */
let start: bigint;
let end: bigint;
let stored: Stored[];

function trade(id: string, micros: bigint, pnl: number | null, strategy: string | null, pair = 0): RiskTrade {
  const [baseToken, quoteToken] = PAIRS[pair % PAIRS.length] as (typeof PAIRS)[number];
  return {
    tradeId: id,
    micros,
    timestamp: iso(micros),
    action: "SELL",
    baseToken,
    quoteToken,
    baseAmount: 1,
    quoteAmount: 64,
    executedPrice: 64,
    transactionFee: 5000,
    priorityFee: 0,
    expectedSlippage: 0,
    actualSlippage: 0,
    mevStatus: "PROTECTED",
    transferFees: 0,
    ...(strategy ? { strategy } : {}),
    ...(pnl !== null ? { realizedPnl: pnl } : {}),
  };
}

/** About 8 trades a day for 30 days (PnL multiples of 2^-6: every sum exact), some without PnL. */
function generate(): RiskTrade[] {
  const random = rng(1313);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const list: RiskTrade[] = [];
  for (let at = start + 7n * MINUTE_US; at < end; at += BigInt(int(1, 5)) * HOUR_US + BigInt(int(0, 3_599_999_999))) {
    const pnl = random() < 0.2 ? null : (int(0, 1000) - 480) / 64;
    list.push(trade(`m-${at}`, at, pnl, STRATEGIES[int(0, 3)] ?? null, int(0, 2)));
  }
  return list;
}

const input = (x: RiskTrade & { writer?: string }): TradeInput => {
  const { micros: _m, writer: _w, ...rest } = x;
  return rest;
};

/** Records trades as `writer` (COMMITTED) and keeps `stored` as QuestDB holds them (upserts replace). */
async function record(trades: RiskTrade[], writer = "anonymous") {
  const variables = { inputs: trades.map(input), durability: "COMMITTED" as const };
  const result =
    writer === "anonymous"
      ? await t.gql(RecordTradesDocument, variables)
      : await executeAs(t.app, writer, RecordTradesDocument, variables);
  expect(result.errors).toBeUndefined();
  for (const x of trades) {
    const same = stored.findIndex((s) => s.micros === x.micros && s.tradeId === x.tradeId && s.writer === writer);
    if (same >= 0) stored.splice(same, 1);
    stored.push({ ...x, writer });
  }
  await walApplied(`${t.prefix}trades`);
}

const view = () => `${t.prefix}trades_pnl_1h`;

/** Waits until the view is valid and refreshed up to the table's last transaction. */
async function viewCaughtUp(): Promise<void> {
  await eventually(async () => {
    const { dataset } = await exec(
      `SELECT view_status, refresh_base_table_txn, base_table_txn FROM materialized_views() WHERE view_name = '${view()}'`,
    );
    const [status, refreshed, base] = dataset[0] ?? [];
    return status === "valid" && refreshed === base ? true : undefined;
  }, "the PnL view to catch up");
}

const statementsOf = (app: TestApp) => (name: string) =>
  app.app.services.sql.stats().byName[`strategyPerformance.${name}`] ?? 0;
const statements = (name: string) => statementsOf(t)(name);

interface Ask {
  groupBy: PerformanceGroupKey[];
  strategy?: string;
  writer?: string;
  balance?: number;
}

const sortByKey = <R>(rows: R[]) =>
  rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));

/** Asks for the drawdown of [from, to) and compares every row with the independent computation. */
async function check(from: bigint, to: bigint, ask: Ask, app: TestApp = t) {
  const { groupBy, strategy, writer, balance = 1000 } = ask;
  const result = await app.gql(StrategyDrawdownDocument, {
    range: { from: iso(from), to: iso(to) },
    groupBy,
    startingBalance: balance,
    ...(strategy ? { strategy } : {}),
    ...(writer ? { writer } : {}),
  });
  expect(result.errors).toBeUndefined();
  const trades = stored.filter(
    (x) =>
      inRange(x.micros, from, to) &&
      (strategy === undefined || x.strategy === strategy) &&
      (writer === undefined || x.writer === writer),
  );
  const groupOf = (x: RiskTrade) => ({
    strategy: groupBy.includes("STRATEGY") ? (x.strategy ?? null) : null,
    baseToken: groupBy.includes("PAIR") ? x.baseToken : null,
    quoteToken: groupBy.includes("PAIR") ? x.quoteToken : null,
  });
  const groups = new Map<string, RiskTrade[]>();
  for (const x of trades) {
    const key = JSON.stringify(groupOf(x));
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  const expected = [...groups.values()].map((list) => {
    const { maxDrawdown, maxDrawdownRelative } = performanceFigures(list, balance);
    return { ...groupOf(list[0] as RiskTrade), maxDrawdown, maxDrawdownRelative, ...drawdownTimes(list) };
  });
  const got = result.data?.strategyPerformance ?? [];
  expect(sortByKey([...got])).toEqual(sortByKey(expected));
  return got;
}

/** Every groupBy, with and without a strategy filter, on a range from/to inside hours. */
async function checkAll(from: bigint, to: bigint, extra: Omit<Ask, "groupBy"> = {}, app: TestApp = t) {
  for (const groupBy of SHAPES) {
    await check(from, to, { groupBy, ...extra }, app);
    await check(from, to, { groupBy, strategy: "beta", ...extra, balance: 0 }, app);
  }
}
const REQUESTS = SHAPES.length * 2;

/** The month, starting and ending inside hours. */
const month = (): [bigint, bigint] => [start + 17n * MINUTE_US + 3n, end - 41n * MINUTE_US - 7n];

beforeAll(async () => {
  const now = BigInt(Date.now()) * 1000n;
  end = (now / DAY_US) * DAY_US - DAY_US;
  start = end - 30n * DAY_US;
  t = await startTestApp("ddviews", { RETENTION_DAYS: "60" });
  stored = [];
  await record(generate());
  await viewCaughtUp();
});

describe("strategyPerformance drawdown from hourly summaries", () => {
  it("answers a month exactly for every groupBy and filter, and again without recomputing an hour", async () => {
    const computed = statements("drawdownHours");
    await checkAll(...month());
    expect(statements("drawdownHours") - computed).toBeGreaterThan(REQUESTS * 2);
    expect(statements("drawdownRecovery")).toBeGreaterThan(0);
    // Whole hours seen before come from memory: only the two partial edges are read raw.
    const again = statements("drawdownHours");
    await checkAll(month()[0] + 1n, month()[1] - 1n);
    expect(statements("drawdownHours") - again).toBe(REQUESTS * 2);
    // The month's whole hours (the first and last were partial edges above): nothing read raw.
    const aligned = statements("drawdownHours");
    await checkAll(start + HOUR_US, end - HOUR_US);
    expect(statements("drawdownHours") - aligned).toBe(0);
  });

  it("changes with late rows and DEDUP upserts into old hours, recomputing only those hours", async () => {
    const [from, to] = month();
    const before = await check(from, to, { groupBy: [] });
    const old = stored.find((x) => x.micros > start + 3n * DAY_US && x.realizedPnl != null) as Stored;
    await record([
      // A big loss late into an old hour, and a gain into another day.
      trade("late-1", start + 5n * DAY_US + 3n * HOUR_US + 7n * MINUTE_US, -700, "alpha", 1),
      trade("late-2", start + 9n * DAY_US + 2n * HOUR_US + 1n, 300, "beta", 2),
      // The same row again with another PnL: QuestDB's DEDUP replaces it.
      { ...old, realizedPnl: -123.5 },
    ]);
    await viewCaughtUp();
    const computed = statements("drawdownHours");
    const after = await check(from, to, { groupBy: [] });
    expect(after[0]?.maxDrawdown).not.toBe(before[0]?.maxDrawdown);
    // Three changed hours (at most three runs) plus the two edges.
    expect(statements("drawdownHours") - computed).toBeLessThanOrEqual(5);
    await checkAll(from, to);
  });

  it("stays exact while the view lags, reading from the table only the hours the view does not reflect", async () => {
    await exec(`ALTER MATERIALIZED VIEW ${view()} SET REFRESH MANUAL`);
    try {
      const old = stored.find((x) => x.micros > start + 12n * DAY_US && x.realizedPnl != null) as Stored;
      // Three transactions, so each touches one hour.
      await record([trade("lag-1", start + 9n * DAY_US + MINUTE_US, -900, "gamma", 0)]);
      await record([trade("lag-2", start + 26n * DAY_US, 450, null, 1)]);
      await record([{ ...old, realizedPnl: 77.25 }]);
      const { dataset } = await exec(
        `SELECT refresh_base_table_txn < base_table_txn FROM materialized_views() WHERE view_name = '${view()}'`,
      );
      expect(dataset).toEqual([[true]]);
      const before = { ...t.app.services.sql.stats().rowsByName };
      const rows = (name: string) =>
        (t.app.services.sql.stats().rowsByName[`strategyPerformance.${name}`] ?? 0) -
        (before[`strategyPerformance.${name}`] ?? 0);
      await checkAll(...month());
      // Per request at most the two partial edges and the three touched hours are summarised, for
      // at most 12 groups each; the month has hundreds of hours with closed trades. The untouched
      // days' fingerprints still come from the view.
      expect(rows("drawdownHours")).toBeGreaterThan(0);
      expect(rows("drawdownHours")).toBeLessThanOrEqual(REQUESTS * 5 * 12);
      expect(rows("drawdown.view")).toBeGreaterThan(rows("drawdown.table"));
    } finally {
      await exec(`ALTER MATERIALIZED VIEW ${view()} SET REFRESH IMMEDIATE`);
      await exec(`REFRESH MATERIALIZED VIEW ${view()} INCREMENTAL`);
    }
    await viewCaughtUp();
    await checkAll(...month());
  });

  it("recomputes no hour when the fingerprints come from the other source (the view's coverage unknown)", async () => {
    const [from, to] = month();
    const viaView = await check(from, to, { groupBy: ["STRATEGY"] });
    const { services } = t.app;
    const unknown: RollupSource = {
      table: `${t.prefix}trades`,
      view: view(),
      coverage: async () => ({ usable: true, dirty: null }),
    };
    const before = services.sql.stats().rowsByName["strategyPerformance.drawdownHours"] ?? 0;
    const tables = services.sql.stats().byName["strategyPerformance.drawdown.table"] ?? 0;
    // Every statement run (no cache: it would hand back the first request's summaries of the span).
    const uncached = {
      read: async (query: CachedQuery<unknown, unknown>) => query.map(await services.sql.query(query.statement)),
      snapshot: () => services.cache.forRequest().snapshot([]),
    } as QueryReader;
    const answer = await drawdownsByHour(
      uncached,
      services.sql,
      services.drawdownHours,
      { pnl: unknown, stored: `${t.prefix}drawdown_hours` },
      { range: { from, to }, strategy: null, writer: null, groupBy: ["STRATEGY"] },
      services.maxResultRows,
    );
    // Every fingerprint came from the table; only the two partial edges were summarised.
    expect((services.sql.stats().byName["strategyPerformance.drawdown.table"] ?? 0) - tables).toBeGreaterThan(0);
    expect((services.sql.stats().rowsByName["strategyPerformance.drawdownHours"] ?? 0) - before).toBeLessThanOrEqual(
      2 * STRATEGIES.length,
    );
    for (const row of viaView) {
      expect(answer.get(groupKey([row.strategy ?? null]))?.maxDrawdown).toBe(row.maxDrawdown);
    }
  });

  it("treats fingerprints from the two sources as the same hour only when counts, times and sums agree", () => {
    const print = (source: string, n: number, total: number, first = 1) =>
      `${source}|${n}|${total}|${total * total}|${total * 7}|${first}|9`;
    expect(samePrint(print("view", 3, 1.5), print("view", 3, 1.5))).toBe(true);
    expect(samePrint(print("view", 3, 0.1 + 0.2), print("table", 3, 0.3))).toBe(true);
    // One source: exact. Across sources: counts and times exact, sums within 1e-9.
    expect(samePrint(print("view", 3, 0.1 + 0.2), print("view", 3, 0.3))).toBe(false);
    expect(samePrint(print("view", 3, 1.5), print("table", 4, 1.5))).toBe(false);
    expect(samePrint(print("view", 3, 1.5), print("table", 3, 1.5, 2))).toBe(false);
    expect(samePrint(print("view", 3, 1.5), print("table", 3, 1.5 + 1e-6))).toBe(false);
    expect(samePrint(undefined, print("table", 3, 1.5))).toBe(false);
  });

  it("answers for one writer's trades apart from another writer's, in the same hours", async () => {
    await record(
      [
        trade("w-1", start + DAY_US + HOUR_US + 11n, -40, "alpha", 0),
        trade("w-2", start + DAY_US + HOUR_US + 13n, 25, "beta", 0),
        trade("w-3", start + 25n * DAY_US + 17n, -60, "beta", 2),
      ],
      "desk-b",
    );
    await viewCaughtUp();
    await checkAll(...month());
    await checkAll(...month(), { writer: "desk-b" });
    await checkAll(...month(), { writer: "anonymous" });
  });

  it("shares the computed hours with another instance through the drawdown_hours table", async () => {
    await check(start, end, { groupBy: [] });
    const hours = new Set(
      stored.filter((x) => x.realizedPnl != null && inRange(x.micros, start, end)).map((x) => x.micros / HOUR_US),
    );
    // Stored without being awaited: poll until every hour of the whole-account scope is visible.
    await eventually(async () => {
      await walApplied(`${t.prefix}drawdown_hours`);
      const { dataset } = await exec(
        `SELECT count() FROM '${t.prefix}drawdown_hours' WHERE scope = '[[],null,null]' AND timestamp >= '${iso(start)}' AND timestamp < '${iso(end)}'`,
      );
      return dataset[0]?.[0] === hours.size ? true : undefined;
    }, "the hour summaries to be stored");
    const other = await startTestApp("ddviews2", { QUESTDB_TABLE_PREFIX: t.prefix, RETENTION_DAYS: "60" });
    await check(start, end, { groupBy: [] }, other);
    // Nothing computed: every hour came from the table.
    const count = statementsOf(other);
    expect([count("drawdownHours"), count("drawdownStored")]).toEqual([0, 1]);
  });

  it("reads a range with more (hour, group) rows than MAX_RESULT_ROWS in spans, exactly", async () => {
    const small = await startTestApp("ddsmall", {
      QUESTDB_TABLE_PREFIX: t.prefix,
      RETENTION_DAYS: "60",
      MAX_RESULT_ROWS: "100",
    });
    const count = statementsOf(small);
    await check(...month(), { groupBy: ["STRATEGY", "PAIR"] }, small);
    await check(...month(), { groupBy: [] }, small);
    // A span is read in at most three view statements when the view is caught up: more means halves.
    expect(count("drawdown.view") + count("drawdown.table")).toBeGreaterThan(4);
  });
});
