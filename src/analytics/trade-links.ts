// A trade's linked rows: its latency measurements and its MEV record (both carry the trade's
// key in `trade_id`), written by the same API key as the trade: trade ids are unique only per
// writer. Loaded in batches by per-request DataLoaders: one SQL statement per field per request,
// however many trades a page holds.
import { LATENCY_METRICS, type LatencyMetric, type LatencyRow } from "../questdb/latency-table.ts";
import { MEV_METRICS, type MevMetric, type MevRow } from "../questdb/mev-table.ts";
import type { TxnRange } from "../questdb/txn-watch.ts";
import { formatIsoMicros, type Micros } from "../time.ts";
import { limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";

export interface TradeKey {
  tradeId: string;
  /** The trade's writer; rows written before writers were recorded (NULL) link to each other. */
  writer: string | null;
  timestamp: Micros;
}

/** The DataLoader key and the map key of a trade's links: its writer and trade id. */
export const linkKey = (key: { writer: string | null; tradeId: string | null }): string =>
  JSON.stringify([key.writer, key.tradeId]);

/**
 * Linked rows are looked for within this distance of their trade's timestamp: it keeps the scan
 * to the partitions around the page (trade_id is not indexed) instead of the whole table. A bot
 * records a trade's measurements within seconds of it; one hour leaves room for late batches.
 */
export const LINK_WINDOW_MICROS = 3_600_000_000n;

/**
 * `WHERE timestamp window AND trade_id IN (…)` for a batch of trades. Rows of other writers with
 * the same ids are read too (no tuple IN) and left out when mapping: a few rows at most.
 */
function linkWhere(keys: readonly TradeKey[], params: unknown[]): { where: string; range: TxnRange } {
  let min = keys[0]?.timestamp ?? 0n;
  let max = min;
  for (const key of keys) {
    if (key.timestamp < min) min = key.timestamp;
    if (key.timestamp > max) max = key.timestamp;
  }
  const range = { from: min - LINK_WINDOW_MICROS, to: max + LINK_WINDOW_MICROS + 1n };
  params.push(formatIsoMicros(range.from), formatIsoMicros(range.to - 1n));
  const ids = [...new Set(keys.map((key) => key.tradeId))].map((id) => {
    params.push(id);
    return `$${params.length}`;
  });
  // The range read goes with the statement to the cache: a write outside it keeps the entry.
  return { where: `timestamp >= $1 AND timestamp <= $2 AND trade_id IN (${ids.join(", ")})`, range };
}

// A page's links are read with LIMIT max + 1 (MAX_RESULT_ROWS): a bot that recorded very many
// measurements under the page's trade ids gets a refusal, not an answer that exhausts the heap.
const LINKED_LATENCY = "The latency measurements linked to the page's trades";
const LINKED_MEV = "The MEV records linked to the page's trades";
const PAGE_HINT = "ask for a smaller page (first)";

// The cached value is the rows by linkKey, a function of the statement alone: keys of several
// writers with one trade id make the same statement, so ordering by keys happens after the cache.

/** Every trade's measurements, oldest first (ties by stage, then key). */
export async function loadLatencyByTrade(
  cache: QueryReader,
  table: string,
  keys: readonly TradeKey[],
  max: number,
): Promise<LatencyMetric[][]> {
  const params: unknown[] = [];
  const { where, range } = linkWhere(keys, params);
  const sql = `SELECT ${LATENCY_METRICS.select} FROM ${table} WHERE ${where} ORDER BY timestamp, stage, metric_id`;
  const byTrade = await cache.read<LatencyRow, Map<string, LatencyMetric[]> | null>({
    statement: limited({ name: "trade.latencyMetrics", sql, params }, max + 1),
    tables: [table],
    range,
    map: unlessOver(max, (rows) => {
      const byKey = new Map<string, LatencyMetric[]>();
      for (const row of rows) {
        const metric = LATENCY_METRICS.fromRow(row);
        const list = byKey.get(linkKey(metric));
        if (list) list.push(metric);
        else byKey.set(linkKey(metric), [metric]);
      }
      return byKey;
    }),
  });
  if (!byTrade) throw tooManyRows(max, LINKED_LATENCY, PAGE_HINT);
  return keys.map((key) => byTrade.get(linkKey(key)) ?? []);
}

/** Every trade's MEV record; when a trade has several, the latest (then the greatest key). */
export async function loadMevByTrade(
  cache: QueryReader,
  table: string,
  keys: readonly TradeKey[],
  max: number,
): Promise<(MevMetric | null)[]> {
  const params: unknown[] = [];
  const { where, range } = linkWhere(keys, params);
  const sql = `SELECT ${MEV_METRICS.select} FROM ${table} WHERE ${where} ORDER BY timestamp, metric_id`;
  const byTrade = await cache.read<MevRow, Map<string, MevMetric> | null>({
    statement: limited({ name: "trade.mev", sql, params }, max + 1),
    tables: [table],
    range,
    map: unlessOver(max, (rows) => {
      const byKey = new Map<string, MevMetric>();
      for (const row of rows) {
        const metric = MEV_METRICS.fromRow(row);
        byKey.set(linkKey(metric), metric);
      }
      return byKey;
    }),
  });
  if (!byTrade) throw tooManyRows(max, LINKED_MEV, PAGE_HINT);
  return keys.map((key) => byTrade.get(linkKey(key)) ?? null);
}
