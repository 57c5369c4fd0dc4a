// Write workers (src/ingest/write-workers.ts) against the real QuestDB: a writer's big body run
// in a worker thread is answered exactly as the main thread answers it, its rows land exactly,
// what is not a record mutation is handed back, and a worker that dies costs a retryable
// refusal, not the process or an acknowledged row.
import { beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { testPool, walApplied } from "./support/questdb.ts";

const RECORD_TRADES =
  "mutation($inputs: [TradeInput!]!, $d: Durability!) { recordTrades(inputs: $inputs, durability: $d) { accepted ids durability } }";
const RECORD_LATENCY =
  "mutation($inputs: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $inputs) { accepted ids } }";
const TRADES = "query($f: TradeFilter) { trades(filter: $f, first: 3) { nodes { tradeId } } }";

async function post(url: string, body: unknown): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.text() };
}

/** `n` distinct trades whose values exercise every column (fractions, big integers). */
function trades(label: string, n: number, at = Date.now() - 60_000) {
  return Array.from({ length: n }, (_, i) => ({
    ...makeTrade(`${label}-${i}`, new Date(at + i).toISOString()),
    action: i % 2 ? "SELL" : "BUY",
    baseAmount: 0.1 + i / 7,
    quoteAmount: 12.345678901234 * (i + 1),
    executedPrice: 123.456789012345 + i,
    priorityFee: 1_000_000_000_000 + i,
    strategy: `grid.v${i % 3}`,
    venue: "raydium:amm",
  }));
}

let worker: TestApp;
let main: TestApp;
beforeAll(async () => {
  // Every writer body goes to the worker in one app, none in the other.
  [worker, main] = await Promise.all([
    startTestApp("wworker", { WRITE_WORKERS: "1", WRITE_WORKER_MIN_BYTES: "0" }),
    startTestApp("wmain", { WRITE_WORKERS: "0" }),
  ]);
  // The first body starts the worker and runs on the main thread; wait until one is ready.
  const deadline = Date.now() + 30_000;
  while ((worker.app.workers?.stats().ready ?? 0) === 0) {
    if (Date.now() > deadline) throw new Error("no write worker became ready within 30 s");
    await post(worker.url, { query: TRADES });
    await new Promise((done) => setTimeout(done, 100));
  }
});

describe("write workers", () => {
  it("record a batch in a worker: the same answer as the main thread's, every value stored exactly", async () => {
    const inputs = trades("exact", 300);
    const body = { query: RECORD_TRADES, variables: { inputs, d: "COMMITTED" } };
    const before = worker.app.workers?.stats().answered ?? 0;
    const [viaWorker, viaMain] = await Promise.all([post(worker.url, body), post(main.url, body)]);
    expect(worker.app.workers?.stats().answered).toBe(before + 1);
    expect(viaWorker.body.slice(0, 300)).not.toContain("errors");
    expect(viaWorker.status).toBe(200);
    expect(JSON.parse(viaWorker.body)).toEqual(JSON.parse(viaMain.body));
    expect(JSON.parse(viaWorker.body).data.recordTrades).toEqual({
      accepted: 300,
      ids: inputs.map((t) => t.tradeId),
      durability: "COMMITTED",
    });

    // The rows each app stored are the same, column for column (but the writer, from the key).
    const pool = testPool();
    try {
      await walApplied(`${worker.prefix}trades`);
      await walApplied(`${main.prefix}trades`);
      const read = async (prefix: string) =>
        (await pool.query(`SELECT * FROM '${prefix}trades' WHERE trade_id LIKE 'exact-%' ORDER BY timestamp, trade_id`))
          .rows;
      const [a, b] = [await read(worker.prefix), await read(main.prefix)];
      expect(a).toHaveLength(300);
      expect(a).toEqual(b);
      expect(Number(a[7]?.executed_price)).toBe(inputs[7]?.executedPrice);
      expect(a[7]?.strategy).toBe(inputs[7]?.strategy);
    } finally {
      await pool.end();
    }
  });

  it("answer refused batches exactly as the main thread does", async () => {
    const good = trades("bad", 20);
    const cases: unknown[] = [
      {
        query: RECORD_TRADES,
        variables: { inputs: good.map((t, i) => (i === 13 ? { ...t, baseAmount: -1 } : t)), d: "QUEUED" },
      },
      {
        query: RECORD_TRADES,
        variables: { inputs: good.map((t, i) => (i === 2 ? { ...t, mevStatus: "EATEN" } : t)), d: "QUEUED" },
      },
      { query: RECORD_TRADES, variables: { inputs: good, d: "SOMETIMES" } },
      { query: RECORD_TRADES, variables: { inputs: trades("many", 10_001), d: "QUEUED" } },
      { query: RECORD_LATENCY, variables: { inputs: [{ stage: "quote", latencyUs: -5 }] } },
      { query: "mutation { recordTrades(inputs: [{}]) { accepted } }" },
      { query: `${RECORD_TRADES} { nope }` },
      { query: "mutation { recordTrades(" },
      "{ not json",
    ];
    for (const body of cases) {
      const [viaWorker, viaMain] = [await post(worker.url, body), await post(main.url, body)];
      expect(viaWorker, JSON.stringify(body).slice(0, 200)).toEqual(viaMain);
      expect(JSON.parse(viaWorker.body).errors?.length ?? 0, JSON.stringify(body).slice(0, 200)).toBeGreaterThan(0);
    }
    // None of them stored a row.
    const answer = JSON.parse((await post(worker.url, { query: TRADES, variables: { f: { tradeId: "bad-0" } } })).body);
    expect(answer.data.trades.nodes).toEqual([]);
  });

  it("hand back what is not a record mutation: queries and mixed operations run on the main thread", async () => {
    const before = worker.app.workers?.stats().handedBack ?? 0;
    const query = { query: TRADES, variables: { f: { tradeId: "exact-1" } } };
    const mixed = {
      query: `mutation($inputs: [TradeInput!]!) { recordTrades(inputs: $inputs) { accepted } deleteAlertRule(name: "none") }`,
      variables: { inputs: trades("mixed", 2) },
    };
    for (const body of [query, mixed]) {
      const [viaWorker, viaMain] = [await post(worker.url, body), await post(main.url, body)];
      expect(JSON.parse(viaWorker.body), JSON.stringify(body)).toEqual(JSON.parse(viaMain.body));
    }
    expect(worker.app.workers?.stats().handedBack).toBe(before + 2);
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toContain(`workers_handed_back_total{pool="write"} ${before + 2}\n`);
    expect(metrics).toContain('workers_restarts_total{pool="write"} 0\n');
  });
});

describe("a body too big for a worker's heap", () => {
  it("runs on the main thread (a worker out of heap inside JSON.parse would take the process down); the next batch goes to the worker", async () => {
    // 32 MB of worker heap takes bodies up to ~2.7 MB (12 bytes of heap per body byte).
    const t = await startTestApp("wbig", {
      WRITE_WORKERS: "1",
      WRITE_WORKER_HEAP_MB: "32",
      MAX_RECORDS_PER_REQUEST: "100000",
      MAX_BODY_BYTES: String(64 * 1024 * 1024),
      MAX_INFLIGHT_BODY_BYTES: String(64 * 1024 * 1024),
      MAX_QUEUE_ROWS: "200000",
    });
    const deadline = Date.now() + 30_000;
    while ((t.app.workers?.stats().ready ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error("no write worker became ready within 30 s");
      await new Promise((done) => setTimeout(done, 100));
    }
    const before = t.app.workers?.stats();
    const huge = await post(t.url, {
      query: RECORD_TRADES,
      variables: { inputs: trades("huge", 20_000), d: "COMMITTED" },
    });
    expect(JSON.parse(huge.body).data.recordTrades.accepted).toBe(20_000);
    expect(t.app.workers?.stats()).toMatchObject({ answered: before?.answered, restarts: 0, ready: 1 });

    const small = await post(t.url, {
      query: RECORD_TRADES,
      variables: { inputs: trades("small", 500), d: "COMMITTED" },
    });
    expect(JSON.parse(small.body).data.recordTrades.accepted).toBe(500);
    expect(t.app.workers?.stats()).toMatchObject({ answered: (before?.answered ?? 0) + 1, restarts: 0 });
    const pool = testPool();
    try {
      await walApplied(`${t.prefix}trades`);
      const { rows } = await pool.query(`SELECT count() n FROM '${t.prefix}trades'`);
      expect(Number(rows[0].n)).toBe(20_500);
    } finally {
      await pool.end();
    }
  });
});

describe("write workers and COMMITTED", () => {
  it("a worker takes the next body while a COMMITTED batch waits for its commit, and the write slot is free meanwhile", async () => {
    const t = await startTestApp("wpark", {
      WRITE_WORKERS: "1",
      WRITE_WORKER_MIN_BYTES: "0",
      MAX_CONCURRENT_WRITES: "1",
      MAX_WAITING_WRITES: "1",
      // The next flush is 60 s away: the batches wait for their commit until the test flushes.
      BATCH_INTERVAL_MS: "60000",
      BATCH_MAX_ROWS: "100000",
    });
    const deadline = Date.now() + 30_000;
    while ((t.app.workers?.stats().ready ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error("no write worker became ready within 30 s");
      await new Promise((done) => setTimeout(done, 100));
    }
    const before = t.app.workers?.stats().answered ?? 0;
    const pending: ReturnType<typeof post>[] = [];
    for (const label of ["pk-a", "pk-b", "pk-c", "pk-d"]) {
      const queued = t.app.writer.stats().queuedRows;
      pending.push(post(t.url, { query: RECORD_TRADES, variables: { inputs: trades(label, 200), d: "COMMITTED" } }));
      // Queued by the worker, then waiting for QuestDB: the next one is not held back by it.
      await vi.waitFor(() => expect(t.app.writer.stats().queuedRows).toBe(queued + 200), { timeout: 10_000 });
    }
    expect(t.app.workers?.stats()).toMatchObject({ running: 4, restarts: 0 });
    await t.app.writer.drain();
    for (const answer of await Promise.all(pending)) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).data.recordTrades).toMatchObject({ accepted: 200, durability: "COMMITTED" });
    }
    // Every one of them was answered by the worker, none ran on the main thread.
    expect(t.app.workers?.stats().answered).toBe(before + 4);
  });
});

describe("analytics workers", () => {
  it("answer the statistics queries exactly as the main thread does, and hand back the rest", async () => {
    const viaWorker = await startTestApp("wana", { ANALYTICS_WORKERS: "1" });
    // The same tables, read by an app without analytics workers.
    const viaMain = await startTestApp("wanamain", { QUESTDB_TABLE_PREFIX: viaWorker.prefix });
    const at = Date.now() - 3 * 3_600_000;
    const recorded = await post(viaWorker.url, {
      query: RECORD_TRADES,
      variables: {
        inputs: trades("stats", 400, at).map((t, i) => ({ ...t, timestamp: new Date(at + i * 20_000).toISOString() })),
        d: "COMMITTED",
      },
    });
    expect(JSON.parse(recorded.body).data.recordTrades.accepted).toBe(400);
    const latency = await post(viaWorker.url, {
      query:
        "mutation($inputs: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $inputs, durability: COMMITTED) { accepted } }",
      variables: {
        inputs: Array.from({ length: 300 }, (_, i) => ({
          stage: i % 2 ? "submit" : "quote",
          latencyUs: 100 + ((i * 7919) % 50_000),
          timestamp: new Date(at + i * 30_000).toISOString(),
        })),
      },
    });
    expect(JSON.parse(latency.body).data.recordLatencyMetrics.accepted).toBe(300);
    await walApplied(`${viaWorker.prefix}trades`);
    await walApplied(`${viaWorker.prefix}latency_metrics`);
    const deadline = Date.now() + 30_000;
    while ((viaWorker.app.analyticsWorkers?.stats().ready ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error("no analytics worker became ready within 30 s");
      await new Promise((done) => setTimeout(done, 100));
    }

    const range = { from: new Date(at - 3_600_000).toISOString(), to: new Date(Date.now()).toISOString() };
    const statistics = [
      `query($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR, groupBy: [PAIR, STRATEGY]) { totals { count baseVolume vwap } buckets { bucket count quoteVolume } } }`,
      `query($r: TimeRange!) { latencyStats(range: $r, bucket: HOUR) { totals { stage count p50Us p99Us meanUs } buckets { bucket stage p99Us } } }`,
      `query($r: TimeRange!) { mevEffectiveness(range: $r) { totals { attacks attackRate attacksDetected } } }`,
      `query($r: TimeRange!) { strategyPerformance(range: $r) { strategy trades winRate } }`,
      `query($r: TimeRange!) { strategyPerformance(range: $r, startingBalance: 1000, groupBy: [PAIR]) { baseToken sharpe cagr sqn maxDrawdownTroughAt bestDay { day } longestLosingStreak } }`,
      `query($r: TimeRange!) { performanceByPeriod(range: $r, bucket: DAY) { bucket trades realizedPnl cumulativePnl } }`,
      // Refused by the resolver: the same error from either thread.
      `query($r: TimeRange!) { tradeStats(range: { from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" }) { totals { count } } x: tradeStats(range: $r) { totals { count } } }`,
    ];
    const before = viaWorker.app.analyticsWorkers?.stats();
    for (const query of statistics) {
      const body = { query, variables: { r: range } };
      const [a, b] = [await post(viaWorker.url, body), await post(viaMain.url, body)];
      expect(a, query).toEqual(b);
    }
    const after = viaWorker.app.analyticsWorkers?.stats();
    expect((after?.answered ?? 0) - (before?.answered ?? 0)).toBe(statistics.length);
    const totals = JSON.parse((await post(viaWorker.url, { query: statistics[0], variables: { r: range } })).body).data
      .tradeStats.totals as { count: number }[];
    expect(totals.reduce((n, row) => n + row.count, 0)).toBe(400);

    // A statistics query beside a trades page, or a page alone: run on the main thread.
    const mixed = {
      query: `query($r: TimeRange!) { tradeStats(range: $r) { totals { count } } trades(first: 2) { nodes { tradeId } } }`,
      variables: { r: range },
    };
    const [a, b] = [await post(viaWorker.url, mixed), await post(viaMain.url, mixed)];
    expect(a).toEqual(b);
    expect(viaWorker.app.analyticsWorkers?.stats().handedBack).toBe((after?.handedBack ?? 0) + 1);
    // The same counts on /metrics.
    const metrics = await (await fetch(`${viaWorker.url}/metrics`)).text();
    expect(metrics).toContain('workers_ready{pool="analytics"} 1\n');
    expect(metrics).toContain(
      `workers_answered_total{pool="analytics"} ${viaWorker.app.analyticsWorkers?.stats().answered}\n`,
    );
    expect(metrics).toContain(
      `workers_handed_back_total{pool="analytics"} ${viaWorker.app.analyticsWorkers?.stats().handedBack}\n`,
    );
  });
});
