// The poll behind `tradeRecorded`: new trades matching a filter, in (timestamp, trade_id) order,
// with no gap and no duplicate across flush boundaries.
//
// Rows become visible in QuestDB per committed batch, and a batch may carry timestamps older
// than rows already streamed (another bot's clock, a retried flush). So each poll reads (1) the
// rows after the watermark, and (2) the count of rows in the `lateMs` window behind it; when that
// count exceeds the rows already streamed in the window, the window is read again and only rows
// not streamed yet are sent. A row that becomes visible more than `lateMs` behind the newest
// streamed timestamp is not streamed (documented; LIVE_LATE_ROWS_MS).
import { type TradeFilter, tradeWhere } from "../analytics/trades.ts";
import { TRADE_SELECT, type Trade, type TradeRow, tradeFromRow } from "../ingest/trade-record.ts";
import { TABLES } from "../questdb/tables.ts";
import { formatIsoMicros, type Micros, nowMicros } from "../time.ts";
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
  let wmTs: Micros | undefined;
  let wmId = "";
  /** Keys streamed (or present at start) with timestamps inside the late window. */
  let recent: { ts: Micros; id: string }[] = [];

  /** WHERE clauses of the late window: the filter, and [watermark − late, watermark]. */
  const lateWindow = (params: unknown[]): string[] => {
    const where = tradeWhere(filter, params);
    params.push(formatIsoMicros((wmTs as Micros) - lateUs), formatIsoMicros(wmTs as Micros), wmId);
    const [floor, wm, id] = [params.length - 2, params.length - 1, params.length].map((i) => `$${i}`);
    where.push(`timestamp >= ${floor}`, `(timestamp < ${wm} OR (timestamp = ${wm} AND trade_id <= ${id}))`);
    return where;
  };

  const windowRows = () => {
    const params: unknown[] = [];
    const where = lateWindow(params);
    return query<TradeRow>(
      `SELECT ${TRADE_SELECT} FROM ${table} WHERE ${where.join(" AND ")} ORDER BY timestamp, trade_id`,
      params,
    );
  };

  const advance = (rows: Trade[]) => {
    for (const t of rows) {
      recent.push({ ts: t.timestamp, id: t.tradeId });
      if (t.timestamp > (wmTs as Micros) || (t.timestamp === wmTs && t.tradeId > wmId)) {
        wmTs = t.timestamp;
        wmId = t.tradeId;
      }
    }
    const floor = (wmTs as Micros) - lateUs;
    recent = recent.filter((r) => r.ts >= floor);
  };

  /** Returns the trades to send, oldest first ([] when none). */
  return async (): Promise<Trade[]> => {
    if (wmTs === undefined) {
      // Start at "now": what is already there is not news, but remember the late window.
      wmTs = nowMicros();
      wmId = "";
      advance((await windowRows()).rows.map(tradeFromRow));
      return [];
    }
    // One statement per poll: the rows after the watermark, and (part 1) how many rows the late
    // window holds now, in the trade_id column.
    const params: unknown[] = [];
    const fresh = tradeWhere(filter, params);
    params.push(formatIsoMicros(wmTs), wmId);
    const [wm, id] = [params.length - 1, params.length].map((i) => `$${i}`);
    fresh.push(`(timestamp > ${wm} OR (timestamp = ${wm} AND trade_id > ${id}))`);
    const late = lateWindow(params);
    const result = await query<TradeRow & { part: number }>(
      `(SELECT 0 part, ${TRADE_SELECT} FROM ${table} WHERE ${fresh.join(" AND ")} ORDER BY timestamp, trade_id LIMIT ${maxRows})` +
        ` UNION ALL (SELECT 1 part, ${COUNT_ROW} FROM ${table} WHERE ${late.join(" AND ")})`,
      params,
    );
    const rows = result.rows.filter((r) => r.part === 0).map(tradeFromRow);
    const inWindow = Number(result.rows.find((r) => r.part === 1)?.trade_id ?? 0);
    let lateRows: Trade[] = [];
    if (inWindow > recent.length) {
      const seen = new Set(recent.map((r) => `${r.ts}|${r.id}`));
      lateRows = (await windowRows()).rows.map(tradeFromRow).filter((t) => !seen.has(`${t.timestamp}|${t.tradeId}`));
    }
    const out = [...lateRows, ...rows];
    advance(out);
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
