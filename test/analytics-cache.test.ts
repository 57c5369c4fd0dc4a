// The SQL layer and its cache against the real QuestDB: coalescing, invalidation on a new
// commit (also one made through another API instance), the byte bound, the timeout and the
// debug log of every statement.
import { Writable } from "node:stream";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { queryTrades } from "../src/analytics/trades.ts";
import {
  RecordLatencyMetricDocument,
  RecordMevMetricDocument,
  RecordMevMetricsDocument,
  RecordTradeDocument,
  TradeIdsDocument,
  type TradeInput,
  TradeStatsCountsDocument,
  TradesDocument,
  TradesWithLinksDocument,
  type TradesWithLinksQuery,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { iso } from "./support/dataset.ts";
import { viewsCaughtUp, walApplied } from "./support/questdb.ts";

const DAY = 86_400_000_000n;
const HOUR = 3_600_000_000n;
const day0 = ((BigInt(Date.now()) * 1000n - 2n * DAY) / DAY) * DAY;
const range = { from: iso(day0), to: iso(day0 + DAY) };

const trade = (i: number): TradeInput => ({
  tradeId: `cache-${i}`,
  timestamp: iso(day0 + BigInt(i) * 1_000_000n),
  action: "BUY",
  baseToken: "SOL",
  quoteToken: "USDC",
  baseAmount: 1,
  quoteAmount: 2,
  executedPrice: 2,
  transactionFee: 5000,
  priorityFee: 0,
  expectedSlippage: 0,
  actualSlippage: 0,
  mevStatus: "PROTECTED",
  transferFees: 0,
});

async function record(app: TestApp, i: number) {
  const r = await app.gql(RecordTradeDocument, { input: trade(i), durability: "COMMITTED" });
  expect(r.errors).toBeUndefined();
  await walApplied(`${app.prefix}trades`);
}

/** Statements named `name`, or `name.*` (a statistic's segments: `tradeStats.totals.view`, `.raw`). */
const statements = (app: TestApp, name: string) =>
  Object.entries(app.app.services.sql.stats().byName)
    .filter(([statement]) => [name, `${name}.view`, `${name}.raw`].includes(statement))
    .reduce((sum, [, n]) => sum + n, 0);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("cache");
  for (let i = 0; i < 3; i++) await record(t, i);
});

describe("query cache", () => {
  it("runs one SQL statement for 20 identical requests made at once (coalescing)", async () => {
    const { cache } = t.app.services;
    const before = cache.stats();
    // No trade matches: the page's first statement (the edge timestamp) finds none, and is all that runs.
    const runs = statements(t, "trades.edge");
    const args = { filter: { strategy: "nobody" }, first: 7, after: null, order: "ASC" as const };
    const results = await Promise.all(Array.from({ length: 20 }, () => queryTrades(cache, `${t.prefix}trades`, args)));
    expect(statements(t, "trades.edge") - runs).toBe(1);
    const after = cache.stats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.coalesced - before.coalesced).toBe(19);
    for (const result of results) expect(result).toEqual({ edges: [], hasNextPage: false });
  });

  it("answers 20 concurrent identical GraphQL requests over HTTP with one SQL statement", async () => {
    // Until the views have refreshed the trades' hour, one request reads that hour from the table
    // and the rest from the view: two statements for one run.
    await viewsCaughtUp(t.prefix);
    const runs = statements(t, "tradeStats.totals");
    const before = t.app.cache.stats();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.gql(TradeStatsCountsDocument, { range, groupBy: ["VENUE"] })),
    );
    expect(statements(t, "tradeStats.totals") - runs).toBe(1);
    const after = t.app.cache.stats();
    expect(after.misses - before.misses).toBe(1);
    // The others joined the run, read its result, or (arriving after it) got the whole answer.
    const shared = (s: typeof after) => s.hits + s.coalesced + s.responseHits;
    expect(shared(after) - shared(before)).toBe(19);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  it("serves a repeat from the cache, and a fresh answer as soon as the table commits a new transaction", async () => {
    const count = async () => (await t.gql(TradeStatsCountsDocument, { range })).data?.tradeStats.totals[0]?.count;
    const first = await count();
    const runs = statements(t, "tradeStats.totals");
    expect(await count()).toBe(first);
    expect(statements(t, "tradeStats.totals")).toBe(runs);

    const invalidated = t.app.cache.stats().invalidated;
    await record(t, 100);
    // No waiting beyond the WAL apply: the very next request sees the new row.
    expect(await count()).toBe((first as number) + 1);
    // The day again: one statement, or two while the view has not refreshed the hour written
    // (that hour from the table, the rest from the view).
    expect(statements(t, "tradeStats.totals") - runs).toBeGreaterThanOrEqual(1);
    expect(statements(t, "tradeStats.totals") - runs).toBeLessThanOrEqual(2);
    expect(t.app.cache.stats().invalidated).toBeGreaterThan(invalidated);
  });

  it("sees a commit made through another API instance on the same QuestDB", async () => {
    const other = await startTestApp("cache2", { QUESTDB_TABLE_PREFIX: t.prefix });
    const ids = async () =>
      (await t.gql(TradesDocument, { first: 100, order: "ASC" })).data?.trades.edges.map((e) => e.node.tradeId);
    const before = await ids();
    expect(await ids()).toEqual(before); // cached
    const r = await other.gql(RecordTradeDocument, { input: trade(200), durability: "COMMITTED" });
    expect(r.errors).toBeUndefined();
    await walApplied(`${t.prefix}trades`);
    expect(await ids()).toEqual([...(before ?? []), "cache-200"]);
  });

  it("stays within its byte budget, evicting the least recently used entries", async () => {
    const small = await startTestApp("cachesmall", { QUESTDB_TABLE_PREFIX: t.prefix, QUERY_CACHE_MAX_BYTES: "6000" });
    for (let first = 1; first <= 12; first++) {
      const r = await small.gql(TradesDocument, { first, order: "ASC" });
      expect(r.data?.trades.edges.length).toBe(Math.min(first, 5));
      expect(small.app.cache.stats().bytes).toBeLessThanOrEqual(6000);
    }
    const stats = small.app.cache.stats();
    expect(stats.evicted).toBeGreaterThan(0);
    expect(stats.entries).toBeLessThan(12);
    expect(stats.maxBytes).toBe(6000);
  });

  it("with QUERY_CACHE_MAX_BYTES=0 stores nothing but still shares one run between identical concurrent requests", async () => {
    const off = await startTestApp("cacheoff", { QUESTDB_TABLE_PREFIX: t.prefix, QUERY_CACHE_MAX_BYTES: "0" });
    await off.gql(TradesDocument, { first: 2 });
    await off.gql(TradesDocument, { first: 2 });
    expect(statements(off, "trades")).toBe(2);
    const args = { filter: {}, first: 3, after: null, order: "DESC" as const };
    await Promise.all(Array.from({ length: 5 }, () => queryTrades(off.app.cache, `${t.prefix}trades`, args)));
    expect(statements(off, "trades")).toBe(3);
    // Both statements of the page (its edge timestamp, then its rows) are shared.
    expect(off.app.cache.stats()).toMatchObject({ entries: 0, bytes: 0, coalesced: 8 });
  });
});

describe("whole days read from the views", () => {
  const MINUTE = 60_000_000n;
  const start = day0 - 6n * DAY;
  const seen: { name: string; params: readonly unknown[] }[] = [];
  const commit = async (id: string, micros: bigint) => {
    const written = await r.gql(RecordTradeDocument, {
      input: { ...trade(0), tradeId: id, timestamp: iso(micros) },
      durability: "COMMITTED",
    });
    expect(written.errors).toBeUndefined();
  };
  let r: TestApp;
  beforeAll(async () => {
    r = await startTestApp("cachedays", {}, { onStatement: (statement) => seen.push(statement) });
    for (let d = 0n; d < 5n; d++) await commit(`day-${d}`, start + d * DAY + 2n * HOUR);
    await walApplied(`${r.prefix}trades`);
    await viewsCaughtUp(r.prefix);
  });

  it("reads each whole day by a statement of its own: a late write into an old day reads that day again, alone", async () => {
    const range = { from: iso(start + 30n * MINUTE), to: iso(start + 4n * DAY + 5n * HOUR + 7n * MINUTE) };
    const counts = async () => {
      const answer = await r.gql(TradeStatsCountsDocument, { range, bucket: "DAY" });
      expect(answer.errors).toBeUndefined();
      return answer.data?.tradeStats.buckets.map((bucket) => bucket.count);
    };
    expect(await counts()).toEqual([1, 1, 1, 1, 1]);
    const days = seen.filter((s) => s.name === "tradeStats.buckets.view").map((s) => s.params.slice(0, 2));
    for (const d of [1n, 2n, 3n]) expect(days).toContainEqual([iso(start + d * DAY), iso(start + (d + 1n) * DAY)]);
    seen.length = 0;
    await commit("late", start + 2n * DAY + 9n * HOUR);
    await walApplied(`${r.prefix}trades`);
    await viewsCaughtUp(r.prefix);
    expect(await counts()).toEqual([1, 1, 2, 1, 1]);
    // Only the day written into is read again (the other days, the edges: from the cache).
    const again = seen.filter((s) => s.name.startsWith("tradeStats."));
    expect(again.map((s) => [s.name, ...s.params.slice(0, 2)])).toEqual([
      ["tradeStats.buckets.view", iso(start + 2n * DAY), iso(start + 3n * DAY)],
    ]);
  });
});

describe("range-aware entries", () => {
  // An app and tables of their own: the trades here would come first in the other tests' pages.
  const old = day0 - DAY;
  const hourRange = (h: number) => ({ from: iso(old + BigInt(h) * HOUR), to: iso(old + BigInt(h + 1) * HOUR) });
  const stats = async (h: number) =>
    (await r.gql(TradeStatsCountsDocument, { range: hourRange(h) })).data?.tradeStats.totals[0];
  /** Records without waiting for the WAL apply: the next read must include the row anyway. */
  const commit = async (input: TradeInput) => {
    const written = await r.gql(RecordTradeDocument, { input, durability: "COMMITTED" });
    expect(written.errors).toBeUndefined();
  };
  const at = (id: string, micros: bigint, quoteAmount = 2): TradeInput => ({
    ...trade(0),
    tradeId: id,
    timestamp: iso(micros),
    quoteAmount,
  });

  let r: TestApp;
  beforeAll(async () => {
    r = await startTestApp("cacherange");
    await commit(at("old-1", old + HOUR + 1_000_000n));
    await commit(at("old-5", old + 5n * HOUR + 1_000_000n));
    await walApplied(`${r.prefix}trades`);
  });

  it("keeps cached answers over earlier hours when a write lands in the current one", async () => {
    expect(await stats(1)).toEqual({ count: 1, quoteVolume: 2 });
    expect(await stats(5)).toEqual({ count: 1, quoteVolume: 2 });
    const runs = statements(r, "tradeStats.totals");
    const before = r.app.cache.stats();
    await commit(at("now-1", BigInt(Date.now()) * 1000n));
    expect(await stats(1)).toEqual({ count: 1, quoteVolume: 2 });
    expect(await stats(5)).toEqual({ count: 1, quoteVolume: 2 });
    expect(statements(r, "tradeStats.totals")).toBe(runs);
    const after = r.app.cache.stats();
    expect(after.responseHits - before.responseHits).toBe(2);
    expect(after.keptByRange).toBeGreaterThan(before.keptByRange);
  });

  it("drops exactly the entries over an old hour a late row lands in, and the next answer includes the row", async () => {
    const runs = statements(r, "tradeStats.totals");
    const invalidated = r.app.cache.stats().invalidated;
    await commit(at("late-1", old + HOUR + 30_000_000n, 3));
    expect(await stats(1)).toEqual({ count: 2, quoteVolume: 5 });
    expect(await stats(5)).toEqual({ count: 1, quoteVolume: 2 });
    expect(statements(r, "tradeStats.totals")).toBe(runs + 1);
    // The hour's statement and its whole answer; nothing whole-table.
    const after = r.app.cache.stats();
    expect(after.invalidated - invalidated).toBe(2);
  });

  it("drops the entries over an old row that a DEDUP upsert replaced", async () => {
    const runs = statements(r, "tradeStats.totals");
    await commit(at("old-1", old + HOUR + 1_000_000n, 7)); // same key and timestamp: replaces the row
    expect(await stats(1)).toEqual({ count: 2, quoteVolume: 10 });
    expect(await stats(5)).toEqual({ count: 1, quoteVolume: 2 });
    expect(statements(r, "tradeStats.totals")).toBe(runs + 1);
  });
});

describe("range-aware trade pages and links", () => {
  // An app and tables of their own. Six trades a minute apart, three days ago, one of them with
  // a latency measurement (so the pages' link statements return rows).
  const base = day0 - DAY;
  const minute = 60_000_000n;
  let p: TestApp;
  const ids = (answer: { data?: TradesWithLinksQuery | null }) =>
    answer.data?.trades.edges.map((edge) => edge.node.tradeId);
  const counts = () =>
    ["trades.edge", "trades", "trade.latencyMetrics", "trade.mev"].map((name) => statements(p, name));
  const commit = async (tradeId: string, micros: bigint, priorityFee = 0) => {
    const written = await p.gql(RecordTradeDocument, {
      input: { ...trade(0), tradeId, timestamp: iso(micros), priorityFee },
      durability: "COMMITTED",
    });
    expect(written.errors).toBeUndefined();
  };
  /** A query of one range variable `$r`, sent as a dashboard does; the parsed answer. */
  const graphql = async (app: TestApp, query: string, r: { from: string; to: string }) => {
    const response = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables: { r } }),
    });
    return response.json();
  };
  /** A MEV record of the trade `tradeId`, a second after `micros`. */
  const protect = async (tradeId: string, micros: bigint) => {
    const written = await p.gql(RecordMevMetricDocument, {
      input: {
        tradeId,
        protection: "JITO_BUNDLE",
        outcome: "LANDED",
        tipLamports: "1000",
        timestamp: iso(micros + 1_000_000n),
      },
      durability: "COMMITTED",
    });
    expect(written.errors).toBeUndefined();
  };

  beforeAll(async () => {
    p = await startTestApp("cachepages");
    for (let i = 0; i < 6; i++) await commit(`h-${i}`, base + BigInt(i) * minute);
    const measured = await p.gql(RecordLatencyMetricDocument, {
      input: { tradeId: "h-1", stage: "e2e", latencyUs: 900, timestamp: iso(base + minute + 1_000n) },
      durability: "COMMITTED",
    });
    expect(measured.errors).toBeUndefined();
  });

  it("keeps pages of history and their links while a bot writes now; a late trade drops only the pages it lands in", async () => {
    // From a day (as a dashboard asks): a page from the table's start could lose rows to the TTL,
    // which any commit may enforce, so every commit drops it.
    const oldest = { first: 3, order: "ASC" as const, filter: { from: iso(base - HOUR) } };
    const newest = await p.gql(TradesWithLinksDocument, { first: 2, order: "DESC" });
    expect(ids(newest)).toEqual(["h-5", "h-4"]);
    const older = { first: 2, order: "DESC" as const, after: newest.data?.trades.pageInfo.endCursor ?? null };
    const first = await p.gql(TradesWithLinksDocument, oldest);
    const second = await p.gql(TradesWithLinksDocument, older);
    expect(ids(first)).toEqual(["h-0", "h-1", "h-2"]);
    expect(first.data?.trades.edges[1]?.node.latencyMetrics.map((m) => m.latencyUs)).toEqual(["900"]);
    expect(ids(second)).toEqual(["h-3", "h-2"]);

    // A bot's trade of the current second: after both pages, outside their links' window.
    let runs = counts();
    await commit("now-1", BigInt(Date.now()) * 1000n);
    expect(ids(await p.gql(TradesWithLinksDocument, { first: 2, order: "DESC" }))).toEqual(["now-1", "h-5"]);
    runs = counts().map((n, i) => n - (runs[i] as number)); // the newest page ran again, as it must
    expect(runs[0]).toBeGreaterThan(0);
    runs = counts();
    expect(await p.gql(TradesWithLinksDocument, oldest)).toEqual(first);
    expect(await p.gql(TradesWithLinksDocument, older)).toEqual(second);
    expect(counts()).toEqual(runs);

    // A late trade between h-0 and h-1: inside the oldest page (up to its edge, h-3), below the
    // older page's (h-3 and h-2, edge h-1): only the first runs again, and includes it.
    await commit("late-1", base + minute / 2n);
    expect(await p.gql(TradesWithLinksDocument, older)).toEqual(second);
    expect(counts()).toEqual(runs);
    expect(ids(await p.gql(TradesWithLinksDocument, oldest))).toEqual(["h-0", "late-1", "h-1"]);
    expect(counts()[0]).toBeGreaterThan(runs[0] as number);
  });

  it("reads a multi-day range's statements of their own (MEV link join, daily tips and currencies, daily p95 slippage and transfer fees) a day at a time: a write into one day reads again that day alone", async () => {
    // Linked trades on two days (the priority fees tell them apart), a range over four days, and
    // later a write into its last day, as a bot's into today (fixed days, so the test does not
    // depend on the hour it runs at: a write within LINK_WINDOW of midnight reaches two days).
    await commit("fee-a", base + 2n * HOUR, 100);
    await protect("fee-a", base + 2n * HOUR);
    await commit("fee-b", base + DAY + 3n * HOUR, 20);
    await protect("fee-b", base + DAY + 3n * HOUR);
    const query =
      "query($r: TimeRange!) { mevEffectiveness(range: $r) { totals { transactions linkedTrades priorityFeesLamports } } }";
    const range = { from: iso(base - 6n * HOUR), to: iso(base + 2n * DAY + 20n * HOUR) };
    const ask = async (text: string) => (await graphql(p, text, range)).data.mevEffectiveness;
    // Daily: the tip percentiles and the money per currency, each day's bucket whole in its day.
    const daily =
      "query($r: TimeRange!) { mevEffectiveness(range: $r, bucket: DAY) { buckets { bucket transactions tipPerLandedBundle { p50Lamports } byCurrency { token transactions } } } }";
    /** Each day's bucket as recorded: one landed bundle with a 1,000-lamport tip on the days given. */
    const days = (withRows: number[]) =>
      [-1, 0, 1, 2].map((d) => ({
        bucket: iso(base + BigInt(d) * DAY),
        transactions: withRows.includes(d) ? 1 : 0,
        tipPerLandedBundle: { p50Lamports: withRows.includes(d) ? 1000 : null },
        byCurrency: withRows.includes(d) ? [{ token: null, transactions: 1 }] : [],
      }));
    expect((await ask(query)).totals).toEqual([{ transactions: 2, linkedTrades: 2, priorityFeesLamports: "120" }]);
    expect((await ask(daily)).buckets).toEqual(days([0, 1]));
    // The trades' daily p95 slippage and transfer fees per currency, statements of their own too.
    const tradesDaily = async () =>
      (
        await graphql(
          p,
          "query($r: TimeRange!) { tradeStats(range: $r, bucket: DAY) { buckets { bucket count p95Slippage transferFeesByCurrency { token amount } } } }",
          range,
        )
      ).data.tradeStats.buckets;
    /** Each day's trades as recorded: all with slippage 0 and transfer fees 0 in USDC. */
    const tradeDays = (counts: number[]) =>
      [-1, 0, 1, 2].map((d, i) => ({
        bucket: iso(base + BigInt(d) * DAY),
        count: counts[i],
        p95Slippage: counts[i] ? 0 : null,
        transferFeesByCurrency: counts[i] ? [{ token: "USDC", amount: 0 }] : [],
      }));
    // The base day: h-0…h-5, fee-a and late-1 when the test above ran (counted through a page);
    // the next: fee-b.
    const onBaseDay = await p.gql(TradeIdsDocument, { filter: { from: iso(base), to: iso(base + DAY) }, first: 100 });
    const baseDay = onBaseDay.data?.trades.edges.length ?? 0;
    expect(baseDay).toBeGreaterThanOrEqual(7);
    expect(await tradesDaily()).toEqual(tradeDays([0, baseDay, 1, 0]));
    // The totals' p95: the 1-bp bins of each day, merged.
    const tradeTotals = async () =>
      (await graphql(p, "query($r: TimeRange!) { tradeStats(range: $r) { totals { count p95Slippage } } }", range)).data
        .tradeStats.totals;
    expect(await tradeTotals()).toEqual([{ count: baseDay + 1, p95Slippage: 0 }]);
    // strategyPerformance's daily PnL (sharpe, best and worst day…): the trades here close nothing.
    const risk = async () =>
      (
        await graphql(
          p,
          "query($r: TimeRange!) { strategyPerformance(range: $r, startingBalance: 1000) { strategy trades sharpe daysWon bestDay { day } } }",
          range,
        )
      ).data.strategyPerformance;
    expect(await risk()).toEqual([{ strategy: null, trades: baseDay + 1, sharpe: null, daysWon: 0, bestDay: null }]);
    const names = [
      "mevEffectiveness.priorityFees",
      "mevEffectiveness.tips.buckets",
      "mevEffectiveness.currencies.buckets",
      "tradeStats.p95.buckets",
      "tradeStats.transferFees.buckets",
      "strategyPerformance.daily",
      "tradeStats.p95.totals",
    ];
    const reads = () => names.map((name) => p.app.cache.stats().byQuery[name] ?? { hits: 0, misses: 0 });
    const before = reads();

    await commit("fee-c", base + 2n * DAY + 12n * HOUR, 3);
    await protect("fee-c", base + 2n * DAY + 12n * HOUR);
    expect((await ask(query)).totals).toEqual([{ transactions: 3, linkedTrades: 3, priorityFeesLamports: "123" }]);
    expect((await ask(daily)).buckets).toEqual(days([0, 1, 2]));
    expect(await tradesDaily()).toEqual(tradeDays([0, baseDay, 1, 1]));
    expect(await tradeTotals()).toEqual([{ count: baseDay + 2, p95Slippage: 0 }]);
    expect(await risk()).toEqual([{ strategy: null, trades: baseDay + 2, sharpe: null, daysWon: 0, bestDay: null }]);
    // The piece written into ran again; the others came from the cache: four days for the daily
    // buckets; for the link join the last day is cut an hour before the range's last whole hour
    // (its window reaches an hour past it), so five pieces, the last hour not touched either.
    const pieces = [5, 4, 4, 4, 4, 4, 4];
    for (const [i, after] of reads().entries()) {
      expect(after.misses - (before[i]?.misses ?? 0), names[i]).toBe(1);
      expect(after.hits - (before[i]?.hits ?? 0), names[i]).toBe((pieces[i] as number) - 1);
    }
  });

  it("keeps a range read in pieces within MAX_RESULT_ROWS as one statement did: rows per currency counted over every piece", async () => {
    const tight = await startTestApp("cachetight", { QUESTDB_TABLE_PREFIX: p.prefix, MAX_RESULT_ROWS: "100" });
    // Four days (before the other tests' ranges), 30 quote tokens a day: 4 daily buckets, 120
    // rows per currency; each day's statement brings 30.
    const first = base - 6n * DAY;
    const names = Array.from({ length: 30 }, (_, i) => `T${String(i).padStart(2, "0")}`);
    const inputs = [0n, 1n, 2n, 3n].flatMap((d) =>
      names.map((quoteToken) => ({
        tradeId: `cur-${d}-${quoteToken}`,
        protection: "JITO_BUNDLE" as const,
        outcome: "LANDED" as const,
        tipLamports: "1000",
        quoteToken,
        timestamp: iso(first + d * DAY + HOUR),
      })),
    );
    const written = await p.gql(RecordMevMetricsDocument, { inputs, durability: "COMMITTED" });
    expect(written.errors).toBeUndefined();
    const byCurrency = (days: bigint) =>
      graphql(
        tight,
        "query($r: TimeRange!) { mevEffectiveness(range: $r, bucket: DAY) { buckets { bucket byCurrency { token transactions } } } }",
        { from: iso(first), to: iso(first + days * DAY) },
      );
    const refused = await byCurrency(4n);
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: "LIMIT_EXCEEDED",
      limit: "MAX_RESULT_ROWS",
      max: 100,
    });
    const three = await byCurrency(3n);
    expect(three.errors).toBeUndefined();
    const tokens = names.map((token) => ({ token, transactions: 1 }));
    expect(three.data.mevEffectiveness.buckets).toEqual(
      [0n, 1n, 2n].map((d) => ({ bucket: iso(first + d * DAY), byCurrency: tokens })),
    );
  });
});

describe("whole responses", () => {
  /** POSTs like a bot or a dashboard (the fast path) and returns the body as sent. */
  const post = async (app: TestApp, query: string, variables: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return response.text();
  };
  const countQuery = "query($r: TimeRange!) { tradeStats(range: $r) { totals { count quoteVolume } } }";
  const countIn = (body: string) => JSON.parse(body).data.tradeStats.totals[0].count as number;
  const run = (app: TestApp) => Object.values(app.app.services.sql.stats().byName).reduce((a, b) => a + b, 0);

  it("answers a repeated analytics query with the stored bytes, without SQL, and afresh after a commit", async () => {
    const first = await post(t, countQuery, { r: range });
    const before = t.app.cache.stats();
    const statementsBefore = run(t);
    const again = await post(t, countQuery, { r: range });
    expect(again).toBe(first);
    const after = t.app.cache.stats();
    expect(after.responseHits - before.responseHits).toBe(1);
    // Only the transaction probe ran: no analytics statement.
    expect(run(t) - statementsBefore).toBe(after.probes - before.probes);
    expect(after.probes - before.probes).toBe(1);

    await record(t, 300);
    const fresh = await post(t, countQuery, { r: range });
    expect(countIn(fresh)).toBe(countIn(first) + 1);
    expect(t.app.cache.stats().responseHits).toBe(after.responseHits);
    // And the new answer is stored in turn.
    expect(await post(t, countQuery, { r: range })).toBe(fresh);
    expect(t.app.cache.stats().responseHits).toBe(after.responseHits + 1);
  });

  it("keys whole answers by variables and by the caller's role", async () => {
    const keyed = await startTestApp("cacheroles", {
      QUESTDB_TABLE_PREFIX: t.prefix,
      API_KEYS: "client-key-0123456789",
      ADMIN_API_KEYS: "admin-key-0123456789",
    });
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const hits = () => keyed.app.cache.stats().responseHits;
    const client = await post(keyed, countQuery, { r: range }, as("client-key-0123456789"));
    expect(await post(keyed, countQuery, { r: range }, as("client-key-0123456789"))).toBe(client);
    expect(hits()).toBe(1);
    expect(await post(keyed, countQuery, { r: range }, as("admin-key-0123456789"))).toBe(client);
    expect(hits()).toBe(1); // another role: executed
    const narrow = { r: { from: range.from, to: iso(day0 + 2_000_000n) } };
    expect(countIn(await post(keyed, countQuery, narrow, as("client-key-0123456789")))).toBe(2);
    expect(hits()).toBe(1); // other variables: executed
    // A wrong key is refused before any cached answer is looked at.
    const refused = JSON.parse(await post(keyed, countQuery, { r: range }, as("wrong-key-0123456789")));
    expect(refused.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(hits()).toBe(1);
  });

  it("executes every time what is not a pure analytics read, and answers with errors", async () => {
    const hits = () => t.app.cache.stats().responseHits;
    const before = hits();
    const mixed = "query($r: TimeRange!) { alertRules { id } tradeStats(range: $r) { totals { count } } }";
    await post(t, mixed, { r: range });
    await post(t, mixed, { r: range });
    const bad = "{ trades(first: 0) { edges { cursor } } }";
    const error = await post(t, bad, {});
    expect(JSON.parse(error).errors[0].extensions.field).toBe("first");
    expect(await post(t, bad, {})).toBe(error);
    expect(hits()).toBe(before);
  });

  it("follows fragments when deciding, and keeps nested (DataLoader) reads in the answer's key", async () => {
    const query = `query($n: Int!) { ...Page }
      fragment Page on Query { trades(first: $n, order: ASC) { edges { node { tradeId latencyMetrics { stage } mev { outcome } } } } }`;
    const first = await post(t, query, { n: 2 });
    const hits = t.app.cache.stats().responseHits;
    expect(await post(t, query, { n: 2 })).toBe(first);
    expect(t.app.cache.stats().responseHits).toBe(hits + 1);
    // A latency measurement of the first trade: the trades table did not move, the answer did.
    const tradeId = JSON.parse(first).data.trades.edges[0].node.tradeId as string;
    const measured = await t.gql(RecordLatencyMetricDocument, {
      input: { tradeId, stage: "e2e", latencyUs: 1234, timestamp: iso(day0 + 1_000n) },
      durability: "COMMITTED",
    });
    expect(measured.errors).toBeUndefined();
    await walApplied(`${t.prefix}latency_metrics`);
    const after = JSON.parse(await post(t, query, { n: 2 }));
    expect(after.data.trades.edges[0].node.latencyMetrics).toEqual([{ stage: "e2e" }]);
    expect(t.app.cache.stats().responseHits).toBe(hits + 1);
  });

  it("exposes the cache's counts on /metrics, hits, misses and coalesced reads per statement", async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    /** Every `name{query="…"} value` line, as query → value. */
    const perQuery = (name: string) =>
      Object.fromEntries(
        [...text.matchAll(new RegExp(`^${name}\\{query="([^"]+)"\\} (\\S+)$`, "gm"))].map((m) => [m[1], Number(m[2])]),
      );
    const sum = (values: Record<string, number>) => Object.values(values).reduce((n, v) => n + v, 0);
    const stats = t.app.cache.stats();
    for (const kind of ["hits", "misses", "coalesced"] as const) {
      const exposed = perQuery(`query_cache_${kind}_total`);
      expect(exposed).toEqual(Object.fromEntries(Object.entries(stats.byQuery).map(([q, c]) => [q, c[kind]])));
      expect(sum(exposed)).toBe(stats[kind]);
    }
    expect(sum(perQuery("query_cache_hits_total"))).toBeGreaterThan(0);
    expect(value("query_cache_response_hits_total")).toBe(stats.responseHits);
    expect(value("query_cache_response_hits_total")).toBeGreaterThan(0);
    // The statistics read the views: their state was read at least once (later probes may reuse it).
    expect(value("query_cache_view_probes_total")).toBeGreaterThan(0);
    expect(value("query_cache_view_probes_total")).toBeLessThanOrEqual(t.app.cache.stats().viewProbes);
  });
});

describe("SQL runner", () => {
  it("logs every statement's name and duration at debug", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split("\n"));
        done();
      },
    });
    const logged = await startTestApp(
      "sqllog",
      { QUESTDB_TABLE_PREFIX: t.prefix },
      { log: pino({ level: "debug" }, sink) },
    );
    await logged.gql(TradeStatsCountsDocument, { range });
    const sql = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "sql");
    // The first probe also reads the table's TTL (the partitions a commit may drop).
    // One day: one segment, from the view (or from the table while the view lags).
    expect(sql.map((entry) => entry.query.replace(/\.(view|raw)$/, ""))).toEqual([
      "txn.probe",
      "txn.ttl",
      "tradeStats.totals",
    ]);
    for (const entry of sql) {
      expect(entry.level).toBe(20);
      expect(entry.component).toBe("sql");
      expect(typeof entry.ms).toBe("number");
    }
  });

  it("stops a statement at QUERY_TIMEOUT_MS with a QUERY_TIMEOUT error that says what to do", async () => {
    const slow = await startTestApp("sqltimeout", { QUESTDB_TABLE_PREFIX: t.prefix, QUERY_TIMEOUT_MS: "100" });
    const heavy = {
      name: "test.heavy",
      // A GROUP BY checks QuestDB's circuit breaker as it goes (a plain filtered long_sequence does not).
      sql: "SELECT x % 1000 k, count() FROM long_sequence(1000000000) GROUP BY k",
      params: [],
    };
    const error = await slow.app.services.sql.query(heavy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      message:
        "The query test.heavy took longer than 100 ms (QUERY_TIMEOUT_MS) and was stopped; narrow the time range, choose a larger bucket, or raise QUERY_TIMEOUT_MS",
      extensions: { code: "QUERY_TIMEOUT", retryable: false },
    });
    expect(slow.app.services.sql.stats().failed).toBe(1);
  });
});
