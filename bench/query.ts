// `npm run bench:query`: query latency of the analytics API on a large data set, each figure beside
// a baseline measured in the same run on the same QuestDB (the machines are shared and noisy;
// ratios hold better than absolute numbers).
//
// 1. Starts a dedicated QuestDB (src/questdb/local-server.ts, temporary folder, free ports).
// 2. Loads BENCH_TRADES trades (default 10 M), BENCH_LATENCY latency rows (10 M) and BENCH_MEV
//    MEV rows (1 M), all inside one UTC day, through ILP over HTTP with a progress bar.
// 3. Per query, p50 and p99 of
//    - GraphQL uncached: the real HTTP server, the cache emptied before each request (so every SQL
//      statement runs; with nothing cached to confirm, none waits for a transaction probe);
//    - raw pg: the very statements that request ran (captured from the SQL runner), sent straight
//      through a pg pool, in the same waves of concurrency;
//    - GraphQL cached: the same request again, its whole answer served from the cache (the probe
//      that confirms it is current included).
//    The server runs in-process as `npm start` runs it (NODE_ENV=production, set by the npm
//    script); requests come from a minimal HTTP/1.1 client (bench/lean-http.ts).
//    Uncached and raw runs alternate, so load from other processes hits both alike.
// Env: BENCH_TRADES, BENCH_LATENCY, BENCH_MEV, BENCH_RUNS (uncached/raw runs per query, default 9;
// at least 31 under 100 ms, at most 5 over 2 s),
// BENCH_CACHED_RUNS (default 300), BENCH_ONLY (run only the queries whose name contains it),
// BENCH_TRACE=1 (print when each statement of an uncached request started and ended).
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { SenderBuffer } from "@questdb/nodejs-client";
import pino from "pino";
import type { SqlStatement } from "../src/analytics/sql.ts";
import { buildApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { encodeLatency, type LatencyMetric } from "../src/ingest/latency-record.ts";
import { encodeMev, MEV_OUTCOMES, MEV_PROTECTIONS, type MevMetric } from "../src/ingest/mev-record.ts";
import { encodeTrade, MEV_STATUSES, type Trade } from "../src/ingest/trade-record.ts";
import { createIlpClient, type IlpClient } from "../src/questdb/ilp-http.ts";
import { startLocalQuestDb } from "../src/questdb/local-server.ts";
import { createPgPool } from "../src/questdb/pg-pool.ts";
import { ensureTables, tableNames, waitForWalApply } from "../src/questdb/tables.ts";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { loadInBatches } from "./docs.ts";
import { connectLeanHttp, type LeanResponse } from "./lean-http.ts";
import { hash, PAIRS, STAGES, STRATEGIES, unit, VENUES } from "./rows.ts";

const TRADES = Number(process.env.BENCH_TRADES ?? 10_000_000);
const LATENCY = Number(process.env.BENCH_LATENCY ?? 10_000_000);
const MEV = Number(process.env.BENCH_MEV ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const CACHED_RUNS = Number(process.env.BENCH_CACHED_RUNS ?? 300);
const BATCH_ROWS = 100_000;

const log = (line: string) => console.log(`[bench:query] ${line}`);
const fmt = (n: number) => n.toLocaleString("en-US");

const DAY_US = 86_400_000_000n;
/** The loaded day: yesterday, UTC. */
const DAY = ((BigInt(Date.now()) * 1000n) / DAY_US - 1n) * DAY_US;
const iso = (micros: bigint) =>
  `${new Date(Number(micros / 1000n)).toISOString().slice(0, 23)}${(micros % 1000n).toString().padStart(3, "0")}Z`;

// ---------------------------------------------------------------- deterministic rows

/** One writer for every loaded row, as if one API key had sent them (the links need the same). */
const BENCH_WRITER = "bench";

const tradeTime = (i: number) => DAY + (BigInt(i) * DAY_US) / BigInt(TRADES);

function trade(i: number): Trade {
  const h = hash(i, 1);
  const [baseToken, quoteToken, price] = PAIRS[h % PAIRS.length] as (typeof PAIRS)[number];
  const baseAmount = 0.1 + (hash(i, 2) % 10_000) / 100;
  const executedPrice = price * (1 + (unit(i, 3) - 0.5) * 0.02);
  return {
    timestamp: tradeTime(i),
    tradeId: `t${i}`,
    signature: null,
    action: h & 1 ? "BUY" : "SELL",
    baseToken,
    quoteToken,
    baseAmount,
    quoteAmount: baseAmount * executedPrice,
    executedPrice,
    transactionFee: BigInt(5000 + (hash(i, 4) % 5000)),
    priorityFee: BigInt(hash(i, 5) % 1_000_000),
    expectedSlippage: (hash(i, 6) % 200) / 10_000,
    actualSlippage: ((hash(i, 7) % 400) - 100) / 10_000,
    mevStatus: MEV_STATUSES[hash(i, 8) % MEV_STATUSES.length] as Trade["mevStatus"],
    transferFees: 0,
    strategy: STRATEGIES[hash(i, 9) % STRATEGIES.length] as string,
    venue: VENUES[hash(i, 10) % VENUES.length] as string,
    slot: BigInt(300_000_000 + i),
    realizedPnl: hash(i, 11) % 3 === 0 ? null : ((hash(i, 12) % 2001) - 1000) / 100,
    writer: BENCH_WRITER,
  };
}

function latency(j: number): LatencyMetric {
  const stage = j % STAGES.length;
  // Log-normal-ish: most between 1 ms and 100 ms, a long tail to seconds.
  const us = Math.round(Math.exp(6 + stage * 0.4 + unit(j, 21) * 3 + unit(j, 22) * unit(j, 23) * 4));
  const k = Math.min(TRADES - 1, Math.floor((j * TRADES) / LATENCY));
  return {
    timestamp: DAY + (BigInt(j) * DAY_US) / BigInt(LATENCY),
    metricId: `l${j}`,
    stage: STAGES[stage] as string,
    latencyUs: BigInt(us),
    success: hash(j, 24) % 50 !== 0,
    strategy: STRATEGIES[hash(k, 9) % STRATEGIES.length] as string,
    tradeId: `t${k}`,
    writer: BENCH_WRITER,
  };
}

function mev(m: number): MevMetric {
  const k = Math.min(TRADES - 1, Math.floor((m * TRADES) / MEV));
  const own = hash(m, 31) % 3 === 0;
  return {
    timestamp: tradeTime(k) + 400_000n,
    metricId: `t${k}`,
    tradeId: `t${k}`,
    protection: MEV_PROTECTIONS[hash(m, 32) % MEV_PROTECTIONS.length] as MevMetric["protection"],
    outcome: MEV_OUTCOMES[hash(m, 33) % MEV_OUTCOMES.length] as MevMetric["outcome"],
    tipLamports: BigInt(hash(m, 34) % 200_000),
    expectedProfit: own ? (hash(m, 35) % 1000) / 100 : null,
    realizedProfit: own ? ((hash(m, 36) % 1200) - 200) / 100 : null,
    lossAvoided: hash(m, 37) % 2 === 0 ? (hash(m, 38) % 500) / 100 : null,
    attackDetected: hash(m, 39) % 10 === 0,
    slotsToLand: hash(m, 40) % 30,
    strategy: STRATEGIES[hash(k, 9) % STRATEGIES.length] as string,
    venue: null,
    baseToken: null,
    quoteToken: null,
    tipFloorLamports: null,
    computeUnits: null,
    writer: BENCH_WRITER,
  };
}

// ---------------------------------------------------------------- loading

async function load(
  ilp: IlpClient,
  label: string,
  total: number,
  encode: (buffer: SenderBuffer, i: number) => void,
): Promise<number> {
  const started = performance.now();
  await loadInBatches("query", label, total, BATCH_ROWS, async (from, to) => {
    const buffer = ilp.newBuffer();
    for (let i = from; i < to; i++) encode(buffer, i);
    const body = buffer.toBufferNew();
    if (!body) return;
    for (let attempt = 1; ; attempt++) {
      const result = await ilp.write(body);
      if (result.kind === "ok") break;
      if (result.kind === "rejected" || attempt >= 10) throw new Error(`ILP write failed: ${result.reason}`);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  });
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------- queries

interface BenchQuery {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

const RANGE = { from: iso(DAY), to: iso(DAY + DAY_US) };
const STATS_FIELDS =
  "bucket count baseVolume quoteVolume vwap minPrice maxPrice firstPrice lastPrice transactionFees priorityFees transferFees meanSlippage meanSlippageError overExpectedSlippageShare";
const LATENCY_FIELDS = "bucket stage count minUs meanUs p50Us p90Us p95Us p99Us p999Us maxUs";
const MEV_FIELDS =
  "bucket protection transactions protectedShare attackRate landingRate bundleLandingRate tipsLamports lossAvoided priorityFeesLamports netBenefit(solPrice: 180) captureRatio";

const QUERIES: BenchQuery[] = [
  {
    name: "trades: page of 100, pair + strategy filter, 24 h",
    query: `query($f: TradeFilter) { trades(filter: $f, first: 100) { edges { cursor node { tradeId timestamp action executedPrice baseAmount quoteAmount mevStatus realizedPnl } } pageInfo { hasNextPage endCursor } } }`,
    variables: { f: { ...RANGE, pair: { baseToken: "SOL", quoteToken: "USDC" }, strategy: "momentum" } },
  },
  {
    name: "trades: page of 100 + latencyMetrics + mev (DataLoader)",
    query: `query($f: TradeFilter) { trades(filter: $f, first: 100) { edges { node { tradeId timestamp executedPrice latencyMetrics { stage latencyUs } mev { protection outcome tipLamports } } } } }`,
    variables: { f: { ...RANGE, actualSlippage: { min: 0.001 } } },
  },
  {
    name: "tradeStats: 24 h, hourly, by pair",
    query: `query($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR, groupBy: [PAIR]) { totals { ${STATS_FIELDS} } buckets { ${STATS_FIELDS} } } }`,
    variables: { r: RANGE },
  },
  {
    name: "tradeStats: 24 h totals by strategy, with p95 slippage",
    query: `query($r: TimeRange!) { tradeStats(range: $r, groupBy: [STRATEGY]) { totals { ${STATS_FIELDS} p95Slippage } } }`,
    variables: { r: RANGE },
  },
  {
    name: "latencyStats: 24 h per stage (10 M rows)",
    query: `query($r: TimeRange!) { latencyStats(range: $r) { totals { ${LATENCY_FIELDS} } } }`,
    variables: { r: RANGE },
  },
  {
    name: "latencyStats: 24 h per stage, hourly",
    query: `query($r: TimeRange!) { latencyStats(range: $r, bucket: HOUR) { buckets { ${LATENCY_FIELDS} } } }`,
    variables: { r: RANGE },
  },
  {
    name: "latencyStats: 1 h, stage e2e",
    query: `query($r: TimeRange!) { latencyStats(range: $r, stage: "e2e") { totals { ${LATENCY_FIELDS} } } }`,
    variables: { r: { from: iso(DAY + 12n * 3_600_000_000n), to: iso(DAY + 13n * 3_600_000_000n) } },
  },
  {
    name: "mevEffectiveness: 24 h, hourly, by protection, net benefit",
    query: `query($r: TimeRange!) { mevEffectiveness(range: $r, bucket: HOUR, groupBy: [PROTECTION]) { totals { ${MEV_FIELDS} } buckets { ${MEV_FIELDS} } } }`,
    variables: { r: RANGE },
  },
  {
    name: "strategyPerformance: 24 h, all strategies, drawdown",
    query: `query($r: TimeRange!) { strategyPerformance(range: $r, startingBalance: 10000) { strategy trades quoteVolume totalFees realizedPnl winRate profitFactor expectancy maxDrawdown maxDrawdownRelative } }`,
    variables: { r: RANGE },
  },
];

// ---------------------------------------------------------------- measuring

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

interface Captured {
  statement: SqlStatement;
  start: number;
  end: number;
}

/** Groups statements into waves that ran concurrently (each starts before the wave's first end). */
function waves(captured: Captured[]): SqlStatement[][] {
  const sorted = [...captured].sort((a, b) => a.start - b.start);
  const result: { end: number; statements: SqlStatement[] }[] = [];
  for (const c of sorted) {
    const current = result.at(-1);
    if (current && c.start < current.end) {
      current.statements.push(c.statement);
      current.end = Math.min(current.end, c.end);
    } else result.push({ end: c.end, statements: [c.statement] });
  }
  return result.map((w) => w.statements);
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "qdb-bench-query-"));
  log(
    `${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}, Node ${process.version}, QuestDB ${QUESTDB_VERSION}`,
  );
  const server = await startLocalQuestDb({ jarDir: ".questdb", rootDir: root, httpPort: 0, pgPort: 0, log });
  const cleanup = async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    await run(server.httpPort, server.pgPort);
  } finally {
    await cleanup();
    log("QuestDB stopped, data removed");
  }
}

async function run(httpPort: number, pgPort: number): Promise<void> {
  const names = tableNames("");
  const pool = createPgPool({
    host: "127.0.0.1",
    port: pgPort,
    user: "admin",
    password: "quest",
    database: "qdb",
    max: 5,
    statementTimeoutMs: 600_000,
  });
  await ensureTables(pool, { names, retentionDays: 30 });

  const ilp = createIlpClient({ host: "127.0.0.1", port: httpPort, requestTimeoutMs: 300_000 });
  log(
    `loading one UTC day, ${iso(DAY)} to ${iso(DAY + DAY_US)}, through ILP over HTTP (${fmt(BATCH_ROWS)} rows per request)`,
  );
  const tTrades = await load(ilp, "trades", TRADES, (b, i) => encodeTrade(b, names.trades, trade(i)));
  const tLatency = await load(ilp, "latency_metrics", LATENCY, (b, j) =>
    encodeLatency(b, names.latency_metrics, latency(j)),
  );
  const tMev = await load(ilp, "mev_metrics", MEV, (b, m) => encodeMev(b, names.mev_metrics, mev(m)));
  ilp.close();
  const applyStarted = performance.now();
  await waitForWalApply(pool, Object.values(names), 1_800_000);
  log(
    `loaded in ${tTrades.toFixed(0)} s + ${tLatency.toFixed(0)} s + ${tMev.toFixed(0)} s; WAL applied ${((performance.now() - applyStarted) / 1000).toFixed(0)} s later`,
  );
  const counts = await pool.query<{ n: bigint; t: string }>(
    `SELECT count() n, 'trades' t FROM trades UNION ALL SELECT count(), 'latency_metrics' FROM latency_metrics UNION ALL SELECT count(), 'mev_metrics' FROM mev_metrics`,
  );
  log(`rows: ${counts.rows.map((r) => `${r.t} ${fmt(Number(r.n))}`).join(", ")}`);

  let capturing: Captured[] | undefined;
  const config = loadConfig({
    QUESTDB_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    QUESTDB_PG_ADDR: `127.0.0.1:${pgPort}`,
    LOG_LEVEL: "silent",
    QUERY_TIMEOUT_MS: "600000",
    // Statistics run on this thread: an analytics worker's own cache is out of app.cache.clear()'s
    // reach (its "uncached" runs would be hits), and its statements out of onStatement's.
    ANALYTICS_WORKERS: "0",
  });
  const deadLetterDir = await mkdtemp(join(tmpdir(), "bench-dead-letter-"));
  const app = buildApp({
    config,
    questdb: config.questdb as NonNullable<typeof config.questdb>,
    log: pino({ level: "silent" }),
    deadLetterDir,
    onStatement: (statement, ms) => {
      const end = performance.now();
      capturing?.push({ statement, start: end - ms, end });
    },
  });
  const url = await app.start(0, "127.0.0.1");
  const raw = createPgPool({
    host: "127.0.0.1",
    port: pgPort,
    user: "admin",
    password: "quest",
    database: "qdb",
    max: config.pgPoolSize,
    statementTimeoutMs: 600_000,
  });

  // A minimal keep-alive HTTP/1.1 client (bench/lean-http.ts), so the figures are the server's.
  const client = await connectLeanHttp("127.0.0.1", Number(new URL(url).port));
  const prepared = new Map<BenchQuery, () => Promise<LeanResponse>>();
  const post = async (q: BenchQuery): Promise<number> => {
    let send = prepared.get(q);
    if (!send) {
      send = client.prepare("/graphql", JSON.stringify({ query: q.query, variables: q.variables }));
      prepared.set(q, send);
    }
    const { status, json, ms } = await send();
    const answer = json as { errors?: { message: string }[] };
    if (status !== 200 || answer.errors) {
      throw new Error(`${q.name}: HTTP ${status} ${answer.errors?.map((e) => e.message).join("; ") ?? ""}`);
    }
    return ms;
  };
  // QuestDB's workers spin for a moment after a query; on two cores that delays whatever comes
  // next. Both kinds of run get the same pause first, so neither pays for the other's tail.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  const replay = async (plan: SqlStatement[][]): Promise<number> => {
    const started = performance.now();
    for (const wave of plan) {
      await Promise.all(wave.map((s) => raw.query({ text: s.sql, values: s.params as unknown[] })));
    }
    return performance.now() - started;
  };

  const results: {
    name: string;
    statements: number;
    runs: number;
    uncached: number[];
    /** Per uncached request: wall time from the first analytics statement's start to the last one's end. */
    sqlSpan: number[];
    probe: number[];
    rawMs: number[];
    cached: number[];
  }[] = [];
  const only = process.env.BENCH_ONLY;
  for (const q of QUERIES.filter((x) => !only || x.name.includes(only))) {
    // Capture the statements of one uncached request; it also warms QuestDB and the JIT.
    app.cache.clear();
    capturing = [];
    const first = await post(q);
    // Queries of several seconds get fewer runs, so the whole benchmark stays within minutes;
    // queries under 100 ms get more, as their p50 swings with every hiccup of a shared machine.
    const runs = first > 2000 ? Math.min(RUNS, 5) : first < 100 ? Math.max(RUNS, 31) : RUNS;
    const plan = waves(capturing.filter((c) => c.statement.name !== "cache.txn"));
    capturing = undefined;
    await replay(plan);

    const uncached: number[] = [];
    const sqlSpan: number[] = [];
    const probe: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      app.cache.clear();
      await settle();
      capturing = [];
      const requestStart = performance.now();
      uncached.push(await post(q));
      if (process.env.BENCH_TRACE) {
        const line = capturing
          .map((c) => `${c.statement.name} ${(c.start - requestStart).toFixed(2)}→${(c.end - requestStart).toFixed(2)}`)
          .join(", ");
        log(`trace: ${line}; response at ${(performance.now() - requestStart).toFixed(2)} ms`);
      }
      const analytics = capturing.filter((c) => c.statement.name !== "cache.txn");
      sqlSpan.push(Math.max(...analytics.map((c) => c.end)) - Math.min(...analytics.map((c) => c.start)));
      probe.push(
        capturing.filter((c) => c.statement.name === "cache.txn").reduce((sum, c) => sum + c.end - c.start, 0),
      );
      capturing = undefined;
      await settle();
      rawMs.push(await replay(plan));
    }
    await post(q); // fills the cache
    const cached: number[] = [];
    for (let i = 0; i < CACHED_RUNS; i++) cached.push(await post(q));
    const statements = plan.flat().length;
    results.push({ name: q.name, statements, runs, uncached, sqlSpan, probe, rawMs, cached });
    log(
      `${q.name}: uncached p50 ${percentile(uncached, 50).toFixed(1)} ms (SQL span in the app ${percentile(sqlSpan, 50).toFixed(1)} ms, probe ${percentile(probe, 50).toFixed(2)} ms), raw ${percentile(rawMs, 50).toFixed(1)} ms, cached ${percentile(cached, 50).toFixed(2)} ms (${statements} statement${statements === 1 ? "" : "s"})`,
    );
  }
  const stats = app.cache.stats();
  client.close();
  await app.stop();
  await raw.end();
  await pool.end();
  await rm(deadLetterDir, { recursive: true, force: true });

  const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  console.log("");
  console.log(
    `| Query | SQL stmts | runs | GraphQL uncached p50 / p99 (ms) | of which SQL in the app, p50 (ms) | raw pg p50 / p99 (ms) | uncached ÷ raw (p50) | GraphQL cached p50 / p99 (ms) |`,
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.statements} | ${r.runs} | ${ms(percentile(r.uncached, 50))} / ${ms(percentile(r.uncached, 99))} | ${ms(percentile(r.sqlSpan, 50))} | ${ms(percentile(r.rawMs, 50))} / ${ms(percentile(r.rawMs, 99))} | ${(percentile(r.uncached, 50) / percentile(r.rawMs, 50)).toFixed(2)} | ${ms(percentile(r.cached, 50))} / ${ms(percentile(r.cached, 99))} |`,
    );
  }
  console.log("");
  log(
    `runs per query: up to ${RUNS} uncached + as many raw (alternating; 5 for queries over 2 s, at least 31 under 100 ms), ${CACHED_RUNS} cached; cache: ${fmt(stats.hits)} hits, ${fmt(stats.misses)} misses, ${fmt(stats.probes)} probes`,
  );
  log(
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}

await main();
