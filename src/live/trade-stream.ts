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
  const late = BigInt(lateMs) * 1000n;
  let wmTs: Micros | undefined;
  let wmId = "";
  /** Keys streamed (or present at start) with timestamps inside the late window. */
  let recent: { ts: Micros; id: string }[] = [];

  const select = async (extra: string[], extraParams: unknown[], suffix: string) => {
    const params: unknown[] = [];
    const where = tradeWhere(filter, params);
    for (const clause of extra) {
      let sql = clause;
      for (let i = 0; i < extraParams.length; i++) sql = sql.replaceAll(`:${i}`, `$${params.length + i + 1}`);
      where.push(sql);
    }
    params.push(...extraParams);
    return query<TradeRow>(`SELECT ${TRADE_SELECT} FROM ${table} WHERE ${where.join(" AND ")} ${suffix}`, params);
  };

  const windowRows = () =>
    select(
      ["timestamp >= :0", "(timestamp < :1 OR (timestamp = :1 AND trade_id <= :2))"],
      [formatIsoMicros((wmTs as Micros) - late), formatIsoMicros(wmTs as Micros), wmId],
      "ORDER BY timestamp, trade_id",
    );

  const advance = (rows: Trade[]) => {
    for (const t of rows) {
      recent.push({ ts: t.timestamp, id: t.tradeId });
      if (t.timestamp > (wmTs as Micros) || (t.timestamp === wmTs && t.tradeId > wmId)) {
        wmTs = t.timestamp;
        wmId = t.tradeId;
      }
    }
    const floor = (wmTs as Micros) - late;
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
    const fresh = (
      await select(
        ["(timestamp > :0 OR (timestamp = :0 AND trade_id > :1))"],
        [formatIsoMicros(wmTs), wmId],
        `ORDER BY timestamp, trade_id LIMIT ${maxRows}`,
      )
    ).rows.map(tradeFromRow);

    const countParams: unknown[] = [];
    const countWhere = tradeWhere(filter, countParams);
    countParams.push(formatIsoMicros(wmTs - late), formatIsoMicros(wmTs), wmId);
    const n = countParams.length;
    countWhere.push(
      `timestamp >= $${n - 2}`,
      `(timestamp < $${n - 1} OR (timestamp = $${n - 1} AND trade_id <= $${n}))`,
    );
    const counted = await query<{ n: bigint }>(
      `SELECT count() n FROM ${table} WHERE ${countWhere.join(" AND ")}`,
      countParams,
    );
    let lateRows: Trade[] = [];
    if (Number(counted.rows[0]?.n ?? 0n) > recent.length) {
      const seen = new Set(recent.map((r) => `${r.ts}|${r.id}`));
      lateRows = (await windowRows()).rows.map(tradeFromRow).filter((t) => !seen.has(`${t.timestamp}|${t.tradeId}`));
    }
    const out = [...lateRows, ...fresh];
    advance(out);
    return out;
  };
}
