// The poll behind `tradeRecorded`: new trades matching a filter, in (timestamp, trade_id, writer)
// order (a row's identity: two keys may send the same timestamp and trade id), each once.
//
// Rows become visible in QuestDB per committed transaction, and a transaction may carry
// timestamps older than rows already streamed (another bot's clock, a flush that carried a slower
// bot's rows). Each poll reads, in one statement, the rows after the watermark (the greatest
// position streamed) and how many rows the `lateMs` window behind it holds. When that count
// exceeds the rows already streamed in the window, the window and everything after it are read
// again in one statement (one view of the table): the rows not streamed yet that lie behind the
// watermark are sent first, then the newer ones in order.
//
// The count scans the whole late window at every poll (with bots writing 8,000 rows a second and
// LIVE_LATE_ROWS_MS at 2 s, 16,000 rows per poll and filter), while a late row is rare: when the
// transaction checks know the time range of every transaction since the last poll (live/txn-
// checks.ts, wal_transactions()) and none wrote a row at or before the watermark's timestamp, the
// poll reads the rows after the watermark and, in a last branch of the same statement, the
// table's applied transaction (so, at least every transaction those rows' view holds). If one
// applied since the check may have written behind the watermark (or its range is not known yet),
// the rows are not sent: the poll runs again with the count, whose view holds them all. So
// trades visible together are still streamed in order, and late ones in full.
//
// The rule (README, LIVE_LATE_ROWS_MS): trades are delivered in (timestamp, tradeId, writer)
// order. A trade that becomes visible after a trade with a greater position was delivered is
// late: it is delivered once, at once and out of order, when its timestamp is at most `lateMs`
// behind the newest delivered one, and never when it is older. A poll that fills its page
// (`maxRows`) polls again at once, so a batch of any size is delivered without waiting for the
// next commit.
import {
  comparePositions,
  positionOf,
  positionWhere,
  type TradeFilter,
  type TradePosition,
  tradeWhere,
  WRITER_KEY,
} from "../analytics/trades.ts";
import { TRADES, type Trade, type TradeRow } from "../questdb/trade-table.ts";
import { formatIsoMicros, nowMicros } from "../time.ts";
import type { LiveQueries, LiveQuery } from "./live-queries.ts";
import type { PartQuery } from "./union-batch.ts";

export interface TradeStreamOptions {
  query: LiveQuery;
  /**
   * Runs the poll's main statement, joined with the other streams' polls that start in the same
   * turn (live/union-batch.ts). Default `query`, alone.
   */
  union?: PartQuery;
  table: string;
  filter: TradeFilter;
  lateMs: number;
  /**
   * Most rows one poll sends (default 2,500; at most 3 polls run at once, PG_LIGHT_POOL_SIZE); the
   * rest follow in the next poll, at once. Smaller pages reach subscribers sooner: a 20,000-trade
   * batch's last trade came 1.5–1.7 s after its COMMITTED answer with 2,500, 2.0–2.7 s with 10,000
   * (`BENCH_BIG_ONLY=1 npm run bench:live`, the second batch; 1,000 was 1.8 s, 5,000 1.9 s).
   */
  maxRows?: number;
}

/** What a poll knows of the table's transactions (live-queries.ts, PollTxns, for one table). */
export interface TradeTxns {
  /** The applied transaction the poll's statement sees at least. */
  applied: bigint;
  /** The earliest µs written by the transactions in (afterTxn, uptoTxn]: undefined when none, null when unknown. */
  earliestWritten(afterTxn: bigint, uptoTxn: bigint): bigint | null | undefined;
  /** Loads the ranges up to `txn` (applied since the check, before a check could load them). */
  loadUpTo?(txn: bigint): Promise<void>;
}

export function createTradeStream(options: TradeStreamOptions) {
  const { query, union, table, filter, lateMs, maxRows = 2_500 } = options;
  const lateUs = BigInt(lateMs) * 1000n;
  /** The greatest position streamed (or "now" at start); undefined before the first poll. */
  let watermark: TradePosition | undefined;
  /** Positions streamed (or present at start) with timestamps inside the late window. */
  let recent: TradePosition[] = [];
  /** Every row of a transaction up to this one is in `recent` or after the watermark (counted or proven). */
  let accounted: bigint | undefined;
  let countsSkipped = 0;
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
    return query<TradeRow>({
      name: "tradeRecorded.window",
      sql: `SELECT ${TRADES.select} FROM ${table} WHERE ${where.join(" AND ")} ${ORDER}`,
      params,
    });
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

  /**
   * The late window and everything after it, read again in one statement (one view of the
   * table): the rows behind the watermark not streamed yet first, then the newer ones in order.
   */
  const readAgain = async (wm: TradePosition, limit: number): Promise<{ trades: Trade[]; more: boolean }> => {
    const again: unknown[] = [];
    const where = tradeWhere(filter, again);
    again.push(formatIsoMicros(wm.timestamp - lateUs));
    where.push(`timestamp >= $${again.length}`);
    const rows = (
      await query<TradeRow>({
        name: "tradeRecorded.late",
        sql: `SELECT ${TRADES.select} FROM ${table} WHERE ${where.join(" AND ")} ${ORDER} LIMIT ${limit}`,
        params: again,
      })
    ).map(TRADES.fromRow);
    const seen = new Set(recent.map(seenKey));
    const lateRows = rows.filter((t) => comparePositions(positionOf(t), wm) <= 0 && !seen.has(seenKey(positionOf(t))));
    return {
      trades: [...lateRows, ...rows.filter((t) => comparePositions(positionOf(t), wm) > 0)],
      more: rows.length === limit,
    };
  };

  /** Whether the transactions in (after, upto] are known to hold no row at or before `wm` (see the top). */
  const noneBehind = (txns: TradeTxns, after: bigint, upto: bigint, wm: TradePosition) => {
    if (upto < after) return false;
    const earliest = txns.earliestWritten(after, upto);
    return earliest !== null && (earliest === undefined || earliest > wm.timestamp);
  };

  /**
   * The trades to send, oldest first, and whether the poll filled its page (then poll again at
   * once: the rest is already there).
   */
  const poll = async (txns?: TradeTxns): Promise<{ trades: Trade[]; more: boolean }> => {
    if (watermark === undefined) {
      // Start at "now": what is already there is not news, but remember the late window.
      const start = { timestamp: nowMicros(), tradeId: "", writer: "" };
      watermark = advance(start, (await windowRows(start)).map(TRADES.fromRow));
      accounted = txns?.applied;
      return { trades: [], more: false };
    }
    const wm = watermark;
    const freshBranch = (params: unknown[]) => {
      const fresh = tradeWhere(filter, params);
      fresh.push(positionWhere(">", wm, params));
      return `(SELECT 0 part, ${TRADES.select} FROM ${table} WHERE ${fresh.join(" AND ")} ${ORDER} LIMIT ${maxRows})`;
    };
    const since = accounted;
    if (txns && since !== undefined && noneBehind(txns, since, txns.applied, wm)) {
      // The rows after the watermark, and the table's applied transaction read after them (its
      // branch opens last): the transactions their view may hold beyond what the check saw.
      const params: unknown[] = [];
      const rows = freshBranch(params);
      params.push(table);
      const result = await (union ?? query)<TradeRow & { part: number }>({
        name: "tradeRecorded.fresh",
        sql: `${rows} UNION ALL (SELECT 1 part, ${valueRow("txn")} FROM (SELECT writerTxn txn FROM wal_tables() WHERE name = $${params.length}))`,
        params,
      });
      const seenTxn = BigInt(result.find((r) => r.part === 1)?.trade_id ?? -1);
      // Applied since the check, their ranges may not be loaded yet: loaded now (one short
      // statement) rather than the rows read again.
      if (seenTxn > txns.applied && txns.loadUpTo && txns.earliestWritten(since, seenTxn) === null) {
        await txns.loadUpTo(seenTxn);
      }
      if (noneBehind(txns, since, seenTxn, wm)) {
        countsSkipped++;
        // Only up to the check's transaction: one applied later may have been applied after the
        // rows' view was taken (the transaction branch opens last) and hold rows behind the new
        // watermark that this statement did not see; the next poll's proof covers it again.
        accounted = txns.applied;
        const out = result.filter((r) => r.part === 0).map(TRADES.fromRow);
        watermark = advance(wm, out);
        return { trades: out, more: out.length === maxRows };
      }
      // A transaction applied since the check may hold a late row, which would then come after
      // newer rows it was visible with: nothing of this statement is sent, the poll runs again
      // with the count below (one view; any number of late rows read in full).
    }
    if (txns) accounted = txns.applied;
    // The common case in one statement: the rows after the watermark, and how many rows the late
    // window holds now (in the trade_id column). QuestDB opens a UNION ALL's branches in order
    // (AbstractSetRecordCursorFactory.getCursor), so the count sees every commit the rows saw: a
    // late row of a commit they include is counted, and read below with them.
    const params: unknown[] = [];
    const rows = freshBranch(params);
    const late = lateWindow(wm, params);
    const result = await (union ?? query)<TradeRow & { part: number }>({
      name: "tradeRecorded.poll",
      sql: `${rows} UNION ALL (SELECT 1 part, ${valueRow("n")} FROM (SELECT count() n FROM ${table} WHERE ${late.join(" AND ")}))`,
      params,
    });
    const inWindow = Number(result.find((r) => r.part === 1)?.trade_id ?? 0);
    let page: { trades: Trade[]; more: boolean };
    if (inWindow <= recent.length) {
      const out = result.filter((r) => r.part === 0).map(TRADES.fromRow);
      page = { trades: out, more: out.length === maxRows };
    } else {
      // Late rows: the window and what follows it read again in one statement, so that they and
      // the rows after the watermark come from one view of the table. A commit that landed
      // between the two branches above can then not split into a late part sent now and a
      // newer part sent after rows it preceded.
      page = await readAgain(wm, inWindow + maxRows);
    }
    watermark = advance(wm, page.trades);
    return page;
  };
  return Object.assign(poll, {
    /** Polls that read the rows after the watermark without counting the late window. */
    countsSkipped: () => countsSkipped,
  });
}

/**
 * A branch of the poll that carries one number (the late window's count, the table's transaction)
 * over `(SELECT <column> …)`: TRADES.select's columns, all NULL but trade_id = the number.
 * (Computed beside the NULLs in one SELECT, QuestDB would group by all of them.)
 */
const valueRow = (column: string) =>
  TRADES.columns
    .map(({ name, type }) =>
      name === "trade_id" ? `cast(${column} AS VARCHAR) trade_id` : `cast(NULL AS ${type}) ${name}`,
    )
    .join(", ");

/**
 * Joins the cohort of tradeRecorded(filter) (one poller per distinct filter) and pushes each new
 * matching trade once, in order, a poll's trades in one call. Returns the function that leaves it.
 */
export function joinTradeRecorded(
  options: { live: LiveQueries; table: string; filter: TradeFilter; lateMs: number },
  push: (trades: readonly Trade[]) => void,
): () => void {
  const { live, table, filter, lateMs } = options;
  const stream = createTradeStream({ query: live.query, union: live.union, table, filter, lateMs });
  let more = false;
  return live.join<Trade[]>(
    {
      key: JSON.stringify(["tradeRecorded", filter], (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
      tables: [table],
      slideMs: 0,
      stream: true,
      ranges: true,
      poll: async ({ txns }) => {
        const applied = txns.applied(table);
        const page = await stream({
          applied,
          earliestWritten: (after, upto) => txns.earliestWritten(table, after, upto),
          loadUpTo: (txn) => txns.loadUpTo(table, txn),
        });
        more = page.more;
        return page.trades.length > 0 ? page.trades : undefined;
      },
      again: () => more,
    },
    { push },
  );
}
