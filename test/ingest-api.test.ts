// The record* mutations for latency and MEV, client retries, backpressure and observability,
// through the real HTTP server and QuestDB.
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.ts";
import { validateMev } from "../src/ingest/mev-record.ts";
import { freePort } from "../src/questdb/local-server.ts";
import {
  RecordLatencyMetricDocument,
  RecordLatencyMetricsDocument,
  RecordMevMetricDocument,
  RecordMevMetricsDocument,
  RecordTradeDocument,
  RecordTradesDocument,
} from "./generated/graphql.ts";
import { postGraphQL, startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade, sendTrades } from "./support/load.ts";
import { eventually, exec, questdbAddress, testConfig, uniquePrefix, walApplied } from "./support/questdb.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("ingestapi", { SYSTEM_METRICS_INTERVAL_MS: "100", INSTANCE_ID: "api-under-test" });
});

const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().replace("Z", "123Z");

describe("recordLatencyMetrics and recordMevMetrics", () => {
  it("store every field exactly, with natural idempotency keys, and a client's retry adds nothing", async () => {
    const ts = at(60_000);
    const latency = [
      { tradeId: "trade-1", stage: "quote", latencyUs: 1234, timestamp: ts, strategy: "alpha" },
      { tradeId: "trade-1", stage: "submit", latencyUs: "9007199254740991", success: false, timestamp: ts },
      { metricId: "own-key", stage: "e2e", latencyUs: 0, timestamp: ts },
    ];
    const first = await t.gql(RecordLatencyMetricsDocument, { inputs: latency, durability: "COMMITTED" });
    expect(first.errors).toBeUndefined();
    expect(first.data?.recordLatencyMetrics.ids).toEqual(["trade-1:quote", "trade-1:submit", "own-key"]);
    const retry = await t.gql(RecordLatencyMetricsDocument, { inputs: latency, durability: "COMMITTED" });
    expect(retry.data?.recordLatencyMetrics.ids).toEqual(first.data?.recordLatencyMetrics.ids);
    await walApplied(`${t.prefix}latency_metrics`);
    const rows = await exec(
      `SELECT timestamp, metric_id, stage, latency_us, success, strategy, trade_id FROM ${t.prefix}latency_metrics ORDER BY metric_id`,
    );
    expect(rows.dataset).toEqual([
      [ts, "own-key", "e2e", 0, true, null, null],
      [ts, "trade-1:quote", "quote", 1234, true, "alpha", "trade-1"],
      [ts, "trade-1:submit", "submit", 9007199254740991, false, null, "trade-1"],
    ]);

    const mev = {
      tradeId: "trade-1",
      timestamp: ts,
      protection: "JITO_BUNDLE" as const,
      outcome: "LANDED" as const,
      tipLamports: "10000",
      expectedProfit: 1.5,
      realizedProfit: 1.25,
      lossAvoided: 0.75,
      attackDetected: true,
      slotsToLand: 2,
      strategy: "alpha",
    };
    const recorded = await t.gql(RecordMevMetricDocument, { input: mev, durability: "COMMITTED" });
    expect(recorded.data?.recordMevMetric.ids).toEqual(["trade-1"]);
    await t.gql(RecordMevMetricsDocument, { inputs: [mev], durability: "COMMITTED" });
    await walApplied(`${t.prefix}mev_metrics`);
    const mevRows = await exec(
      `SELECT timestamp, metric_id, trade_id, protection, outcome, tip_lamports, expected_profit, realized_profit, loss_avoided, attack_detected, slots_to_land, strategy FROM ${t.prefix}mev_metrics`,
    );
    expect(mevRows.dataset).toEqual([
      [ts, "trade-1", "trade-1", "JITO_BUNDLE", "LANDED", 10000, 1.5, 1.25, 0.75, true, 2, "alpha"],
    ]);
  });

  it("reject invalid items with their index, field and reason, recording none of the request", async () => {
    const result = await t.gql(RecordLatencyMetricsDocument, {
      inputs: [
        { stage: "quote", latencyUs: 5, metricId: "bad-batch-0", timestamp: new Date().toISOString() },
        { stage: "", latencyUs: -1, metricId: "bad-batch-1", timestamp: new Date().toISOString() },
        { stage: "sign", latencyUs: 5, tradeId: "has space", timestamp: new Date().toISOString() },
      ],
    });
    expect(result.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: inputs[1].stage must be 1 to 64 characters long; " +
        "inputs[1].latencyUs must not be negative; " +
        "inputs[2].tradeId may contain only printable ASCII characters without spaces",
    );
    const mev = await t.gql(RecordMevMetricDocument, {
      input: { protection: "NONE", outcome: "SANDWICHED", tipLamports: 0, lossAvoided: -3, slotsToLand: -1 },
    });
    expect(mev.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: input.lossAvoided must not be negative; input.slotsToLand must not be negative",
    );
    await t.app.writer.drain();
    await walApplied(`${t.prefix}latency_metrics`);
    expect(
      (await exec(`SELECT count() FROM ${t.prefix}latency_metrics WHERE metric_id LIKE 'bad-batch%'`)).dataset,
    ).toEqual([[0]]);
  });

  it("store an MEV result's venue, pair, tip floor and compute units exactly (issue 16) and leave them NULL when absent", async () => {
    const ts = at(50_000);
    const full = {
      metricId: "mev-16-full",
      timestamp: ts,
      protection: "JITO_BUNDLE" as const,
      outcome: "LANDED" as const,
      tipLamports: 5000,
      venue: "orca",
      baseToken: "JUP",
      quoteToken: "USDC",
      tipFloorLamports: "9007199254740991",
      computeUnits: 1_400_000,
    };
    const bare = {
      metricId: "mev-16-bare",
      timestamp: ts,
      protection: "NONE" as const,
      outcome: "DROPPED" as const,
      tipLamports: 0,
    };
    const r = await t.gql(RecordMevMetricsDocument, { inputs: [full, bare], durability: "COMMITTED" });
    expect(r.errors).toBeUndefined();
    await walApplied(`${t.prefix}mev_metrics`);
    const rows = await exec(
      `SELECT metric_id, venue, base_token, quote_token, tip_floor_lamports, compute_units FROM ${t.prefix}mev_metrics WHERE metric_id LIKE 'mev-16-%' ORDER BY metric_id`,
    );
    expect(rows.dataset).toEqual([
      ["mev-16-bare", null, null, null, null, null],
      ["mev-16-full", "orca", "JUP", "USDC", 9007199254740991, 1_400_000],
    ]);
  });

  it("refuse bad venue, pair, tip floor and compute units, naming each field", async () => {
    const base = { protection: "JITO_BUNDLE" as const, outcome: "LANDED" as const, tipLamports: 0 };
    const bad = await t.gql(RecordMevMetricsDocument, {
      inputs: [
        { ...base, venue: "", baseToken: "has space", quoteToken: "-usdc", tipFloorLamports: -1, computeUnits: 0 },
        { ...base, computeUnits: 1_400_001 },
      ],
    });
    expect(bad.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: inputs[0].venue must be 1 to 64 characters long; " +
        "inputs[0].baseToken may contain only letters, digits and _ . : / - and must start with a letter or digit; " +
        "inputs[0].quoteToken may contain only letters, digits and _ . : / - and must start with a letter or digit; " +
        "inputs[0].tipFloorLamports must not be negative; inputs[0].computeUnits must be at least 1; " +
        "inputs[1].computeUnits must be at most 1400000",
    );
    const fraction = await t.gql(RecordMevMetricDocument, { input: { ...base, computeUnits: 1.5 } });
    expect(fraction.errors?.[0]?.message).toContain('"input.computeUnits"');
    expect(fraction.errors?.[0]?.message).toContain("Int cannot represent non-integer value: 1.5");
    // GraphQL's Int stops a fraction first; the validator refuses one too, for any other caller.
    const direct = validateMev({ ...base, tipLamports: 0n, computeUnits: 1.5 }, 3, {
      retentionDays: 30,
      maxFutureMs: 1000,
    });
    expect(direct.problems).toEqual([{ index: 3, field: "computeUnits", reason: "must be a whole number" }]);
  });

  it("accepts single-item forms", async () => {
    const r = await t.gql(RecordLatencyMetricDocument, {
      input: { stage: "confirm", latencyUs: 42, metricId: "single-1", timestamp: new Date().toISOString() },
    });
    expect(r.data?.recordLatencyMetric).toEqual({ accepted: 1, ids: ["single-1"] });
  });

  it("refuses more items than MAX_RECORDS_PER_REQUEST, naming the limit", async () => {
    const small = await startTestApp("maxitems", { MAX_RECORDS_PER_REQUEST: "3" });
    const r = await small.gql(RecordTradesDocument, { inputs: [1, 2, 3, 4].map((i) => makeTrade(`max-${i}`)) });
    expect(r.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: inputs has 4 items; at most 3 are accepted per request (MAX_RECORDS_PER_REQUEST)",
    );
  });
});

describe("backpressure", () => {
  it("answers QUEUE_FULL (retryable) once the bounded queue is full, keeping what it accepted", async () => {
    const dead = await freePort();
    const app = buildApp({
      config: testConfig({ QUESTDB_TABLE_PREFIX: uniquePrefix("full"), MAX_QUEUE_ROWS: "5" }),
      questdb: { ...questdbAddress(), httpPort: dead, pgPort: dead },
      log: pino({ level: "silent" }),
      deadLetterDir: await mkdtemp(join(tmpdir(), "dlq-")),
    });
    const url = await app.start(0, "127.0.0.1");
    try {
      const ok = await postGraphQL(url, RecordTradesDocument, { inputs: [1, 2, 3, 4].map((i) => makeTrade(`q-${i}`)) });
      expect(ok.data?.recordTrades.accepted).toBe(4);
      const full = await postGraphQL(url, RecordTradesDocument, { inputs: [5, 6].map((i) => makeTrade(`q-${i}`)) });
      expect(full.errors?.[0]?.message).toBe("the ingest queue is full (5 rows waiting for QuestDB); retry later");
      expect(full.errors?.[0]?.extensions).toEqual({ code: "QUEUE_FULL", retryable: true });
      const fits = await postGraphQL(url, RecordTradeDocument, { input: makeTrade("q-5") });
      expect(fits.data?.recordTrade.accepted).toBe(1);
      expect(app.writer.stats().queuedRows).toBe(5);
    } finally {
      // QuestDB never comes: closing dead-letters the queued rows instead of losing them.
      await app.writer.close({ timeoutMs: 100 });
      expect(app.writer.stats()).toMatchObject({ queuedRows: 0, rejectedRows: 5 });
      await app.stop();
    }
  });
});

describe("observability", () => {
  it("/metrics reports the writer's figures and system_metrics gets samples with CPU, RSS and event-loop lag", async () => {
    const result = await sendTrades({
      url: t.url,
      prefix: "obs",
      total: 300,
      clients: 2,
      batchSize: 50,
      durability: "COMMITTED",
    });
    expect(result.failures).toEqual([]);
    // The system sampler writes a row of its own now and then: the figures served lie between the
    // writer's counts read just before and just after the scrape.
    const before = t.app.writer.stats();
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const after = t.app.writer.stats();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("ingest_rows_written_total")).toBeGreaterThanOrEqual(before.rowsWritten);
    expect(value("ingest_rows_written_total")).toBeLessThanOrEqual(after.rowsWritten);
    expect(value("ingest_rows_written_total")).toBeGreaterThanOrEqual(300);
    expect(value("ingest_rejected_rows_total")).toBe(0);
    expect(value("ingest_flushes_total")).toBeGreaterThanOrEqual(before.flushes);
    expect(value("ingest_flushes_total")).toBeLessThanOrEqual(after.flushes);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
    expect(text).toContain("# TYPE ingest_retries_total counter");

    const samples = await eventually(async () => {
      await walApplied(`${t.prefix}system_metrics`);
      const r = await exec(
        `SELECT instance, rows_written, rss_bytes, event_loop_lag_ms, cpu_percent, queue_depth FROM ${t.prefix}system_metrics WHERE rows_written >= 300`,
      );
      return r.dataset.length > 0 ? (r.dataset as [string, number, number, number, number, number][]) : undefined;
    }, "a system_metrics sample after the load");
    const [instance, , rss, lag, cpu, depth] = samples[0] as [string, number, number, number, number, number];
    expect(instance).toBe("api-under-test");
    expect(rss).toBeGreaterThan(10_000_000);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(depth).toBeGreaterThanOrEqual(0);
  });
});

describe("graceful shutdown", () => {
  it("on SIGTERM under load, stops accepting, flushes, exits 0: every acknowledged row is in QuestDB", async () => {
    const prefix = uniquePrefix("sigterm");
    const port = await freePort();
    const config = testConfig();
    const questdb = config.questdb;
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        QUESTDB_HTTP_ADDR: `127.0.0.1:${questdb?.httpPort}`,
        QUESTDB_PG_ADDR: `127.0.0.1:${questdb?.pgPort}`,
        QUESTDB_TABLE_PREFIX: prefix,
        BATCH_INTERVAL_MS: "1000", // a long interval, so plenty is queued when the signal comes
        SPOOL_DIR: config.spoolDir,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const exited = new Promise<number | null>((done) => child.on("exit", done));
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => ((await fetch(`${url}/ready`)).status === 200 ? true : undefined), "/ready", 30_000);
    let signalled = false;
    const load = sendTrades({
      url,
      prefix: "term",
      total: 20_000,
      clients: 4,
      batchSize: 100,
      onProgress: (acked) => {
        if (acked >= 5_000 && !signalled) {
          signalled = true;
          child.kill("SIGTERM");
        }
      },
    });
    const [result, code] = await Promise.all([load, exited]);
    expect(code).toBe(0);
    expect(result.acked.length).toBeGreaterThanOrEqual(5_000);
    expect(result.failures.length).toBeGreaterThan(0); // requests after the signal are refused
    await walApplied(`${prefix}trades`);
    const stored = await exec(`SELECT count(), count_distinct(trade_id) FROM ${prefix}trades`);
    expect(stored.dataset).toEqual([[result.acked.length, result.acked.length]]);
  });
});
