// The poll behind `tradeRecorded`: new trades matching a filter, in (timestamp, trade_id, writer)
// order (a row's identity: two keys may send the same timestamp and trade id), with no gap and no
// duplicate across flush boundaries.
//
// Rows become visible in QuestDB per committed batch, and a batch may carry timestamps older
// than rows already streamed (another bot's clock, a retried flush). So each poll reads (1) the
// rows after the watermark, and (2) the count of rows in the `lateMs` window behind it; when that
// count exceeds the rows already streamed in the window, the window is read again and only rows
// not streamed yet are sent. A row that becomes visible more than `lateMs` behind the newest
// streamed timestamp is not streamed (documented; LIVE_LATE_ROWS_MS).
import {
  comparePositions,
  positionOf,
  positionWhere,
  type TradeFilter,
  type TradePosition,
  tradeWhere,
  WRITER_KEY,
} from "../analytics/trades.ts";
import { TRADE_SELECT, type Trade, type TradeRow, tradeFromRow } from "../ingest/trade-record.ts";
import { TABLES } from "../questdb/tables.ts";
import { formatIsoMicros, nowMicros } from "../time.ts";
import type { LiveQuery } from "./live-queries.ts";

export interface TradeStreamOptions {
  query: LiveQuery;
  table: string;
  filter: TradeFilter;
  lateMs: number;
  /** Most rows one poll sends; the rest follow on the next poll. */
  maxRows?: number;
}

export function createTradeStream(options: TradeStreamOptions) {
  const { query, table, filter, lateMs, maxRows = 5000 } = options;
  const lateUs = BigInt(lateMs) * 1000n;
  /** The greatest position streamed (or "now" at start); undefined before the first poll. */
  let watermark: TradePosition | undefined;
  /** Positions streamed (or present at start) with timestamps inside the late window. */
  let recent: TradePosition[] = [];
  const ORDER = `ORDER BY timestamp, trade_id, ${WRITER_KEY}`;
  /** One string per position: the seen-set key (JSON, so no separator can be ambiguous). */
  const seenKey = (p: TradePosition) => JSON.stringify([String(p.timestamp), p.tradeId, p.writer]);

  /** WHERE clauses of the late window: the filter, and [watermark − late, watermark]. */
  const lateWindow = (wm: TradePosition, params: unknown[]): string[] => {
    const where = tradeWhere(filter, params);
    params.push(formatIsoMicros(wm.timestamp - lateUs));
    where.push(`timestamp >= $${params.length}`, positionWhere("<=", wm, params));
    return where;
  };

  const windowRows = (wm: TradePosition) => {
    const params: unknown[] = [];
    const where = lateWindow(wm, params);
    return query<TradeRow>(`SELECT ${TRADE_SELECT} FROM ${table} WHERE ${where.join(" AND ")} ${ORDER}`, params);
  };

  const advance = (wm: TradePosition, rows: Trade[]): TradePosition => {
    let next = wm;
    for (const t of rows) {
      const position = positionOf(t);
      recent.push(position);
      if (comparePositions(position, next) > 0) next = position;
    }
    const floor = next.timestamp - lateUs;
    recent = recent.filter((r) => r.timestamp >= floor);
    return next;
  };

  /** Returns the trades to send, oldest first ([] when none). */
  return async (): Promise<Trade[]> => {
    if (watermark === undefined) {
      // Start at "now": what is already there is not news, but remember the late window.
      const start = { timestamp: nowMicros(), tradeId: "", writer: "" };
      watermark = advance(start, (await windowRows(start)).rows.map(tradeFromRow));
      return [];
    }
    const wm = watermark;
    // One statement per poll: the rows after the watermark, and (part 1) how many rows the late
    // window holds now, in the trade_id column.
    const params: unknown[] = [];
    const fresh = tradeWhere(filter, params);
    fresh.push(positionWhere(">", wm, params));
    const late = lateWindow(wm, params);
    const result = await query<TradeRow & { part: number }>(
      `(SELECT 0 part, ${TRADE_SELECT} FROM ${table} WHERE ${fresh.join(" AND ")} ${ORDER} LIMIT ${maxRows})` +
        ` UNION ALL (SELECT 1 part, ${COUNT_ROW} FROM ${table} WHERE ${late.join(" AND ")})`,
      params,
    );
    const rows = result.rows.filter((r) => r.part === 0).map(tradeFromRow);
    const inWindow = Number(result.rows.find((r) => r.part === 1)?.trade_id ?? 0);
    let lateRows: Trade[] = [];
    if (inWindow > recent.length) {
      const seen = new Set(recent.map(seenKey));
      lateRows = (await windowRows(wm)).rows.map(tradeFromRow).filter((t) => !seen.has(seenKey(positionOf(t))));
    }
    const out = [...lateRows, ...rows];
    watermark = advance(wm, out);
    return out;
  };
}

/** The count branch of the poll: TRADE_SELECT's columns, all NULL but trade_id = count(). */
const COUNT_ROW = (() => {
  const trades = TABLES.find((t) => t.name === "trades");
  const types = new Map(trades?.columns.map((c) => [c.name, c.type]));
  return TRADE_SELECT.split(",")
    .map((c) => c.trim())
    .map((c) => (c === "trade_id" ? "cast(count() AS VARCHAR) trade_id" : `cast(NULL AS ${types.get(c)}) ${c}`))
    .join(", ");
})();
