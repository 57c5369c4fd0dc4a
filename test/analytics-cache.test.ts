// The SQL layer and its cache against the real QuestDB: coalescing, invalidation on a new
// commit (also one made through another API instance), the byte bound, the timeout and the
// debug log of every statement.
import { Writable } from "node:stream";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { queryTrades } from "../src/analytics/trades.ts";
import { RecordTradeDocument, type TradeInput, TradeStatsCountsDocument, TradesDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { iso } from "./support/dataset.ts";
import { walApplied } from "./support/questdb.ts";

const DAY = 86_400_000_000n;
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

const statements = (app: TestApp, name: string) => app.app.services.sql.stats().byName[name] ?? 0;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("cache");
  for (let i = 0; i < 3; i++) await record(t, i);
});

describe("query cache", () => {
  it("runs one SQL statement for 20 identical requests made at once (coalescing)", async () => {
    const { cache } = t.app.services;
    const before = cache.stats();
    const runs = statements(t, "trades");
    const args = { filter: { strategy: "nobody" }, first: 7, after: null, order: "ASC" as const };
    const results = await Promise.all(Array.from({ length: 20 }, () => queryTrades(cache, `${t.prefix}trades`, args)));
    expect(statements(t, "trades") - runs).toBe(1);
    const after = cache.stats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.coalesced - before.coalesced).toBe(19);
    for (const result of results) expect(result).toBe(results[0]);
  });

  it("answers 20 concurrent identical GraphQL requests over HTTP with one SQL statement", async () => {
    const runs = statements(t, "tradeStats.totals");
    const before = t.app.cache.stats();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.gql(TradeStatsCountsDocument, { range, groupBy: ["VENUE"] })),
    );
    expect(statements(t, "tradeStats.totals") - runs).toBe(1);
    const after = t.app.cache.stats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits + after.coalesced - before.hits - before.coalesced).toBe(19);
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
    expect(statements(t, "tradeStats.totals")).toBe(runs + 1);
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
    expect(off.app.cache.stats()).toMatchObject({ entries: 0, bytes: 0, coalesced: 4 });
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
    expect(sql.map((entry) => entry.query)).toEqual(["cache.txn", "tradeStats.totals"]);
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
