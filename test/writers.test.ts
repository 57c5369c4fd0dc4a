// "A writer key cannot alter rows another key wrote": the writer (the API key's name) is part of
// every row's identity. Rows are recorded in process with a caller named as the auth plugin will
// name it, written by the real batch writer to the real QuestDB, and read back over HTTP.
import { type Client, createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeCursor, encodeCursor } from "../src/analytics/trades.ts";
import { createContext } from "../src/context.ts";
import { BadInputError } from "../src/errors.ts";
import { OPEN_CALLER } from "../src/guard/keys.ts";
import type { Caller } from "../src/http/auth.ts";
import { writerOf } from "../src/schema/record.ts";
import {
  RecordLatencyMetricsDocument,
  RecordMevMetricDocument,
  RecordTradeDocument,
  StrategyPerformanceDocument,
  type TradeInput,
  TradesByWriterDocument,
  type TradesByWriterQueryVariables,
} from "./generated/graphql.ts";
import { executeAs, startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, exec, walApplied } from "./support/questdb.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("writers", { LIVE_POLL_INTERVAL_MS: "50", ALERT_INTERVAL_MS: "0" });
});

/** `msFromNow` ms from now (negative: past) with microsecond digits, as the API returns it. */
function micros(msFromNow: number, digits: string): string {
  return new Date(Date.now() + msFromNow).toISOString().replace("Z", `${digits}Z`);
}

/** Records one trade as the key `writer`, committed, and checks the answer. */
async function recordTradeAs(writer: string, input: TradeInput): Promise<void> {
  const result = await executeAs(t.app, writer, RecordTradeDocument, { input, durability: "COMMITTED" });
  expect(result.errors).toBeUndefined();
  expect(result.data?.recordTrade.ids).toEqual([input.tradeId]);
}

async function applied(): Promise<void> {
  for (const table of ["trades", "latency_metrics", "mev_metrics"]) await walApplied(`${t.prefix}${table}`);
}

async function tradesWith(variables: TradesByWriterQueryVariables) {
  const result = await t.gql(TradesByWriterDocument, variables);
  expect(result.errors).toBeUndefined();
  return result.data?.trades;
}

describe("writerOf", () => {
  it("is the caller's key name, and anonymous when the server runs without keys", () => {
    const context = createContext(t.app.services);
    expect(writerOf(context)).toBe("anonymous");
    expect(writerOf({ ...context, caller: OPEN_CALLER })).toBe("anonymous");
    expect(writerOf({ ...context, caller: { role: "writer", name: "bot-1" } satisfies Caller })).toBe("bot-1");
  });
});

describe("row identity: (timestamp, id, writer)", () => {
  it("gives two keys that send the same timestamp and tradeId a row each, with their own values", async () => {
    const at = micros(-3_600_000, "101");
    await recordTradeAs("bot-a", { ...makeTrade("same-1", at), realizedPnl: 1.5 });
    await recordTradeAs("bot-b", { ...makeTrade("same-1", at), realizedPnl: -2.25 });
    await applied();
    const trades = await tradesWith({ filter: { tradeId: "same-1" } });
    expect(trades?.edges.map((e) => e.node)).toEqual([
      { timestamp: at, tradeId: "same-1", writer: "bot-b", realizedPnl: -2.25, latencyMetrics: [], mev: null },
      { timestamp: at, tradeId: "same-1", writer: "bot-a", realizedPnl: 1.5, latencyMetrics: [], mev: null },
    ]);
  });

  it("keeps one row when the same key re-sends the same ids, with the values it sent last (upsert)", async () => {
    const at = micros(-3_500_000, "202");
    await recordTradeAs("bot-a", { ...makeTrade("resend-1", at), realizedPnl: 1 });
    await recordTradeAs("bot-b", { ...makeTrade("resend-1", at), realizedPnl: 3 });
    await recordTradeAs("bot-a", { ...makeTrade("resend-1", at), realizedPnl: 7 });
    await recordTradeAs("bot-a", { ...makeTrade("resend-1", at), realizedPnl: 7 });
    await applied();
    const raw = await exec(
      `SELECT writer, realized_pnl FROM ${t.prefix}trades WHERE trade_id = 'resend-1' ORDER BY writer`,
    );
    expect(raw.dataset).toEqual([
      ["bot-a", 7],
      ["bot-b", 3],
    ]);
  });

  it("links a trade to the latency measurements and MEV record its own key wrote", async () => {
    const at = micros(-3_400_000, "303");
    for (const writer of ["bot-a", "bot-b", "bot-c"]) await recordTradeAs(writer, makeTrade("link-1", at));
    const latency = (writer: string, inputs: { stage: string; latencyUs: number }[]) =>
      executeAs(t.app, writer, RecordLatencyMetricsDocument, {
        inputs: inputs.map((input) => ({ ...input, tradeId: "link-1", timestamp: at })),
        durability: "COMMITTED",
      });
    // Same metricIds (tradeId:stage) and timestamps for both keys; bot-a then corrects its quote.
    expect(
      (
        await latency("bot-a", [
          { stage: "quote", latencyUs: 100 },
          { stage: "submit", latencyUs: 200 },
        ])
      ).errors,
    ).toBeUndefined();
    expect((await latency("bot-b", [{ stage: "quote", latencyUs: 999 }])).errors).toBeUndefined();
    expect((await latency("bot-a", [{ stage: "quote", latencyUs: 150 }])).errors).toBeUndefined();
    for (const [writer, tipLamports] of [
      ["bot-a", 1000],
      ["bot-b", 2000],
    ] as const) {
      const mev = await executeAs(t.app, writer, RecordMevMetricDocument, {
        input: { tradeId: "link-1", timestamp: at, protection: "JITO_BUNDLE", outcome: "LANDED", tipLamports },
        durability: "COMMITTED",
      });
      expect(mev.errors).toBeUndefined();
    }
    await applied();

    const trades = await tradesWith({ filter: { tradeId: "link-1" } });
    const quote = { metricId: "link-1:quote", stage: "quote", tradeId: "link-1" };
    expect(trades?.edges.map((e) => e.node)).toEqual([
      { timestamp: at, tradeId: "link-1", writer: "bot-c", realizedPnl: null, latencyMetrics: [], mev: null },
      {
        timestamp: at,
        tradeId: "link-1",
        writer: "bot-b",
        realizedPnl: null,
        latencyMetrics: [{ ...quote, latencyUs: "999", writer: "bot-b" }],
        mev: { metricId: "link-1", tradeId: "link-1", tipLamports: "2000", writer: "bot-b" },
      },
      {
        timestamp: at,
        tradeId: "link-1",
        writer: "bot-a",
        realizedPnl: null,
        latencyMetrics: [
          { ...quote, latencyUs: "150", writer: "bot-a" },
          { metricId: "link-1:submit", stage: "submit", tradeId: "link-1", latencyUs: "200", writer: "bot-a" },
        ],
        mev: { metricId: "link-1", tradeId: "link-1", tipLamports: "1000", writer: "bot-a" },
      },
    ]);
  });

  it("filters trades by writer", async () => {
    const at = micros(-3_300_000, "404");
    await recordTradeAs("bot-a", makeTrade("filter-1", at));
    await recordTradeAs("bot-b", makeTrade("filter-1", at));
    await recordTradeAs("bot-b", makeTrade("filter-2", at));
    await applied();
    const trades = await tradesWith({ filter: { writer: "bot-b", from: at }, order: "ASC" });
    expect(trades?.edges.map((e) => [e.node.tradeId, e.node.writer])).toEqual([
      ["filter-1", "bot-b"],
      ["filter-2", "bot-b"],
    ]);
    expect((await tradesWith({ filter: { writer: "bot-z" } }))?.edges).toEqual([]);
  });

  it("pages through rows that differ only by writer once each, in either order", async () => {
    const at = micros(-3_200_000, "505");
    for (const writer of ["bot-b", "bot-c", "bot-a"]) await recordTradeAs(writer, makeTrade("page-1", at));
    await applied();
    for (const order of ["DESC", "ASC"] as const) {
      const writers: (string | null)[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await tradesWith({ filter: { tradeId: "page-1" }, first: 1, after, order });
        writers.push(...(page?.edges.map((e) => e.node.writer) ?? []));
        if (!page?.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(writers).toEqual(order === "DESC" ? ["bot-c", "bot-b", "bot-a"] : ["bot-a", "bot-b", "bot-c"]);
    }
  });
});

describe("writer filters of the analytics", () => {
  it("strategyPerformance counts only the named key's trades, with the series in (timestamp, tradeId, writer) order", async () => {
    const at = micros(-3_100_000, "707");
    const later = micros(-3_099_000, "707");
    await recordTradeAs("bot-a", { ...makeTrade("perf-1", at), strategy: "perf", realizedPnl: 5 });
    await recordTradeAs("bot-b", { ...makeTrade("perf-1", at), strategy: "perf", realizedPnl: -100 });
    await recordTradeAs("bot-a", { ...makeTrade("perf-2", later), strategy: "perf", realizedPnl: -2 });
    await applied();
    const range = { from: micros(-3_200_000, "000"), to: micros(-3_000_000, "000") };
    const perf = async (writer: string | null) => {
      const result = await t.gql(StrategyPerformanceDocument, { range, strategy: "perf", writer });
      expect(result.errors).toBeUndefined();
      return result.data?.strategyPerformance.map(({ strategy, trades, closedTrades, realizedPnl, maxDrawdown }) => ({
        strategy,
        trades,
        closedTrades,
        realizedPnl,
        maxDrawdown,
      }));
    };
    const row = { strategy: "perf" };
    expect(await perf("bot-a")).toEqual([{ ...row, trades: 2, closedTrades: 2, realizedPnl: 3, maxDrawdown: 2 }]);
    expect(await perf("bot-b")).toEqual([{ ...row, trades: 1, closedTrades: 1, realizedPnl: -100, maxDrawdown: 100 }]);
    // Every key's: 5 (bot-a), then -100 (bot-b: same timestamp and id, sorted after bot-a), then
    // -2: cumulative 5, -95, -97 under a high of 5. (bot-b first would give a high of 0 and 100.)
    expect(await perf(null)).toEqual([{ ...row, trades: 3, closedTrades: 3, realizedPnl: -97, maxDrawdown: 102 }]);
  });
});

describe("trade cursors", () => {
  it("round-trip the writer, whatever its characters, and still accept a cursor from before writers", () => {
    const trade = { timestamp: 1_700_000_000_000_001n, tradeId: "a|b", writer: 'bot "1"|x' };
    expect(decodeCursor(encodeCursor(trade))).toEqual(trade);
    expect(decodeCursor(encodeCursor({ ...trade, writer: null }))).toEqual({ ...trade, writer: "" });
    const old = Buffer.from("1700000000000001|a|b").toString("base64url");
    expect(decodeCursor(old)).toEqual({ timestamp: 1_700_000_000_000_001n, tradeId: "a|b", writer: "" });
    for (const bad of ['["1","a"]', '["x","a","w"]', "[nope", "x|a"]) {
      expect(() => decodeCursor(Buffer.from(bad).toString("base64url"))).toThrow(BadInputError);
    }
  });
});

describe("subscriptions", () => {
  const clients: Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
  });

  /** Subscribes over graphql-ws; collects data and errors. */
  function subscribe<T>(query: string, variables: Record<string, unknown>) {
    const client = createClient({
      url: `${t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    clients.push(client);
    const values: T[] = [];
    const errors: unknown[] = [];
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => (value.data ? values.push(value.data) : errors.push(value.errors)),
        error: (error) => errors.push(error),
        complete: () => {},
      },
    );
    return { values, errors };
  }

  it("liveMetrics with a writer counts only that key's trades", async () => {
    // Another key's trade in the window, committed before the named key's.
    await recordTradeAs("bot-other", makeTrade("window-0", micros(-2_000, "000")));
    await recordTradeAs("bot-live", makeTrade("window-1", micros(-2_000, "000")));
    await recordTradeAs("bot-live", makeTrade("window-2", micros(-1_000, "000")));
    const sub = subscribe<{ liveMetrics: { trades: number; volume: number } }>(
      "subscription($w: String) { liveMetrics(windowSeconds: 60, writer: $w) { trades volume } }",
      { w: "bot-live" },
    );
    const last = await eventually(async () => {
      const value = sub.values.at(-1)?.liveMetrics;
      return value?.trades === 2 ? value : undefined;
    }, "bot-live's two trades in the window");
    expect(sub.errors).toEqual([]);
    expect(last).toEqual({ trades: 2, volume: 400 });
  });

  it("delivers each key's row with the same timestamp and tradeId exactly once, also behind the watermark", async () => {
    type Event = { tradeId: string; writer: string | null; realizedPnl: number | null };
    const pollsBefore = t.app.services.live.stats().polls;
    const sub = subscribe<{ tradeRecorded: Event }>(
      "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId writer realizedPnl } }",
      { f: { strategy: "stream" } },
    );
    const got = () => sub.values.map((v) => v.tradeRecorded);
    // Its first poll marks "now"; the rows below are timestamped after it.
    await eventually(async () => (t.app.services.live.stats().polls > pollsBefore ? true : undefined), "first poll");
    const at = micros(5_000, "606");
    // bot-b first; then bot-a, which sorts before it (behind the watermark); then bot-c, after it.
    const sends: [string, number][] = [
      ["bot-b", 2],
      ["bot-a", 1],
      ["bot-c", 3],
    ];
    for (const [index, [writer, realizedPnl]] of sends.entries()) {
      await recordTradeAs(writer, { ...makeTrade("live-1", at), strategy: "stream", realizedPnl });
      await eventually(async () => (got().length > index ? true : undefined), `${writer}'s trade streamed`);
    }
    // Once a later trade arrives, every earlier one has been delivered as often as it will be.
    await recordTradeAs("bot-a", { ...makeTrade("live-2", micros(5_000, "607")), strategy: "stream" });
    await eventually(async () => (got().some((e) => e.tradeId === "live-2") ? true : undefined), "the last trade");
    expect(sub.errors).toEqual([]);
    expect(got()).toEqual([
      { tradeId: "live-1", writer: "bot-b", realizedPnl: 2 },
      { tradeId: "live-1", writer: "bot-a", realizedPnl: 1 },
      { tradeId: "live-1", writer: "bot-c", realizedPnl: 3 },
      { tradeId: "live-2", writer: "bot-a", realizedPnl: null },
    ]);
  });
});
