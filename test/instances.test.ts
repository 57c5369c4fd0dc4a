// Three API instances on one QuestDB (issue 15, point 4): separate processes on free ports, one
// table prefix (they share the tables), a spool folder each, and bots in front of them through a
// round-robin client that fails over on connection errors with the same idempotency keys.
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../src/questdb/local-server.ts";
import { formatIsoMicros, nowMicros } from "../src/time.ts";
import { type Api, apiEnv, metric, spawnApi } from "./support/api-process.ts";
import { micros } from "./support/dataset.ts";
import { makeTrade } from "./support/load.ts";
import { ownQuestDb } from "./support/own-questdb.ts";
import { eventually, uniquePrefix } from "./support/questdb.ts";
import {
  createRoundRobin,
  type FleetLedger,
  type RoundRobinClient,
  roundRobinBots,
  type SentTrade,
} from "./support/round-robin.ts";
import { subscribeWs, type WsSubscriber } from "./support/ws-subscriber.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** One key per role, the same on every instance: a row's writer (the key's name) does not depend on the instance. */
const KEYS = {
  bots: "bots-secret-0123456789abcdef",
  monitor: "monitor-secret-0123456789ab",
  ops: "ops-secret-0123456789abcdef0",
};
const API_KEYS = `bots:writer:${KEYS.bots},monitor:reader:${KEYS.monitor},ops:admin:${KEYS.ops}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

interface Fleet {
  urls: string[];
  ports: number[];
  envs: Record<string, string>[];
  apis: Api[];
}

/** Three instances on `questdb` with one table prefix, each its own port, spool folder and INSTANCE_ID (inst-1…3). */
async function startFleet(
  questdb: { httpPort: number; pgPort: number },
  prefix: string,
  extra: Record<string, string> = {},
): Promise<Fleet> {
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const envs = await Promise.all(
    ports.map((_, i) =>
      apiEnv(questdb, prefix, {
        API_KEYS,
        INSTANCE_ID: `inst-${i + 1}`,
        LOG_LEVEL: "warn",
        // Three API processes, QuestDB and the test on two cores: no worker threads.
        WRITE_WORKERS: "0",
        ANALYTICS_WORKERS: "0",
        ...extra,
      }),
    ),
  );
  // Started together: start-up's table creation races on the shared tables, as it does in a deployment.
  const apis = await Promise.all(ports.map((port, i) => spawnApi(cleanups, port, envs[i] as Record<string, string>)));
  return { urls: ports.map((p) => `http://127.0.0.1:${p}`), ports, envs, apis };
}

/** SQL through QuestDB's HTTP /exec on `httpPort`; the rows. */
async function sqlOn(httpPort: number, sql: string): Promise<unknown[][]> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/exec?query=${encodeURIComponent(sql)}`);
  const body = (await response.json()) as { dataset?: unknown[][]; error?: string };
  if (!response.ok || body.error) throw new Error(`QuestDB: ${body.error ?? response.status} for ${sql}`);
  return body.dataset ?? [];
}

/** sqlOn once every committed transaction of the WAL table `table` is applied (visible to SQL). */
async function sqlAfterApply(httpPort: number, table: string, sql: string): Promise<unknown[][]> {
  await eventually(
    async () => {
      const wal = `SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = '${table}'`;
      const [row] = (await sqlOn(httpPort, wal)) as [number, number][];
      return row && row[0] === row[1] ? true : undefined;
    },
    `WAL apply on ${table}`,
    60_000,
  );
  return sqlOn(httpPort, sql);
}

/** trade_id → how many rows carry it. */
async function storedTradeIds(httpPort: number, table: string): Promise<Map<string, number>> {
  const rows = await sqlAfterApply(httpPort, table, `SELECT trade_id, count() n FROM ${table} GROUP BY trade_id`);
  return new Map(rows.map(([id, n]) => [id as string, n as number]));
}

/** One request to one instance; the parsed answer. */
async function gqlOn<T>(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...bearer(key) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: T | null; errors?: { message: string }[] };
}

/** Rows an instance holds that QuestDB has not acknowledged: queued, in flight, and in its spool (when it has one). */
const unwritten = async (port: number) =>
  (await metric(port, "ingest_queued_rows")) +
  (await metric(port, "ingest_in_flight_rows")) +
  ((await metric(port, "spool_bytes")) || 0);

/** How many of `ids` are not stored, and the first few: a short message when thousands are. */
const notStored = (stored: Map<string, number>, ids: Iterable<string>) => {
  const lost = [...ids].filter((id) => !stored.has(id));
  return { lost: lost.length, first: lost.slice(0, 3) };
};
const NONE = { lost: 0, first: [] };

const count = (retried: Map<string, number>, prefix: string) =>
  [...retried].filter(([why]) => why.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);

describe("three instances on one QuestDB, bots through a round-robin client", () => {
  const LATE_MS = 5_000;

  it("bots write through all three in turn; a tradeRecorded subscriber on each instance gets every acknowledged trade exactly once, in the stream's order", {
    timeout: 120_000,
  }, async () => {
    const questdb = inject("questdb");
    const prefix = uniquePrefix("three");
    const phases: string[] = [];
    let phaseStart = performance.now();
    const phase = (name: string) => {
      phases.push(`${name} ${((performance.now() - phaseStart) / 1000).toFixed(1)} s`);
      phaseStart = performance.now();
    };
    const fleet = await startFleet(questdb, prefix, { LIVE_LATE_ROWS_MS: String(LATE_MS) });
    phase("start");
    const client = createRoundRobin(fleet.urls, bearer(KEYS.bots));

    interface Delivered {
      tradeId: string;
      ts: bigint;
    }
    const subscribers = fleet.urls.map((url) =>
      subscribeWs<Delivered>({
        url,
        key: KEYS.monitor,
        query: "subscription { tradeRecorded { tradeId timestamp } }",
        pick: (data) => {
          const t = data.tradeRecorded as { tradeId: string; timestamp: string } | undefined;
          return t && { tradeId: t.tradeId, ts: micros(t.timestamp) };
        },
        cleanups,
      }),
    );
    await Promise.all(subscribers.map((s) => s.connected));

    // Markers written COMMITTED, one at a time: each subscriber's stream starts at its first poll
    // ("now"), so the bots start once every subscriber has received a marker; an end marker,
    // committed after every acknowledgement, comes after every trade in every stream.
    const written = new Map<string, SentTrade>();
    let markers = 0;
    const writeMarker = async (): Promise<string> => {
      const tradeId = `marker-${markers++}`;
      const ts = nowMicros();
      const sentAt = performance.now();
      const { instance } = await client.send(
        "mutation($t: [TradeInput!]!) { recordTrades(inputs: $t, durability: COMMITTED) { ids } }",
        { t: [makeTrade(tradeId, formatIsoMicros(ts))] },
      );
      written.set(tradeId, { tradeId, ts, sentAt, ackAt: performance.now(), instance, durability: "COMMITTED" });
      return tradeId;
    };
    const hasMarker = (s: WsSubscriber<Delivered>, id?: string) =>
      s.received.some((r) => (id ? r.value.tradeId === id : r.value.tradeId.startsWith("marker-")));
    await eventually(
      async () => {
        if (subscribers.every((s) => hasMarker(s))) return true;
        await writeMarker();
        await sleep(250);
        return undefined;
      },
      "a marker on every subscriber",
      30_000,
    );
    phase("streams live");

    const ledger = await roundRobinBots({
      client,
      prefix: "rr",
      total: 12_000,
      bots: 6,
      maxBatch: 100,
      durability: "COMMITTED",
    });
    phase("bots");
    expect(ledger.failures).toEqual([]);
    expect(ledger.acked.size).toBe(12_000);
    // Round robin: every instance acknowledged about a third of the batches.
    for (const n of client.answered) expect(n).toBeGreaterThan(30);
    for (const [id, t] of ledger.acked) written.set(id, t);

    const end = await writeMarker();
    for (const s of subscribers) await eventually(async () => hasMarker(s, end) || undefined, "the end marker", 30_000);
    phase("end marker delivered");

    // QuestDB holds each written trade once.
    const table = `${prefix}trades`;
    const stored = await sqlAfterApply(
      questdb.httpPort,
      table,
      `SELECT count(), count_distinct(trade_id) FROM ${table}`,
    );
    expect(stored).toEqual([[written.size, written.size]]);

    const report: string[] = [];
    for (const [i, s] of subscribers.entries()) {
      expect(s.errors).toEqual([]);
      const ids = s.received.map((r) => r.value.tradeId);
      // Exactly once: no duplicate; every acknowledged trade; nothing that was not written.
      expect(ids.length - new Set(ids).size).toBe(0);
      const trades = ids.filter((id) => !id.startsWith("marker-"));
      expect(trades.length).toBe(ledger.acked.size);
      expect(new Set(trades)).toEqual(new Set(ledger.acked.keys()));
      expect(ids.filter((id) => !written.has(id))).toEqual([]);
      // Rows written through every instance arrived on this one (the others' through the transaction watch).
      const via = [0, 1, 2].map((n) => trades.filter((id) => written.get(id)?.instance === n).length);
      for (const n of via) expect(n).toBeGreaterThan(1_000);
      // In (timestamp, tradeId) order (one writer), except late trades: a trade delivered after one
      // with a greater position must be within LIVE_LATE_ROWS_MS of the newest delivered before
      // it, and must not have been committed before any such trade was even sent (then both were
      // visible together, and a poll sends what is visible together in order). Of the trades
      // delivered before it, the one sent last is the one to compare with.
      const precedes = (a: Delivered, b: Delivered) => a.ts < b.ts || (a.ts === b.ts && a.tradeId < b.tradeId);
      const violations: string[] = [];
      let newest: Delivered | undefined;
      let sentLast: { trade: Delivered; sentAt: number } | undefined;
      let late = 0;
      for (const { value: r } of s.received) {
        const mine = written.get(r.tradeId) as SentTrade;
        if (sentLast && precedes(r, sentLast.trade) && mine.ackAt < sentLast.sentAt) {
          violations.push(`${r.tradeId} was committed before ${sentLast.trade.tradeId} was sent, yet came after it`);
        }
        if (!sentLast || mine.sentAt > sentLast.sentAt) sentLast = { trade: r, sentAt: mine.sentAt };
        if (!newest || precedes(newest, r)) {
          newest = r;
          continue;
        }
        late++;
        if (newest.ts - r.ts > BigInt(LATE_MS) * 1000n) violations.push(`${r.tradeId} is older than the late window`);
      }
      expect(violations.slice(0, 5)).toEqual([]);
      report.push(`instance ${i + 1}: ${ids.length} delivered (${via.join("/")} by instance), ${late} late`);
    }
    console.info(
      `[instances] ${written.size} trades, batches answered ${client.answered.join("/")}; ${report.join("; ")}; ${phases.join(", ")}`,
    );
    // Nothing arrived after the checks started (a duplicate would).
    const before = subscribers.map((s) => s.received.length);
    await sleep(1_000);
    expect(subscribers.map((s) => s.received.length)).toEqual(before);
  });

  it("one instance SIGKILLed while bots write: nothing acknowledged COMMITTED is lost; restarted on its SPOOL_DIR, nothing acknowledged QUEUED is lost either; its bots fail over", {
    timeout: 150_000,
  }, async () => {
    // A QuestDB of this test's own: it is frozen for a moment (SIGSTOP).
    const { server } = await ownQuestDb(cleanups);
    const prefix = uniquePrefix("threekill");
    // A small queue: while QuestDB is frozen the bots meet QUEUE_FULL, so they are still writing
    // when the instance dies.
    const fleet = await startFleet(server, prefix, { MAX_QUEUE_ROWS: "5000" });
    const client = createRoundRobin(fleet.urls, bearer(KEYS.bots));
    const victim = 0;
    const events: string[] = [];
    let frozenAt = Number.POSITIVE_INFINITY;
    let killedAt = Number.POSITIVE_INFINITY;
    let fault: Promise<void> | undefined;
    const onProgress = (acked: number) => {
      if (acked < 10_000 || fault) return;
      fault = (async () => {
        // Frozen, QuestDB acknowledges nothing: what the victim acknowledges QUEUED now exists
        // only in its spool (and its memory).
        process.kill(server.pid, "SIGSTOP");
        frozenAt = performance.now();
        await sleep(1_500);
        fleet.apis[victim]?.child.kill("SIGKILL");
        await fleet.apis[victim]?.exited;
        killedAt = performance.now();
        process.kill(server.pid, "SIGCONT");
        events.push("instance 1 SIGKILLed while QuestDB was frozen");
      })();
    };
    const [committed, queued] = await Promise.all([
      roundRobinBots({ client, prefix: "c", total: 12_000, bots: 3, maxBatch: 200, durability: "COMMITTED" }),
      roundRobinBots({ client, prefix: "q", total: 40_000, bots: 3, maxBatch: 200, durability: "QUEUED", onProgress }),
    ]);
    await fault;
    const retries = (l: FleetLedger) => JSON.stringify(Object.fromEntries(l.retried));
    console.info(
      `[instances] ${events.join("; ")}; retries: COMMITTED ${retries(committed)}, QUEUED ${retries(queued)}`,
    );
    expect(events).toHaveLength(1);
    expect(committed.failures).toEqual([]);
    expect(queued.failures).toEqual([]);
    expect(committed.acked.size).toBe(12_000);
    expect(queued.acked.size).toBe(40_000);
    // Failover: bots met the dead instance and their batches were acknowledged by the others.
    expect(count(committed.retried, "network") + count(queued.retried, "network")).toBeGreaterThan(0);
    const afterKill = (l: FleetLedger) => [...l.acked.values()].filter((t) => t.ackAt > killedAt);
    expect(afterKill(committed).length + afterKill(queued).length).toBeGreaterThan(1_000);
    expect([...afterKill(committed), ...afterKill(queued)].filter((t) => t.instance === victim)).toEqual([]);

    // The survivors have handed QuestDB everything they acknowledged.
    for (const port of fleet.ports.slice(1)) {
      await expect.poll(() => unwritten(port), { timeout: 30_000 }).toBe(0);
    }
    const table = `${prefix}trades`;
    let stored = await storedTradeIds(server.httpPort, table);
    expect([...stored.values()].filter((n) => n !== 1)).toEqual([]);
    // Nothing acknowledged COMMITTED is lost, the victim's included.
    expect(notStored(stored, committed.acked.keys())).toEqual(NONE);
    // Rows acknowledged QUEUED that are missing now were all acknowledged by the victim, and
    // there are some: the kill hit rows that only its spool kept (else the restart below proves nothing).
    const missing = [...queued.acked.values()].filter((t) => !stored.has(t.tradeId));
    expect(missing.filter((t) => t.instance !== victim).map((t) => t.tradeId)).toEqual([]);
    expect(missing.filter((t) => t.ackAt >= frozenAt).length).toBeGreaterThan(100);

    // Restarted on the same port and SPOOL_DIR: the spool is replayed.
    fleet.apis[victim] = await spawnApi(
      cleanups,
      fleet.ports[victim] as number,
      fleet.envs[victim] as Record<string, string>,
    );
    await expect.poll(() => unwritten(fleet.ports[victim] as number), { timeout: 30_000 }).toBe(0);
    stored = await storedTradeIds(server.httpPort, table);
    expect([...stored.values()].filter((n) => n !== 1)).toEqual([]);
    expect(notStored(stored, queued.acked.keys())).toEqual(NONE);
    expect(notStored(stored, committed.acked.keys())).toEqual(NONE);
    expect(stored.size).toBe(52_000);
    const replayed = await metric(fleet.ports[victim] as number, "spool_replayed_rows_total");
    expect(replayed).toBeGreaterThanOrEqual(missing.length);
    console.info(
      `[instances] ${missing.length} rows acknowledged QUEUED were missing before the restart; ${replayed} replayed`,
    );
    for (const api of fleet.apis) {
      api.child.kill("SIGTERM");
      expect(await api.exited).toBe(0);
    }
  });
});

/** A bot recording `latencyUs` for `stage` (10 rows every 200 ms) until stopped; stop() rethrows what failed. */
function latencyBot(client: RoundRobinClient, stage: string, latencyUs: number, tag: string) {
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      const ts = nowMicros();
      const inputs = Array.from({ length: 10 }, (_, i) => ({
        metricId: `${tag}-${n++}`,
        stage,
        latencyUs,
        timestamp: formatIsoMicros(ts + BigInt(i)),
      }));
      await client.send("mutation($m: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $m) { accepted } }", {
        m: inputs,
      });
      await sleep(200);
    }
  })();
  const failed = done.then(
    () => undefined,
    (error: unknown) => error,
  );
  return {
    stop: async () => {
      running = false;
      const error = await failed;
      if (error) throw error;
    },
  };
}

// Issue 15: rules live in `<prefix>alert_rules`, one leader instance (heartbeats in
// api_instances) evaluates them, each event is stored once in alert_events and reaches `alerts`
// subscribers on every instance (the leader's own at once, the others' through a poll of that table).
describe("alerts across three instances: shared rules, one leader, each event stored once and delivered everywhere", () => {
  it("a rule upserted on instance 1 is listed by 2 and 3 within 2 s; its FIRING event is stored once and reaches each instance's subscriber once; after the leader is SIGKILLed another instance takes over and its RESOLVED is stored and delivered once", {
    timeout: 120_000,
  }, async () => {
    const questdb = inject("questdb");
    const prefix = uniquePrefix("threealert");
    const startedAt = new Date().toISOString();
    const fleet = await startFleet(questdb, prefix, { ALERT_INTERVAL_MS: "500" });
    const bots = createRoundRobin(fleet.urls, bearer(KEYS.bots));
    const ruleId = `p99-${prefix}`;
    const stage = "submit";

    interface Seen {
      eventId: string;
      ruleId: string;
      state: "FIRING" | "RESOLVED";
    }
    const subscribers = fleet.urls.map((url) =>
      subscribeWs<Seen>({
        url,
        key: KEYS.monitor,
        query: "subscription { alerts { eventId ruleId state } }",
        pick: (data) => data.alerts as Seen | undefined,
        cleanups,
      }),
    );
    await Promise.all(subscribers.map((s) => s.connected));
    const seen = (s: WsSubscriber<Seen>) => s.received.map((r) => r.value).filter((e) => e.ruleId === ruleId);

    // The admin adds the rule on instance 1; instances 2 and 3 list it within 2 s.
    // Thresholds in the kind's unit: microseconds for latency (100 ms).
    const rule = { id: ruleId, kind: "LATENCY_P99", stage, windowSeconds: 5, threshold: 100_000, hysteresis: 0.5 };
    const RULE_FIELDS = "id kind stage windowSeconds threshold hysteresis";
    expect(
      await gqlOn(
        fleet.urls[0] as string,
        KEYS.ops,
        `mutation($r: AlertRuleInput!) { upsertAlertRule(input: $r) { ${RULE_FIELDS} } }`,
        {
          r: rule,
        },
      ),
    ).toEqual({ data: { upsertAlertRule: rule } });
    await Promise.all(
      fleet.urls.slice(1).map((url, i) =>
        eventually(
          async () => {
            const answer = await gqlOn<{ alertRules: { id: string }[] }>(
              url,
              KEYS.monitor,
              `{ alertRules { ${RULE_FIELDS} } }`,
            );
            return answer.data?.alertRules.find((r) => r.id === ruleId);
          },
          `the rule upserted on instance 1 in alertRules on instance ${i + 2}`,
          // 2 s by design (ALERT_SYNC_MS = 1 s plus a statement); 1 s of tolerance for a loaded CI machine.
          3_000,
        ).then((listed) => expect(listed).toEqual(rule)),
      ),
    );

    // Kept in QuestDB, where every instance reads it: a row of <prefix>alert_rules holds its id.
    const ruleRows = await sqlOn(questdb.httpPort, `SELECT * FROM ${prefix}alert_rules`);
    expect(ruleRows.filter((row) => row.includes(ruleId)).length).toBeGreaterThan(0);

    /** The rule's events in alert_events, oldest first. */
    const stored = async () =>
      (
        (await sqlAfterApply(
          questdb.httpPort,
          `${prefix}alert_events`,
          `SELECT event_id, state, instance FROM ${prefix}alert_events WHERE rule_id = '${ruleId}' ORDER BY timestamp`,
        )) as [string, string, string][]
      ).map(([eventId, state, instance]) => ({ eventId, state, instance }));
    /** The rule's events as alertEvents lists them on the instance at `url`, oldest first. */
    const listed = async (url: string) => {
      const answer = await gqlOn<{ alertEvents: Seen[] }>(
        url,
        KEYS.monitor,
        "query($r: TimeRange!) { alertEvents(range: $r, first: 1000) { eventId ruleId state } }",
        { r: { from: startedAt, to: new Date(Date.now() + 60_000).toISOString() } },
      );
      return (answer.data?.alertEvents ?? [])
        .filter((e) => e.ruleId === ruleId)
        .reverse()
        .map(({ eventId, state }) => ({ eventId, state }));
    };

    // p99 of 500 ms against a 100 ms threshold: the rule fires.
    const high = latencyBot(bots, stage, 500_000, "high");
    let leader: number;
    let firing: { eventId: string; state: string; instance: string };
    try {
      for (const [i, s] of subscribers.entries()) {
        await eventually(async () => seen(s)[0], `the FIRING event on instance ${i + 1}'s subscriber`, 20_000);
      }
      // Three evaluation intervals more: a second instance evaluating the rule would fire too.
      await sleep(1_500);
      const events = await stored();
      expect(events.map(({ state }) => state)).toEqual(["FIRING"]);
      firing = events[0] as (typeof events)[number];
      leader = Number(firing.instance.replace("inst-", "")) - 1;
      expect([0, 1, 2]).toContain(leader);
      for (const s of subscribers) {
        expect(s.errors).toEqual([]);
        expect(seen(s)).toEqual([{ eventId: firing.eventId, ruleId, state: "FIRING" }]);
      }
      for (const url of fleet.urls) expect(await listed(url)).toEqual([{ eventId: firing.eventId, state: "FIRING" }]);

      // The leader dies while the rule is firing.
      fleet.apis[leader]?.child.kill("SIGKILL");
      await fleet.apis[leader]?.exited;
    } finally {
      await high.stop();
    }

    // Fast answers only from now on: once the slow ones leave the 5 s window, the rule resolves,
    // and only another instance can say so.
    const low = latencyBot(bots, stage, 1_000, "low");
    let events: Awaited<ReturnType<typeof stored>>;
    try {
      await eventually(
        async () => ((await stored()).some((e) => e.state === "RESOLVED") ? true : undefined),
        "a RESOLVED event stored after the leader died",
        30_000,
      );
      await sleep(1_500);
      events = await stored();
    } finally {
      await low.stop();
    }
    const survivors = [0, 1, 2].filter((i) => i !== leader);
    console.info(
      `[instances] leader inst-${leader + 1} SIGKILLed; events: ${events.map((e) => `${e.state} by ${e.instance}`).join(", ")}`,
    );
    // Each event once; the first the leader's FIRING, every later one another instance's (a
    // FIRING again is allowed: the new leader may not know the rule was firing), the last RESOLVED.
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect(events[0]).toEqual(firing);
    expect(events.slice(1).filter((e) => e.instance === firing.instance)).toEqual([]);
    expect(events.filter((e) => e.state === "RESOLVED")).toHaveLength(1);
    expect(events.at(-1)?.state).toBe("RESOLVED");
    // The survivors' subscribers got every stored event once, in order; alertEvents lists each once.
    const expected = events.map(({ eventId, state }) => ({ eventId, state }));
    for (const i of survivors) {
      const s = subscribers[i] as WsSubscriber<Seen>;
      expect(s.errors).toEqual([]);
      expect(seen(s).map(({ eventId, state }) => ({ eventId, state }))).toEqual(expected);
      expect(await listed(fleet.urls[i] as string)).toEqual(expected);
    }
  });
});
