// The query benchmark's history (issue 13, point 6): BENCH_DAYS days ending now of deterministic
// trades, latency measurements and MEV results, loaded through ILP over HTTP with a progress bar;
// then the waits until QuestDB shows all of it: the WAL apply of the base tables and, once the
// app has created its materialized views, their refresh up to the base tables' last transaction.

import type pg from "pg";
import { encodeLatency, type LatencyMetric } from "../src/ingest/latency-record.ts";
import { encodeMev, MEV_OUTCOMES, MEV_PROTECTIONS, type MevMetric } from "../src/ingest/mev-record.ts";
import { encodeTrade, MEV_STATUSES, type Trade } from "../src/ingest/trade-record.ts";
import type { IlpBuffer } from "../src/questdb/ilp-buffer.ts";
import type { IlpClient } from "../src/questdb/ilp-http.ts";
import type { TableNames } from "../src/questdb/tables.ts";
import { loadInBatches } from "./docs.ts";
import { hash, PAIRS, STAGES, STRATEGIES, unit, VENUES } from "./rows.ts";

export const DAY_US = 86_400_000_000n;

/** ISO-8601 with microseconds, as the Timestamp scalar and QuestDB read it. */
export const iso = (micros: bigint) =>
  `${new Date(Number(micros / 1000n)).toISOString().slice(0, 23)}${(micros % 1000n).toString().padStart(3, "0")}Z`;

export interface HistorySizes {
  days: number;
  tradesPerDay: number;
  latencyPerDay: number;
  mevPerDay: number;
}

/** One writer for every loaded row, as if one API key had sent them (the links need the same). */
const LOADED_BY = "bench";

/**
 * The rows of `days` × 24 h ending at `end` (µs), each kind spread evenly over the span, so the
 * last day includes the current hour and a writer's rows land in the open period.
 */
export function history(sizes: HistorySizes, end: bigint) {
  const span = BigInt(sizes.days) * DAY_US;
  const start = end - span;
  const trades = sizes.days * sizes.tradesPerDay;
  const latencyRows = sizes.days * sizes.latencyPerDay;
  const mevRows = sizes.days * sizes.mevPerDay;
  const at = (i: number, total: number) => start + (BigInt(i) * span) / BigInt(total);

  const trade = (i: number): Trade => {
    const h = hash(i, 1);
    const [baseToken, quoteToken, price] = PAIRS[h % PAIRS.length] as (typeof PAIRS)[number];
    const baseAmount = 0.1 + (hash(i, 2) % 10_000) / 100;
    const executedPrice = price * (1 + (unit(i, 3) - 0.5) * 0.02);
    return {
      timestamp: at(i, trades),
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
      writer: LOADED_BY,
    };
  };

  const latency = (j: number): LatencyMetric => {
    const stage = j % STAGES.length;
    // Log-normal-ish: most between 1 ms and 100 ms, a long tail to seconds.
    const us = Math.round(Math.exp(6 + stage * 0.4 + unit(j, 21) * 3 + unit(j, 22) * unit(j, 23) * 4));
    const k = Math.min(trades - 1, Math.floor((j * trades) / latencyRows));
    return {
      timestamp: at(j, latencyRows),
      metricId: `l${j}`,
      stage: STAGES[stage] as string,
      latencyUs: BigInt(us),
      success: hash(j, 24) % 50 !== 0,
      strategy: STRATEGIES[hash(k, 9) % STRATEGIES.length] as string,
      tradeId: `t${k}`,
      writer: LOADED_BY,
    };
  };

  const mev = (m: number): MevMetric => {
    const k = Math.min(trades - 1, Math.floor((m * trades) / mevRows));
    const own = hash(m, 31) % 3 === 0;
    return {
      // 0.4 s after its trade, never past the end.
      timestamp: at(k, trades) + (at(k, trades) + 400_000n < end ? 400_000n : 0n),
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
      writer: LOADED_BY,
    };
  };

  return { start, end, trades, latencyRows, mevRows, trade, latency, mev };
}

export type History = ReturnType<typeof history>;

const BATCH_ROWS = 100_000;

async function load(
  ilp: IlpClient,
  label: string,
  total: number,
  encode: (buffer: IlpBuffer, i: number) => void,
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

/** Loads the history (ILP over HTTP, 100,000 rows a request); seconds per table. */
export async function loadHistory(ilp: IlpClient, names: TableNames, rows: History): Promise<number[]> {
  return [
    await load(ilp, "trades", rows.trades, (b, i) => encodeTrade(b, names.trades, rows.trade(i))),
    await load(ilp, "latency_metrics", rows.latencyRows, (b, j) =>
      encodeLatency(b, names.latency_metrics, rows.latency(j)),
    ),
    await load(ilp, "mev_metrics", rows.mevRows, (b, m) => encodeMev(b, names.mev_metrics, rows.mev(m))),
  ];
}

interface ViewRow {
  view_name: string;
  view_status: string;
  invalidation_reason: string | null;
  refresh_base_table_txn: unknown;
  base_table_txn: unknown;
}

const txn = (value: unknown) => BigInt(String(value ?? -1));

/**
 * Waits until every materialized view has been refreshed up to its base table's last transaction
 * and every WAL table (the views' own included) has applied its WAL; with no views, only the
 * latter. Written without knowing the views: whatever the app created at start-up. Logs a progress
 * line every 5 s; throws on an invalid view or after `timeoutMs`. Returns the number of views.
 */
export async function waitForViews(pool: pg.Pool, timeoutMs: number, log: (line: string) => void): Promise<number> {
  const started = performance.now();
  let lastLine = started;
  for (;;) {
    const views = await pool.query<ViewRow>(
      "SELECT view_name, view_status, invalidation_reason, refresh_base_table_txn, base_table_txn FROM materialized_views()",
    );
    const invalid = views.rows.find((v) => v.view_status === "invalid");
    if (invalid) {
      throw new Error(`materialized view ${invalid.view_name} is invalid: ${invalid.invalidation_reason ?? "?"}`);
    }
    const behind = views.rows.filter((v) => txn(v.refresh_base_table_txn) !== txn(v.base_table_txn));
    const wal = await pool.query<{ name: string; writerTxn: unknown; sequencerTxn: unknown }>(
      "SELECT name, writerTxn, sequencerTxn FROM wal_tables()",
    );
    const applying = wal.rows.filter((t) => txn(t.writerTxn) < txn(t.sequencerTxn));
    if (behind.length === 0 && applying.length === 0) return views.rows.length;
    const seconds = (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `after ${seconds.toFixed(0)} s, views still behind: ${behind.map((v) => v.view_name).join(", ") || "none"}; WAL not applied: ${applying.map((t) => t.name).join(", ") || "none"}`,
      );
    }
    if (performance.now() - lastLine >= 5_000) {
      lastLine = performance.now();
      const detail = behind
        .map(
          (v) => `${v.view_name} (${v.view_status}, txn ${txn(v.refresh_base_table_txn)} of ${txn(v.base_table_txn)})`,
        )
        .join(", ");
      log(
        `views: ${views.rows.length - behind.length}/${views.rows.length} caught up after ${seconds.toFixed(0)} s${detail ? `; refreshing ${detail}` : ""}${applying.length ? `; WAL applying: ${applying.map((t) => t.name).join(", ")}` : ""}`,
      );
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}
