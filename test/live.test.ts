// Subscriptions with the official graphql-ws client against the real server and QuestDB.
import { type Client, createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createChannel } from "../src/live/live-queries.ts";
import { RecordLatencyMetricsDocument, RecordTradesDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, exec, walApplied } from "./support/questdb.ts";

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

function connect(url: string, connectionParams?: Record<string, unknown>) {
  const closes: { code: number; reason: string }[] = [];
  const client = createClient({
    url: `${url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    on: { closed: (event) => closes.push(event as { code: number; reason: string }) },
  });
  clients.push(client);
  return { client, closes };
}

/** Collects a subscription's payloads until stopped. */
function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const values: T[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        else values.push(value.data as T);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return { values, errors, stop };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("live", {
    LIVE_POLL_INTERVAL_MS: "50",
    ALERT_INTERVAL_MS: "0",
    ADMIN_API_KEYS: "admin-key-0123456789abcdef",
    API_KEYS: "client-key-0123456789abcdef",
  });
});

const TRADE_RECORDED = "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId timestamp baseAmount } }";
const LIVE_METRICS = `subscription($w: Int!) { liveMetrics(windowSeconds: $w) {
  windowSeconds trades tradesPerSecond volume mevProtectedRate mevAttackedRate ingestQueueDepth
  latency { stage count p50Us p99Us } } }`;

describe("tradeRecorded", () => {
  it("streams every new matching trade once, across many flushes, late rows included", async () => {
    const { client } = connect(t.url, { authorization: "Bearer admin-key-0123456789abcdef" });
    const sub = collect<{ tradeRecorded: { tradeId: string; timestamp: string } }>(client, TRADE_RECORDED, {
      f: { baseToken: "SOL" },
    });
    await eventually(async () => (t.app.services.live.stats().pollers === 1 ? true : undefined), "the poller");
    await new Promise((r) => setTimeout(r, 200)); // its first poll marks "now"
    const sent: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const inputs = Array.from({ length: 100 }, (_, i) => makeTrade(`rec-${batch}-${i}`));
      // From the sixth on, every batch also carries a row 1 s older than the rows already streamed:
      // a late row. The first five come in order, so their polls skip the late-window count.
      if (batch === 5) expect(t.app.services.live.stats().statementsByName["tradeRecorded.fresh"]).toBeGreaterThan(0);
      if (batch > 4) inputs.push(makeTrade(`late-${batch}`, new Date(Date.now() - 1_000).toISOString()));
      // …and one that does not match the filter.
      inputs.push({ ...makeTrade(`jup-${batch}`), baseToken: "JUP" });
      const r = await t.gql(RecordTradesDocument, { inputs, durability: "COMMITTED" });
      expect(r.errors).toBeUndefined();
      sent.push(...inputs.filter((i) => i.baseToken === "SOL").map((i) => i.tradeId as string));
      await new Promise((r) => setTimeout(r, 120));
    }
    await eventually(async () => (sub.values.length >= sent.length ? true : undefined), "all trades streamed");
    await new Promise((r) => setTimeout(r, 300));
    const ids = sub.values.map((v) => v.tradeRecorded.tradeId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...sent].sort());
    // In order, apart from the late rows, which come as soon as they are visible.
    const onTime = sub.values.filter((v) => !v.tradeRecorded.tradeId.startsWith("late-"));
    const stamps = onTime.map((v) => v.tradeRecorded.timestamp);
    expect(stamps).toEqual([...stamps].sort());
    // The late rows were found by the count and read again with the window.
    expect(t.app.services.live.stats().statementsByName["tradeRecorded.late"]).toBeGreaterThanOrEqual(1);
    sub.stop();
    await eventually(async () => (t.app.services.live.stats().pollers === 0 ? true : undefined), "the poller to stop");
  });

  it("serves 100 subscribers of one query with one poller: SQL statements do not grow with subscribers", async () => {
    // Live pollers run on the light pool.
    const pool = t.app.lightPool;
    const original = pool.query.bind(pool);
    let tradeStatements = 0;
    // biome-ignore lint/suspicious/noExplicitAny: counting wrapper
    (pool as any).query = (...args: any[]) => {
      if (typeof args[0] === "string" && args[0].includes(`FROM ${t.prefix}trades`)) tradeStatements++;
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    try {
      const { client } = connect(t.url, { authorization: "Bearer admin-key-0123456789abcdef" });
      const subs = Array.from({ length: 100 }, () => collect(client, TRADE_RECORDED, { f: { strategy: "fanout" } }));
      await eventually(
        async () => (t.app.services.live.stats().subscribers === 100 ? true : undefined),
        "100 subscribers",
      );
      expect(t.app.services.live.stats().pollers).toBe(1);
      const pollsBefore = t.app.services.live.stats().polls;
      const executionsBefore = { ...t.app.sharedExecution };
      tradeStatements = 0;
      for (let i = 0; i < 5; i++) {
        await t.gql(RecordTradesDocument, {
          inputs: [{ ...makeTrade(`fan-${i}`), strategy: "fanout" }],
          durability: "COMMITTED",
        });
        await new Promise((r) => setTimeout(r, 150));
      }
      await eventually(async () => (subs.every((s) => s.values.length === 5) ? true : undefined), "5 trades × 100");
      const polls = t.app.services.live.stats().polls - pollsBefore;
      expect(polls).toBeGreaterThanOrEqual(5);
      // One statement per poll (rows after the watermark and the late-window count, in one
      // UNION ALL), never one per subscriber.
      expect(tradeStatements).toBeLessThanOrEqual(polls);
      expect(tradeStatements).toBeGreaterThanOrEqual(5);
      // Each trade's selection set is executed once for the cohort, not once per subscriber.
      expect(t.app.sharedExecution.executions - executionsBefore.executions).toBe(5);
      expect(t.app.sharedExecution.reused - executionsBefore.reused).toBe(495);
      for (const s of subs) s.stop();
      await eventually(async () => (t.app.services.live.stats().pollers === 0 ? true : undefined), "pollers gone");
    } finally {
      pool.query = original;
    }
  });
});

describe("liveMetrics", () => {
  it("pushes the current figures at once and then the window's exact counts, volume, rates and latency percentiles", async () => {
    const { client } = connect(t.url, { authorization: "Bearer admin-key-0123456789abcdef" });
    const sub = collect<{
      liveMetrics: Record<string, unknown> & {
        latency: { stage: string; count: number; p50Us: number; p99Us: number }[];
      };
    }>(client, LIVE_METRICS, { w: 3600 });
    // A second cohort: the polls of both, due at the same commits, run as one statement
    // (live/union-batch.ts), each with its own window and parameters.
    const other = collect<{ liveMetrics: { windowSeconds: number; trades: number; volume: number } }>(
      client,
      LIVE_METRICS,
      { w: 1800 },
    );
    await eventually(async () => (sub.values.length >= 1 ? true : undefined), "the first value");
    await eventually(async () => (other.values.length >= 1 ? true : undefined), "the other cohort's first value");
    const statuses = ["PROTECTED", "SANDWICHED", "UNPROTECTED", "FRONT_RUN"] as const;
    const inputs = Array.from({ length: 40 }, (_, i) => ({
      ...makeTrade(`lm-${i}`),
      quoteAmount: 10 + i,
      mevStatus: statuses[i % 4] ?? "PROTECTED",
    }));
    await t.gql(RecordTradesDocument, { inputs, durability: "COMMITTED" });
    const latencies = Array.from({ length: 200 }, (_, i) => (i + 1) * 1000); // 1..200 ms
    await t.gql(RecordLatencyMetricsDocument, {
      inputs: latencies.map((us, i) => ({
        stage: "lm-submit",
        latencyUs: us,
        metricId: `lm-lat-${i}`,
        timestamp: new Date().toISOString(),
      })),
      durability: "COMMITTED",
    });
    await walApplied(`${t.prefix}latency_metrics`);
    // Independent figures from the whole trades table of this app (everything is inside the hour).
    const all = await exec(
      `SELECT count(), sum(quote_amount), sum(CASE WHEN mev_status = 'PROTECTED' THEN 1 ELSE 0 END), sum(CASE WHEN mev_status IN ('SANDWICHED','FRONT_RUN','BACK_RUN') THEN 1 ELSE 0 END) FROM ${t.prefix}trades`,
    );
    const [n, volume, protectedN, attackedN] = all.dataset[0] as number[];
    const value = await eventually(async () => {
      const last = sub.values.at(-1)?.liveMetrics;
      const stage = last?.latency.find((l) => l.stage === "lm-submit");
      return last && last.trades === n && stage?.count === 200 ? { last, stage } : undefined;
    }, "figures with the new rows");
    expect(value.last.volume).toBeCloseTo(volume as number, 6);
    expect(value.last.tradesPerSecond).toBeCloseTo((n as number) / 3600, 9);
    expect(value.last.mevProtectedRate).toBeCloseTo((protectedN as number) / (n as number), 12);
    expect(value.last.mevAttackedRate).toBeCloseTo((attackedN as number) / (n as number), 12);
    // Exact nearest-rank percentiles of 1..200 ms: p50 = 100 ms, p99 = 198 ms. approx_percentile
    // keeps 3 significant digits (HdrHistogram): within 1 %.
    expect(Math.abs(value.stage.p50Us - 100_000) / 100_000).toBeLessThan(0.01);
    expect(Math.abs(value.stage.p99Us - 198_000) / 198_000).toBeLessThan(0.01);
    const second = await eventually(async () => {
      const last = other.values.at(-1)?.liveMetrics;
      return last && last.trades === n ? last : undefined;
    }, "the other cohort's figures with the new rows");
    expect(second.windowSeconds).toBe(1800);
    expect(second.volume).toBeCloseTo(volume as number, 6);
    other.stop();
    const count = sub.values.length;
    await new Promise((r) => setTimeout(r, 1500));
    // Nothing changed: the window slid, figures stayed, no message.
    expect(sub.values.length).toBe(count);
    sub.stop();
  });

  it("coalesces to the latest value for a consumer that falls behind, and bounds a stream's queue", () => {
    const latest = createChannel<number>({ coalesce: true, maxQueued: 2, onOverflow: () => {}, onClose: () => {} });
    for (let i = 0; i < 100; i++) latest.push(i);
    let overflowed = 0;
    const stream = createChannel<number>({
      coalesce: false,
      maxQueued: 3,
      onOverflow: () => overflowed++,
      onClose: () => {},
    });
    for (let i = 0; i < 5; i++) stream.push(i);
    return Promise.all([latest.next(), stream.next(), stream.next(), stream.next(), stream.next()]).then((results) => {
      expect(results[0]).toEqual({ value: 99, done: false });
      expect(results.slice(1).map((r) => r.value)).toEqual([0, 1, 2, undefined]);
      expect(overflowed).toBe(1);
    });
  });
});

describe("alerts", () => {
  it("fires and resolves with hysteresis, stores the events and pushes them; only admins change rules", async () => {
    const { client } = connect(t.url, { authorization: "Bearer admin-key-0123456789abcdef" });
    const sub = collect<{ alerts: { ruleId: string; state: string; kind: string } }>(
      client,
      "subscription { alerts { ruleId state kind message } }",
    );
    const upsert = async (key?: string) => {
      const r = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({
          query:
            'mutation { upsertAlertRule(input: { id: "quiet", kind: NO_TRADES, threshold: 2, hysteresis: 0.5 }) { id kind threshold } }',
        }),
      });
      return r.json();
    };
    expect((await upsert("client-key-0123456789abcdef")).errors[0].message).toBe(
      "The key key-1 (role writer) may not use upsertAlertRule: it needs an admin key",
    );
    expect((await upsert("admin-key-0123456789abcdef")).data.upsertAlertRule).toEqual({
      id: "quiet",
      kind: "NO_TRADES",
      threshold: 2,
    });
    await new Promise((r) => setTimeout(r, 100)); // the subscription is registered
    // No trade for 2.5 s → firing.
    await new Promise((r) => setTimeout(r, 2_500));
    let events = await t.app.services.alerts.evaluate();
    expect(events.map((e) => [e.ruleId, e.state])).toEqual([["quiet", "FIRING"]]);
    // Still quiet: no second event.
    expect(await t.app.services.alerts.evaluate()).toEqual([]);
    await t.gql(RecordTradesDocument, { inputs: [makeTrade("wake-up")], durability: "COMMITTED" });
    await walApplied(`${t.prefix}trades`);
    events = await t.app.services.alerts.evaluate();
    expect(events.map((e) => [e.ruleId, e.state])).toEqual([["quiet", "RESOLVED"]]);
    await eventually(async () => (sub.values.length === 2 ? true : undefined), "both events pushed");
    expect(sub.values.map((v) => v.alerts.state)).toEqual(["FIRING", "RESOLVED"]);
    await t.app.writer.drain();
    await walApplied(`${t.prefix}alert_events`);
    const stored = await exec(`SELECT rule_id, kind, state FROM ${t.prefix}alert_events ORDER BY timestamp`);
    expect(stored.dataset).toEqual([
      ["quiet", "NO_TRADES", "FIRING"],
      ["quiet", "NO_TRADES", "RESOLVED"],
    ]);
    sub.stop();
  });
});

describe("WebSocket authentication", () => {
  it("closes a connection without a key with 4401 and one with a wrong key with 4403", async () => {
    const { client: anonymous, closes } = connect(t.url);
    const denied = collect(anonymous, LIVE_METRICS, { w: 60 });
    await eventually(async () => (closes.length > 0 ? true : undefined), "the refusal");
    expect(closes[0]?.code).toBe(4401);
    expect(denied.values).toEqual([]);
    const { client: wrong, closes: wrongCloses } = connect(t.url, { authorization: "Bearer wrong-key-000000000000" });
    collect(wrong, LIVE_METRICS, { w: 60 });
    await eventually(async () => (wrongCloses.length > 0 ? true : undefined), "the refusal");
    expect(wrongCloses[0]?.code).toBe(4403);
  });
});

describe("slow consumers", () => {
  it("disconnects a tradeRecorded client that stops reading with close code 4429; others are unaffected", async () => {
    const s = await startTestApp("slow", { LIVE_POLL_INTERVAL_MS: "50", LIVE_MAX_QUEUED: "50" });
    // A raw graphql-ws client whose socket stops reading after the subscription starts.
    const socket = new WebSocket(`${s.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    const closed = new Promise<number>((done) => socket.on("close", (code) => done(code)));
    await new Promise((done) => socket.on("open", done));
    socket.send(JSON.stringify({ type: "connection_init" }));
    await new Promise((done) => socket.once("message", done));
    socket.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: "subscription { tradeRecorded { tradeId signature baseToken quoteToken } }" },
      }),
    );
    await eventually(async () => (s.app.services.live.stats().pollers === 1 ? true : undefined), "the poller");
    // biome-ignore lint/suspicious/noExplicitAny: reach the TCP socket to stop reading
    const tcp = (socket as any)._socket as import("node:net").Socket;
    tcp.pause();
    const { client } = connect(s.url);
    const healthy = collect<{ tradeRecorded: { tradeId: string } }>(client, TRADE_RECORDED, {
      f: { strategy: "healthy" },
    });
    await eventually(async () => (s.app.services.live.stats().pollers === 2 ? true : undefined), "both pollers");
    await new Promise((r) => setTimeout(r, 200));
    for (let round = 0; round < 60 && s.app.services.live.stats().pollers === 2; round++) {
      const inputs = Array.from({ length: 1000 }, (_, i) => makeTrade(`slow-${round}-${i}`));
      inputs.push({ ...makeTrade(`healthy-${round}`), strategy: "healthy" });
      await s.gql(RecordTradesDocument, { inputs, durability: "COMMITTED" });
      await new Promise((r) => setTimeout(r, 100));
    }
    // The server gave up on the slow subscription (its poller is gone)…
    await eventually(
      async () => (s.app.services.live.stats().pollers === 1 ? true : undefined),
      "the slow cohort to end",
    );
    // …and once the client reads again, the last thing it gets is the documented close code.
    tcp.resume();
    expect(await closed).toBe(4429);
    await eventually(async () => (healthy.values.length >= 1 ? true : undefined), "the healthy client's trades");
    healthy.stop();
  });
});

describe("subscription errors", () => {
  it("answers bad arguments over WebSockets with the same client error as HTTP would", async () => {
    const { client } = connect(t.url, { authorization: "Bearer admin-key-0123456789abcdef" });
    const sub = collect(client, LIVE_METRICS, { w: 0 });
    await eventually(async () => (sub.errors.length > 0 ? true : undefined), "the error");
    const [errors] = sub.errors as { message: string; extensions?: { code?: string } }[][];
    expect(errors?.[0]?.message).toBe("windowSeconds: must be from 1 to 86400, got 0");
    expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(t.app.services.live.stats().pollers).toBe(0);
  });

  it("refuses bad subscription filters and names, naming the argument, before any poller starts", async () => {
    const { client } = connect(t.url, { authorization: "Bearer admin-key-0123456789abcdef" });
    const cases: [string, Record<string, unknown>, string, string][] = [
      [TRADE_RECORDED, { f: { strategy: "s".repeat(1 << 20) } }, "filter.strategy", "must be 1 to 64 characters long"],
      [
        TRADE_RECORDED,
        { f: { mevStatus: Array(50_000).fill("SANDWICHED") } },
        "filter.mevStatus",
        "has 50000 items; at most 100 are accepted",
      ],
      [
        "subscription($s: String) { liveMetrics(strategy: $s) { trades } }",
        { s: "a b" },
        "strategy",
        "may contain only letters, digits and _ . : / - and must start with a letter or digit",
      ],
    ];
    for (const [query, variables, field, reason] of cases) {
      const sub = collect(client, query, variables);
      await eventually(async () => (sub.errors.length > 0 ? true : undefined), `the error for ${field}`);
      const [errors] = sub.errors as { message: string; extensions?: Record<string, unknown> }[][];
      expect(errors?.[0]).toMatchObject({
        message: `${field}: ${reason}`,
        extensions: { code: "BAD_USER_INPUT", field },
      });
    }
    expect(t.app.services.live.stats().pollers).toBe(0);
  });
});

describe("LIVE_COHORTS=off (the benchmark's baseline)", () => {
  it("gives every subscriber its own poller", async () => {
    const solo = await startTestApp("solo", { LIVE_COHORTS: "off", LIVE_POLL_INTERVAL_MS: "50" });
    const { client } = connect(solo.url);
    const subs = Array.from({ length: 3 }, () => collect(client, TRADE_RECORDED, { f: { strategy: "solo" } }));
    await eventually(async () => (solo.app.services.live.stats().pollers === 3 ? true : undefined), "3 pollers");
    for (const s of subs) s.stop();
    await eventually(async () => (solo.app.services.live.stats().pollers === 0 ? true : undefined), "none left");
  });
});
