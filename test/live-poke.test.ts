// Live without waiting (issue 15, point 3): this instance's acknowledged flushes start the pollers
// of the tables they wrote at once (a poke), instead of at the next LIVE_POLL_INTERVAL_MS tick.
// Units with a fake pool (its wal_tables() answers are scripted) check the coalescing and the
// wait for the WAL apply; the real tier checks the timing against QuestDB.
import { type Client, createClient } from "graphql-ws";
import type pg from "pg";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { createSqlRunner } from "../src/analytics/sql.ts";
import { createLiveQueries, type LiveQueries } from "../src/live/live-queries.ts";
import { RecordTradesDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually } from "./support/questdb.ts";

/** A pool whose wal_tables() answers are scripted and counted; other statements are refused. */
function fakePool(table: string) {
  const state = { writerTxn: 1n, sequencerTxn: 1n, checks: 0, hold: undefined as Promise<void> | undefined };
  const pool = {
    query: async (text: string) => {
      if (!text.includes("wal_tables()")) throw new Error(`unexpected statement: ${text}`);
      state.checks++;
      // The answer is what QuestDB knew when the statement arrived, even if it is held back.
      const row = { name: table, writerTxn: state.writerTxn, sequencerTxn: state.sequencerTxn };
      await state.hold;
      return { rows: [row] };
    },
  };
  return { pool: pool as unknown as pg.Pool, state };
}

/** The SQL runner live queries run their statements through, on a (fake) pool. */
const runnerOn = (pool: pg.Pool) => createSqlRunner({ pool, log: pino({ level: "silent" }), timeoutMs: 10_000 });

/** A live-query registry on a fake pool, with one poller on `table` that counts its polls. */
function withPoller(options: { poke?: boolean; pokeGiveUpMs?: number } = {}) {
  const { pool, state } = fakePool("trades");
  const live = createLiveQueries({
    sql: runnerOn(pool),
    log: pino({ level: "silent" }),
    intervalMs: 60_000,
    pokeRetryMs: 5,
    ...options,
  });
  const polls: number[] = [];
  live.join({ key: "k", tables: ["trades"], slideMs: 0, poll: async () => polls.push(Date.now()) }, { push: () => {} });
  return { live, state, polls };
}

/**
 * Lets the poller's first poll and a first check run (that check polls once more: the poller
 * did not know the table's transaction yet), then counts from zero.
 */
async function settled(t: ReturnType<typeof withPoller>) {
  t.live.poke(["trades"]);
  await vi.advanceTimersByTimeAsync(1_000);
  t.polls.length = 0;
  t.state.checks = 0;
}

describe("poke (fake pool, fake timers)", () => {
  let live: LiveQueries | undefined;
  afterEach(() => {
    live?.close();
    vi.useRealTimers();
  });

  it("runs one check per poke when the commit is applied, and the poller at once", async () => {
    vi.useFakeTimers();
    const t = withPoller();
    live = t.live;
    await settled(t);
    t.state.writerTxn = 2n;
    t.state.sequencerTxn = 2n;
    t.live.poke(["trades"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.state.checks).toBe(1);
    expect(t.polls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.state.checks).toBe(1);
    expect(t.polls).toHaveLength(1);
    expect(t.live.stats()).toMatchObject({ pokes: 2, pokeChecks: 2, tickChecks: 0 });
  });

  it("turns a burst of pokes during a check into one more check, not one each", async () => {
    vi.useFakeTimers();
    const t = withPoller();
    live = t.live;
    await settled(t);
    let release!: () => void;
    t.state.hold = new Promise((done) => {
      release = done;
    });
    t.state.writerTxn = 2n;
    t.state.sequencerTxn = 2n;
    t.live.poke(["trades"]);
    for (let i = 0; i < 50; i++) t.live.poke(["trades"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.state.checks).toBe(1);
    t.state.hold = undefined;
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.state.checks).toBe(2);
    expect(t.polls).toHaveLength(1);
  });

  it("checks again every few ms while the acknowledged commit is not applied, and polls when it is", async () => {
    vi.useFakeTimers();
    const t = withPoller();
    live = t.live;
    await settled(t);
    t.state.sequencerTxn = 2n; // committed, not applied
    t.live.poke(["trades"]);
    await vi.advanceTimersByTimeAsync(44);
    // At once, then after 5, 8, 12 and 18 ms (at 5, 13, 25 and 43 ms).
    expect(t.state.checks).toBe(5);
    expect(t.polls).toHaveLength(0);
    t.state.writerTxn = 2n;
    await vi.advanceTimersByTimeAsync(26);
    expect(t.state.checks).toBe(6);
    expect(t.polls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.state.checks).toBe(6);
  });

  it("gives up after pokeGiveUpMs and leaves the commit to the ticks", async () => {
    vi.useFakeTimers();
    const t = withPoller({ pokeGiveUpMs: 250 });
    live = t.live;
    await settled(t);
    t.state.sequencerTxn = 2n;
    t.live.poke(["trades"]);
    await vi.advanceTimersByTimeAsync(5_000);
    // At 0, 5, 13, 25, 43, 70, 111, 161, 211 and 261 ms (the last a commit 211 ms old asked for).
    expect(t.state.checks).toBe(10);
    expect(t.polls).toHaveLength(0);
    t.state.writerTxn = 2n;
    await vi.advanceTimersByTimeAsync(60_000); // the tick
    expect(t.live.stats().tickChecks).toBe(1);
    expect(t.polls).toHaveLength(1);
  });

  it("runs one latest-value poll at a time, the next when it ends, while stream polls run beside it", async () => {
    vi.useFakeTimers();
    const { pool, state } = fakePool("trades");
    live = createLiveQueries({ sql: runnerOn(pool), log: pino({ level: "silent" }), intervalMs: 60_000 });
    const started: string[] = [];
    const ends = new Map<string, () => void>();
    /** A poll that records its start and, after the first, ends when the test says so. */
    const poll = (name: string) => async () => {
      started.push(name);
      if (started.filter((n) => n === name).length === 1) return 0;
      await new Promise<void>((done) => ends.set(name, done));
      return 0;
    };
    for (const name of ["a", "b"]) {
      live.join({ key: name, tables: ["trades"], slideMs: 1_000, poll: poll(name) }, { push: () => {} });
    }
    live.join({ key: "s", tables: ["trades"], slideMs: 0, stream: true, poll: poll("s") }, { push: () => {} });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toEqual(["a", "b", "s"]); // first polls, at join
    state.writerTxn = 2n;
    state.sequencerTxn = 2n;
    live.poke(["trades"]);
    await vi.advanceTimersByTimeAsync(0);
    // The stream first; b waits for a.
    expect(started.slice(3)).toEqual(["s", "a"]);
    ends.get("a")?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(started.slice(3)).toEqual(["s", "a", "b"]);
  });

  it("runs no check for a poke with LIVE_POKE off, nor for a table no poller reads", async () => {
    vi.useFakeTimers();
    const off = withPoller({ poke: false });
    live = off.live;
    await vi.advanceTimersByTimeAsync(0);
    off.state.writerTxn = 2n;
    off.state.sequencerTxn = 2n;
    off.live.poke(["trades"]);
    off.live.poke(["latency_metrics"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(off.state.checks).toBe(0);
    expect(off.polls).toHaveLength(1); // the first poll, at join
    off.live.close();
    const on = withPoller();
    live = on.live;
    await settled(on);
    on.live.poke(["latency_metrics"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(on.state.checks).toBe(0);
  });
});

// The real tier: the tick is 10 s, so a trade that arrives within half of it, before any tick
// ran, came by the poke (the bound is loose: test machines are shared and sometimes slow).
const TICK_MS = 10_000;
const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

/** A tradeRecorded subscriber on `base`; resolves once its poller has made its first poll. */
async function subscriber(t: TestApp, baseToken: string) {
  const client = createClient({
    url: `${t.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  clients.push(client);
  const arrivals: { tradeId: string; at: number; tickChecks: number }[] = [];
  client.subscribe<{ tradeRecorded: { tradeId: string } }>(
    {
      query: "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId } }",
      variables: { f: { baseToken } },
    },
    {
      next: (value) => {
        const id = value.data?.tradeRecorded.tradeId;
        if (id) arrivals.push({ tradeId: id, at: Date.now(), tickChecks: t.app.services.live.stats().tickChecks });
      },
      error: () => {},
      complete: () => {},
    },
  );
  await eventually(async () => (t.app.services.live.stats().polls >= 1 ? true : undefined), "the first poll");
  return arrivals;
}

/** Records one trade of `baseToken` through `writer`; resolves with when it was sent. */
async function writeTrade(writer: TestApp, id: string, baseToken: string): Promise<number> {
  const sent = Date.now();
  const r = await writer.gql(RecordTradesDocument, { inputs: [{ ...makeTrade(id), baseToken }] });
  expect(r.errors).toBeUndefined();
  return sent;
}

describe.concurrent("poke (real QuestDB, LIVE_POLL_INTERVAL_MS=10000)", () => {
  it("delivers a trade written through this instance well within the tick", async () => {
    const t = await startTestApp("pokeon", { LIVE_POLL_INTERVAL_MS: String(TICK_MS), ALERT_INTERVAL_MS: "0" });
    const arrivals = await subscriber(t, "POKE");
    const sent = await writeTrade(t, "poke-on-1", "POKE");
    const [arrival] = await eventually(
      async () => (arrivals.length > 0 ? arrivals : undefined),
      "the trade",
      3 * TICK_MS,
    );
    expect(arrival?.tradeId).toBe("poke-on-1");
    expect((arrival?.at ?? Number.POSITIVE_INFINITY) - sent).toBeLessThan(TICK_MS / 2);
    expect(arrival?.tickChecks).toBe(0);
    // Where its time went: every stage of the way was measured (/metrics).
    const counted = await eventually(async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const counts = [...text.matchAll(/^live_event_stage_seconds_count\{([^}]*)\} (\d+)$/gm)];
      const stages = counts.filter((m) => Number(m[2]) > 0).map((m) => m[1] as string);
      return stages.includes('stage="fan_out",poll="stream"') ? stages.sort() : undefined;
    }, "the fan-out measured");
    expect(counted).toEqual([
      'stage="batch_wait"',
      'stage="fan_out",poll="stream"',
      'stage="ilp_commit"',
      'stage="poll_wait",poll="stream"',
      'stage="query",poll="stream"',
      'stage="wal_apply"',
    ]);
  });

  it("with LIVE_POKE=off, delivers it only at the tick", async () => {
    const t = await startTestApp("pokeoff", {
      LIVE_POLL_INTERVAL_MS: String(TICK_MS),
      LIVE_POKE: "off",
      ALERT_INTERVAL_MS: "0",
    });
    const arrivals = await subscriber(t, "TICK");
    const sent = await writeTrade(t, "poke-off-1", "TICK");
    const [arrival] = await eventually(
      async () => (arrivals.length > 0 ? arrivals : undefined),
      "the trade",
      3 * TICK_MS,
    );
    expect(arrival?.tradeId).toBe("poke-off-1");
    expect(arrival?.tickChecks).toBeGreaterThanOrEqual(1);
    expect((arrival?.at ?? 0) - sent).toBeGreaterThan(TICK_MS / 2);
    expect(t.app.services.live.stats().pokeChecks).toBe(0);
  });

  it("delivers a trade written through another instance at the tick", async () => {
    const t = await startTestApp("pokeother", { LIVE_POLL_INTERVAL_MS: String(TICK_MS), ALERT_INTERVAL_MS: "0" });
    const other = await startTestApp("pokeother2", { QUESTDB_TABLE_PREFIX: t.prefix, ALERT_INTERVAL_MS: "0" });
    const arrivals = await subscriber(t, "OTHER");
    const sent = await writeTrade(other, "poke-other-1", "OTHER");
    const [arrival] = await eventually(
      async () => (arrivals.length > 0 ? arrivals : undefined),
      "the trade",
      3 * TICK_MS,
    );
    expect(arrival?.tradeId).toBe("poke-other-1");
    expect(arrival?.tickChecks).toBeGreaterThanOrEqual(1);
    expect((arrival?.at ?? 0) - sent).toBeGreaterThan(TICK_MS / 2);
  });
});
