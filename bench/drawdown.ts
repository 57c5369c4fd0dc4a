// `npm run bench:drawdown` (issue 13, point 3): strategyPerformance's max drawdown (with its peak,
// trough and recovery times) over 30 days, the old way (strategyDrawdowns: window functions over
// every closed trade of the range) beside the new one (the API: hourly summaries kept under each
// hour's fingerprint from the `trades_pnl_1h` view, changed hours and the partial edges from the
// table, folded in order), in the same run on the same QuestDB.
//
// 1. Starts a QuestDB of its own, creates the API's tables and view, loads BENCH_DAYS (30) days ×
//    BENCH_TRADES_PER_DAY (100,000) trades through ILP (bench/overload-load.ts, ending a minute ago).
// 2. Waits until the view has caught up with the table (reports how long after the load).
// 3. Alternates BENCH_RUNS (5) runs of each, for BENCH_GROUP_BY (STRATEGY; "" for the whole
//    account, "STRATEGY,PAIR" for both): the old statement through the API's SQL runner; the
//    GraphQL query through the API's HTTP server (query cache emptied before each request): first
//    ever (no hour summary anywhere: memory and drawdown_hours emptied), fresh instance (memory
//    emptied, drawdown_hours kept) and warm (hour summaries in memory: every later request); then
//    checks they give the same drawdown and times per group. Prints a Markdown table (p50, max);
//    records nothing.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { QueryReader } from "../src/analytics/cache.ts";
import { groupKey } from "../src/analytics/series.ts";
import {
  type Drawdown,
  groupColumns,
  normalizePerformanceGroupBy,
  PERFORMANCE_GROUP_KEYS,
  type PerformanceGroupKey,
  strategyDrawdowns,
} from "../src/analytics/strategy-performance.ts";
import { buildApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { pnlViewName } from "../src/questdb/pnl-view.ts";
import { ensureTables, tableNames, waitForWalApply } from "../src/questdb/tables.ts";
import { ensureViews, viewNames } from "../src/questdb/views.ts";
import { formatIsoMicros, type Micros } from "../src/time.ts";
import { percentile, startBenchQuestDb } from "./docs.ts";
import { loadHistory } from "./overload-load.ts";

const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const PER_DAY = Number(process.env.BENCH_TRADES_PER_DAY ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const GROUP_BY = normalizePerformanceGroupBy(
  (process.env.BENCH_GROUP_BY ?? "STRATEGY")
    .split(",")
    .filter(Boolean)
    .map((key) => {
      if (!(PERFORMANCE_GROUP_KEYS as readonly string[]).includes(key)) throw new Error(`BENCH_GROUP_BY: ${key}?`);
      return key as PerformanceGroupKey;
    }),
);
const log = (line: string) => console.log(`[bench:drawdown] ${line}`);

const QUERY = `query($r: TimeRange!, $g: [PerformanceGroupKey!]) { strategyPerformance(range: $r, startingBalance: 10000, groupBy: $g) {
  strategy baseToken quoteToken maxDrawdown maxDrawdownRelative maxDrawdownPeakAt maxDrawdownTroughAt maxDrawdownRecoveredAt } }`;

interface Row {
  strategy: string | null;
  baseToken: string | null;
  quoteToken: string | null;
  maxDrawdown: number;
  maxDrawdownPeakAt: string | null;
  maxDrawdownTroughAt: string | null;
  maxDrawdownRecoveredAt: string | null;
}

async function main() {
  const { questdb, pool, close } = await startBenchQuestDb("drawdown", log);
  process.once("SIGINT", () => void close().then(() => process.exit(130)));
  try {
    const tables = tableNames("");
    await ensureTables(pool, { names: tables, retentionDays: DAYS + 1 });
    await ensureViews(pool, { tables, views: viewNames(""), retentionDays: DAYS + 1 });
    log(`loading ${DAYS} days × ${PER_DAY.toLocaleString("en-US")} trades`);
    const loadS = await loadHistory({
      httpPort: questdb.httpPort,
      days: DAYS,
      tradesPerDay: PER_DAY,
      latencyPerDay: 0,
      tables: { trades: tables.trades, latency: tables.latency_metrics },
      writer: "bench",
    });
    await waitForWalApply(pool, [tables.trades], 600_000);
    const started = performance.now();
    for (;;) {
      const { rows } = await pool.query<{ ok: boolean }>(
        "SELECT view_status = 'valid' AND refresh_base_table_txn = base_table_txn ok FROM materialized_views() WHERE view_name = $1",
        [pnlViewName("")],
      );
      if (rows[0]?.ok === true) break;
      await new Promise((done) => setTimeout(done, 200));
    }
    const refreshS = (performance.now() - started) / 1000;
    log(`loaded in ${loadS.toFixed(1)} s; the view caught up ${refreshS.toFixed(1)} s after the last row was applied`);

    const config = loadConfig({
      QUESTDB_HTTP_ADDR: `127.0.0.1:${questdb.httpPort}`,
      QUESTDB_PG_ADDR: `127.0.0.1:${questdb.pgPort}`,
      LOG_LEVEL: "silent",
      QUERY_TIMEOUT_MS: "600000",
      RETENTION_DAYS: String(DAYS + 1),
      // On the main thread: an analytics worker keeps a query cache and hour summaries of its own,
      // which app.cache.clear() and app.services.drawdownHours.clear() would not empty.
      ANALYTICS_WORKERS: "0",
    });
    const app = buildApp({
      config,
      questdb: config.questdb as NonNullable<typeof config.questdb>,
      log: pino({ level: "silent" }),
      deadLetterDir: await mkdtemp(join(tmpdir(), "bench-dead-letter-")),
    });
    const url = await app.start(0, "127.0.0.1");
    // The old statement, uncached, through the API's runner (its type parsers).
    const direct: QueryReader = {
      read: async (q) => q.map(await app.services.sql.query(q.statement)),
      snapshot: (tables) => app.services.txnWatch.snapshot(tables),
    };
    try {
      const nowUs = BigInt(Date.now()) * 1000n;
      const range = { from: nowUs - BigInt(DAYS) * 86_400_000_000n, to: nowUs };
      const isoRange = { from: formatIsoMicros(range.from), to: formatIsoMicros(range.to) };
      const args = { range, strategy: null, writer: null, groupBy: GROUP_BY };
      const oldMs: number[] = [];
      const coldMs: number[] = [];
      const freshMs: number[] = [];
      const warmMs: number[] = [];
      let oldRows = new Map<string, Drawdown>();
      let newRows: Row[] = [];
      const ask = async (into: number[]) => {
        app.cache.clear();
        const t = performance.now();
        const response = await fetch(`${url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: QUERY, variables: { r: isoRange, g: GROUP_BY } }),
        });
        const body = (await response.json()) as { data?: { strategyPerformance: Row[] }; errors?: unknown };
        into.push(performance.now() - t);
        if (!body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
        newRows = body.data.strategyPerformance;
      };
      for (let run = 0; run < RUNS; run++) {
        const t = performance.now();
        oldRows = await strategyDrawdowns(direct, tables.trades, args, config.limits.maxResultRows);
        oldMs.push(performance.now() - t);
        await pool.query(`TRUNCATE TABLE ${tables.drawdown_hours}`);
        app.services.drawdownHours.clear();
        await ask(coldMs);
        // The computed hours are stored without the request waiting: wait until QuestDB shows them.
        for (let n = 0; n === 0; ) {
          await waitForWalApply(pool, [tables.drawdown_hours]);
          n = Number((await pool.query(`SELECT count() n FROM ${tables.drawdown_hours}`)).rows[0]?.n ?? 0);
        }
        app.services.drawdownHours.clear();
        await ask(freshMs);
        await ask(warmMs);
      }
      const columns = groupColumns(GROUP_BY);
      const iso = (t: Micros | null) => (t === null ? null : formatIsoMicros(t));
      const differences = newRows.filter((r) => {
        const values = columns.map(
          (c) => ({ strategy: r.strategy, base_token: r.baseToken, quote_token: r.quoteToken })[c],
        );
        const old = oldRows.get(groupKey(values));
        return (
          Math.abs((old?.maxDrawdown ?? 0) - r.maxDrawdown) > 1e-9 * Math.max(1, r.maxDrawdown) ||
          iso(old?.peakAt ?? null) !== r.maxDrawdownPeakAt ||
          iso(old?.troughAt ?? null) !== r.maxDrawdownTroughAt ||
          iso(old?.recoveredAt ?? null) !== r.maxDrawdownRecoveredAt
        );
      });
      const stat = (list: number[]) => {
        const sorted = [...list].sort((a, b) => a - b);
        return `${percentile(sorted, 50).toFixed(0)} ms | ${(sorted.at(-1) ?? Number.NaN).toFixed(0)} ms`;
      };
      console.log(
        [
          `\n${DAYS} days × ${PER_DAY.toLocaleString("en-US")} trades, groupBy [${GROUP_BY.join(", ")}] (${newRows.length} rows), ${RUNS} runs each, uncached:\n`,
          "| strategyPerformance drawdown and its times | p50 | max |",
          "|---|---:|---:|",
          `| old: window functions over every trade (strategyDrawdowns) | ${stat(oldMs)} |`,
          `| new, first ever: every hour computed (GraphQL over HTTP) | ${stat(coldMs)} |`,
          `| new, fresh instance: hours from drawdown_hours | ${stat(freshMs)} |`,
          `| new, warm: hours from memory | ${stat(warmMs)} |`,
          `\nSame drawdown and times per group: ${differences.length === 0 ? "yes" : `no: ${JSON.stringify(differences)}`}`,
        ].join("\n"),
      );
    } finally {
      await app.stop();
    }
  } finally {
    await close();
  }
}

await main();
