// /metrics through prom-client (issue 14, point 4), scraped from a real app after writes (on the
// main thread and in a write worker), queries (fast path, Yoga, an analytics worker, WebSocket)
// and a subscription: the exposition parses, every name is in base units, and the figures equal
// what the test sent and what QuestDB holds.
import { beforeAll, describe, expect, it } from "vitest";
import { createMetrics, MAX_OPERATION_NAMES } from "../src/http/metrics.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, exec } from "./support/questdb.ts";
import { wsClient } from "./support/transports.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  help?: string;
  type?: string;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

/** Parses Prometheus' text format strictly: every line a `# HELP`, a `# TYPE` or a sample of a declared family. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { samples: [] };
      families.set(name, f);
    }
    return f;
  };
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    const help = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line);
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    const sample = SAMPLE.exec(line);
    if (help?.[1] && help[2]) {
      expect(family(help[1]).help, `a second HELP for ${help[1]}`).toBeUndefined();
      family(help[1]).help = help[2];
    } else if (type?.[1] && type[2]) {
      expect(family(type[1]).type, `a second TYPE for ${type[1]}`).toBeUndefined();
      family(type[1]).type = type[2];
    } else if (sample?.[1] && sample[3]) {
      const name = sample[1];
      const base = [name, name.replace(/_(bucket|sum|count)$/, "")].find((n) => families.get(n)?.type);
      expect(base, `the sample line "${line}" belongs to no declared family`).toBeDefined();
      const labels: Record<string, string> = {};
      LABEL.lastIndex = 0;
      for (const m of (sample[2] ?? "").matchAll(LABEL)) labels[m[1] as string] = m[2] as string;
      expect(Object.keys(labels).length, `labels of "${line}"`).toBe((sample[2] ?? "").match(/="/g)?.length ?? 0);
      // Values as Prometheus reads them (Go's ParseFloat): a number, or Inf/NaN in any case
      // (prom-client writes "Nan" for a gauge with no observation since the last scrape).
      const text = sample[3];
      const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
      const value = special
        ? special[2]?.toLowerCase() === "nan"
          ? Number.NaN
          : Number(`${special[1]}Infinity`)
        : Number(text);
      expect(special !== null || !Number.isNaN(value), `the value of "${line}"`).toBe(true);
      family(base as string).samples.push({ name, labels, value });
    } else {
      throw new Error(`not a HELP, TYPE or sample line: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

/** Prometheus' naming conventions: base units, `_total` on counters. */
function expectBaseUnits(families: Map<string, Family>) {
  for (const [name, f] of families) {
    expect(f.help, `HELP of ${name}`).toBeDefined();
    expect(f.type, `TYPE of ${name}`).toBeDefined();
    expect(name, "no milliseconds, percentages or multiples").not.toMatch(
      /_(ms|milliseconds|microseconds|us|percent|kb|mb|kilobytes|megabytes|minutes|hours)(_|$)/,
    );
    if (f.type === "counter") expect(name).toMatch(/_total$/);
    // prom-client's default nodejs_active_{handles,requests,resources}_total are gauges: names
    // every Node dashboard knows, kept as they are.
    else if (!name.startsWith("nodejs_active_")) expect(name).not.toMatch(/_total$/);
    if (/duration|latency|_lag_|_age_|_time_/.test(name)) expect(name).toMatch(/_seconds(_total)?$/);
    if (/memory|_size_|_bytes/.test(name)) expect(name).toMatch(/_bytes(_total)?$/);
  }
}

const WRITER = "metrics-writer-secret-0123456789";
const READER = "metrics-reader-secret-0123456789";
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp("metrics", {
    API_KEYS: `bot-1:writer:${WRITER},dash-1:reader:${READER}`,
    WRITE_WORKERS: "1",
    // Small bodies run on the main thread, the 50-trade ones in the write worker.
    WRITE_WORKER_MIN_BYTES: "4096",
    ANALYTICS_WORKERS: "1",
    LIVE_POLL_INTERVAL_MS: "50",
    SYSTEM_METRICS_INTERVAL_MS: "0",
  });
  // Workers load the schema for about a second; until then bodies run on the main thread.
  await eventually(
    async () =>
      (t.app.workers?.stats().ready ?? 0) > 0 && (t.app.analyticsWorkers?.stats().ready ?? 0) > 0 ? true : undefined,
    "the write and analytics workers",
    30_000,
  );
});

const post = async (key: string, query: string, variables?: unknown) => {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: unknown; errors?: { extensions: { code: string } }[] };
};
const scrape = async () => {
  const response = await fetch(`${t.url}/metrics`);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await response.text());
};
const samplesOf = (families: Map<string, Family>, name: string) =>
  families.get(name.replace(/_(bucket|sum|count)$/, ""))?.samples.filter((s) => s.name === name) ?? [];
const sampleValue = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  samplesOf(families, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

const trades = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => makeTrade(`${prefix}-${i}`));
const RECORD = "mutation $name($t: [TradeInput!]!) { recordTrades(inputs: $t, durability: COMMITTED) { accepted } }";
const range = {
  from: new Date(Date.now() - 3_600_000).toISOString(),
  to: new Date(Date.now() + 3_600_000).toISOString(),
};

describe("/metrics", () => {
  it("counts every operation by name, type and outcome on every transport and thread, and its figures match what was sent and what QuestDB holds", async () => {
    /** What the test sent: `operation type outcome` → count. */
    const sent = new Map<string, number>();
    const count = (operation: string, type: string, outcome: string) => {
      const key = `${operation} ${type} ${outcome}`;
      sent.set(key, (sent.get(key) ?? 0) + 1);
    };

    // Writes: three small calls on the main thread, two big ones in the write worker.
    for (let i = 0; i < 3; i++) {
      const answer = await post(WRITER, RECORD.replace("$name", "RecordSmall"), { t: trades(`small-${i}`, 2) });
      expect(answer.errors).toBeUndefined();
      count("RecordSmall", "mutation", "ok");
    }
    for (let i = 0; i < 2; i++) {
      const answer = await post(WRITER, RECORD.replace("$name", "RecordBig"), { t: trades(`big-${i}`, 50) });
      expect(answer.errors).toBeUndefined();
      count("RecordBig", "mutation", "ok");
    }
    const forbidden = await post(READER, RECORD.replace("$name", "ReaderWrite"), { t: trades("no", 1) });
    expect(forbidden.errors?.[0]?.extensions.code).toBe("FORBIDDEN");
    count("ReaderWrite", "mutation", "FORBIDDEN");

    // Queries: statistics (analytics worker; the repeats come from its response cache), pages
    // (main thread's fast path), a GET (Yoga), a name too long to be a label, one over a WebSocket.
    for (let i = 0; i < 3; i++) {
      const answer = await post(READER, "query Stats($r: TimeRange!) { tradeStats(range: $r) { totals { count } } }", {
        r: range,
      });
      expect(answer.errors).toBeUndefined();
      count("Stats", "query", "ok");
    }
    for (let i = 0; i < 2; i++) {
      const answer = await post(READER, "query Page { trades(first: 5) { edges { cursor } } }");
      expect(answer.errors).toBeUndefined();
      count("Page", "query", "ok");
    }
    const get = await fetch(`${t.url}/graphql?query=${encodeURIComponent("query ViaGet { __typename }")}`, {
      headers: { authorization: `Bearer ${READER}`, accept: "application/json", "x-graphql-yoga-csrf": "1" },
    });
    expect(await get.json()).toEqual({ data: { __typename: "Query" } });
    count("ViaGet", "query", "ok");
    const long = `query ${"L".repeat(100)} { __typename }`;
    expect((await post(READER, long)).errors).toBeUndefined();
    count("other", "query", "ok");

    // Refused before any GraphQL is parsed: a wrong key over HTTP and over a WebSocket.
    const wrong = "metrics-wrong-secret-0123456789";
    expect(
      (
        await fetch(`${t.url}/graphql`, {
          method: "POST",
          headers: { authorization: `Bearer ${wrong}`, "content-type": "application/json" },
          body: "{}",
        })
      ).status,
    ).toBe(401);
    const closed = await new Promise<number>((done) => {
      wsClient(t.url, wrong, done).subscribe(
        { query: "{ __typename }" },
        { next: () => {}, error: () => {}, complete: () => {} },
      );
    });
    expect(closed).toBe(4403);

    const client = wsClient(t.url, READER);
    const overWs = await new Promise<unknown>((done, fail) => {
      let value: unknown;
      client.subscribe(
        { query: "query OverWs { __typename }" },
        { next: (v) => (value = v), error: fail, complete: () => done(value) },
      );
    });
    expect(overWs).toEqual({ data: { __typename: "Query" } });
    count("OverWs", "query", "ok");

    // A subscription: while it runs it is a live poller's subscriber; it is counted when it ends.
    let received = 0;
    const stop = client.subscribe(
      { query: "subscription Watch { liveMetrics(windowSeconds: 5) { trades } }" },
      { next: () => received++, error: () => {}, complete: () => {} },
    );
    await eventually(async () => (received >= 1 ? true : undefined), "the first liveMetrics");
    const during = await scrape();
    expect(sampleValue(during, "live_pollers")).toBe(1);
    expect(sampleValue(during, "live_subscribers")).toBe(1);
    expect(sampleValue(during, "websocket_connections")).toBe(1);
    stop();
    count("Watch", "subscription", "ok");

    // Rows acknowledged by QuestDB, counted by QuestDB itself.
    const stored = await eventually(async () => {
      const { dataset } = await exec(`SELECT count() FROM '${t.prefix}trades'`);
      return Number(dataset[0]?.[0]) === 106 ? 106 : undefined;
    }, "the 106 trades in QuestDB");

    const families = await eventually(async () => {
      const f = await scrape();
      return sampleValue(f, "graphql_operations_total", { operation: "Watch" }) === 1 ? f : undefined;
    }, "the subscription's end on /metrics");
    expectBaseUnits(families);

    // Operations: exactly what was sent, whichever thread and transport ran them.
    const exposed = new Map(
      samplesOf(families, "graphql_operations_total").map((s) => [
        `${s.labels.operation} ${s.labels.type} ${s.labels.outcome}`,
        s.value,
      ]),
    );
    expect(exposed).toEqual(sent);
    for (const [key, n] of sent) {
      const [operation, type, outcome] = key.split(" ") as [string, string, string];
      if (type === "subscription") continue;
      const labels = { operation, type, outcome };
      expect(sampleValue(families, "graphql_operation_duration_seconds_count", labels), key).toBe(n);
      expect(sampleValue(families, "graphql_operation_duration_seconds_bucket", { ...labels, le: "+Inf" }), key).toBe(
        n,
      );
      expect(sampleValue(families, "graphql_operation_duration_seconds_sum", labels), key).toBeGreaterThan(0);
    }
    expect(samplesOf(families, "graphql_operation_duration_seconds_count").map((s) => s.labels.type)).not.toContain(
      "subscription",
    );
    expect(sampleValue(families, "graphql_subscription_messages_total", { operation: "Watch" })).toBe(received);

    expect(
      Object.fromEntries(
        samplesOf(families, "pipeline_refusals_total").map((s) => [`${s.labels.transport} ${s.labels.code}`, s.value]),
      ),
    ).toEqual({
      "http UNAUTHENTICATED": 1,
      "ws UNAUTHENTICATED": 1,
    });

    // Ingest: the rows QuestDB holds; one flush-duration observation per flush; one spool append per call.
    expect(sampleValue(families, "ingest_rows_written_total")).toBe(stored);
    expect(sampleValue(families, "ingest_rejected_rows_total")).toBe(0);
    expect(sampleValue(families, "ingest_queued_rows")).toBe(0);
    const flushes = sampleValue(families, "ingest_flushes_total") ?? 0;
    expect(flushes).toBeGreaterThan(0);
    expect(sampleValue(families, "ingest_flush_duration_seconds_count")).toBe(flushes);
    expect(sampleValue(families, "spool_appends_total")).toBe(5);
    expect(families.get("spool_last_sync_duration_seconds")?.type).toBe("gauge");

    // Worker pools: the two big writes in the write worker, the three statistics queries in the analytics one.
    expect(sampleValue(families, "workers_answered_total", { pool: "write" })).toBe(2);
    expect(sampleValue(families, "workers_answered_total", { pool: "analytics" })).toBe(3);
    expect(sampleValue(families, "workers_ready", { pool: "write" })).toBe(1);
    expect(sampleValue(families, "workers_ready", { pool: "analytics" })).toBe(1);

    // The cache by statement: tradeStats ran only in the analytics worker, the page on the main thread.
    const misses = samplesOf(families, "query_cache_misses_total");
    expect(misses.find((s) => s.labels.query?.startsWith("tradeStats."))?.value).toBeGreaterThan(0);
    expect(sampleValue(families, "query_cache_misses_total", { query: "trades" })).toBe(
      t.app.cache.stats().byQuery.trades?.misses,
    );

    // Live: the subscription's poller polled.
    expect(sampleValue(families, "live_polls_total")).toBeGreaterThan(0);
    expect(sampleValue(families, "live_statements_total")).toBeGreaterThan(0);

    // pg pools: one series per pool, the main thread's and the analytics worker's.
    const pools = samplesOf(families, "pg_pool_max_connections").map((s) => [s.labels.pool, s.value]);
    expect(Object.fromEntries(pools)).toEqual({
      heavy: 2,
      light: 3,
      readiness: 1,
      "analytics-heavy": 2,
      "analytics-light": 1,
    });
    for (const [pool, max] of pools) {
      const inUse = sampleValue(families, "pg_pool_connections_in_use", { pool: pool as string }) ?? -1;
      const idle = sampleValue(families, "pg_pool_connections_idle", { pool: pool as string }) ?? -1;
      expect(inUse).toBeGreaterThanOrEqual(0);
      expect(idle).toBeGreaterThanOrEqual(0);
      expect(inUse + idle).toBeLessThanOrEqual(max as number);
      expect(sampleValue(families, "pg_pool_waiting_queries", { pool: pool as string })).toBe(0);
    }

    // Admission control and the process.
    expect(sampleValue(families, "requests_active", { lane: "write" })).toBe(0);
    expect(sampleValue(families, "requests_refused_total", { reason: "overloaded" })).toBe(0);
    expect(sampleValue(families, "process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
    expect(sampleValue(families, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(families.get("nodejs_eventloop_lag_p99_seconds")?.type).toBe("gauge");
  });
});

describe("operation names as labels", () => {
  it(`keeps at most ${MAX_OPERATION_NAMES} distinct names and counts the rest, and names longer than 64 characters, as "other"`, async () => {
    const zero = { queuedRows: 0, inFlightRows: 0, oldestQueuedMs: 0, lastFlushMs: 0, flushes: 0 };
    const metrics = createMetrics({
      writer: () => ({ ...zero, rowsWritten: 0, retries: 0, rejectedRows: 0 }),
      load: () => ({
        active: { read: 0, write: 0 },
        waiting: { read: 0, write: 0 },
        reservedRows: 0,
        inflightBytes: 0,
        refusedQueueFull: 0,
        refusedOverloaded: 0,
      }),
      live: () => ({
        pollers: 0,
        subscribers: 0,
        polls: 0,
        pollsSkipped: 0,
        statements: 0,
        pokes: 0,
        tickChecks: 0,
        pokeChecks: 0,
        statementsByName: {},
        rangeLoads: 0,
      }),
      cache: () => ({
        hits: 0,
        misses: 0,
        coalesced: 0,
        invalidated: 0,
        invalidatedWhole: 0,
        invalidatedUnknownRange: 0,
        unknownTxns: { noRange: 0, noRetention: 0, loadFailed: 0, tooMany: 0, purged: 0 },
        unknownTxnsByTable: {},
        keptByRange: 0,
        evicted: 0,
        probes: 0,
        viewProbes: 0,
        early: 0,
        responseHits: 0,
        responseMisses: 0,
        derivedHits: 0,
        derivedKept: 0,
        entries: 0,
        bytes: 0,
        maxBytes: 0,
        byQuery: {},
      }),
      pools: () => ({}),
      webSockets: () => 0,
      workers: () => ({}),
    });
    const names = Array.from({ length: MAX_OPERATION_NAMES + 50 }, (_, i) => `Op${i}`);
    for (const name of [...names, ...names])
      metrics.observeOperation({ operation: name, type: "query", seconds: 0.001, errors: [] });
    metrics.observeOperation({ operation: "X".repeat(65), type: "query", seconds: 0.001, errors: ["BAD_USER_INPUT"] });
    metrics.observeOperation({ operation: undefined, type: "query", seconds: 0.001, errors: ["SOMETHING_ELSE"] });
    const families = parseExposition(await metrics.scrape());
    expectBaseUnits(families);
    const counted = Object.fromEntries(
      samplesOf(families, "graphql_operations_total").map((s) => [
        `${s.labels.operation} ${s.labels.outcome}`,
        s.value,
      ]),
    );
    const expected: Record<string, number> = {};
    for (const name of names.slice(0, MAX_OPERATION_NAMES)) expected[`${name} ok`] = 2;
    expected["other ok"] = 100;
    expected["other BAD_USER_INPUT"] = 1;
    // An unknown error code is counted as the masked error it is.
    expected["anonymous INTERNAL_SERVER_ERROR"] = 1;
    expect(counted).toEqual(expected);
  });
});
