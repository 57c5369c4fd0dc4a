// Trade history: a keyset-paginated, filtered read of the trades table. Cursors are
// (timestamp, trade_id, writer), a row's identity, so pages stay correct while new rows arrive;
// no OFFSET.
import { BadInputError } from "../errors.ts";
import { keyProblem } from "../ingest/validation.ts";
import { TRADES, type Trade, type TradeRow } from "../questdb/trade-table.ts";
import { formatIsoMicros, MAX_MICROS, MIN_MICROS, type Micros } from "../time.ts";
import type { QueryReader } from "./cache.ts";

/** Inclusive bounds; either may be absent. */
export interface Bounds<T> {
  min?: T | null | undefined;
  max?: T | null | undefined;
}

export interface TradeFilter {
  from?: Micros | null | undefined;
  to?: Micros | null | undefined;
  baseToken?: string | null | undefined;
  quoteToken?: string | null | undefined;
  action?: string | null | undefined;
  strategy?: string | null | undefined;
  venue?: string | null | undefined;
  mevStatus?: readonly string[] | null | undefined;
  tradeId?: string | null | undefined;
  signature?: string | null | undefined;
  /** The name of the API key that wrote the trade. */
  writer?: string | null | undefined;
  /** Both tokens of a pair. */
  pair?: { baseToken: string; quoteToken: string } | null | undefined;
  actualSlippage?: Bounds<number> | null | undefined;
  expectedSlippage?: Bounds<number> | null | undefined;
  /** Lamports. */
  transactionFee?: Bounds<bigint> | null | undefined;
  priorityFee?: Bounds<bigint> | null | undefined;
  /** transaction_fee + priority_fee, lamports. */
  totalFee?: Bounds<bigint> | null | undefined;
}

export type SortOrder = "ASC" | "DESC";

export interface TradePage {
  edges: { cursor: string; node: Trade }[];
  hasNextPage: boolean;
}

/** Longest cursor read: base64url of `["<µs>","<tradeId, ≤ 128 characters, escaped>","<writer>"]` is under 512 characters. */
export const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MICROS = /^-?\d{1,19}$/;

/**
 * The writer as the last sort key of a trade's identity (timestamp, trade_id, writer). Rows
 * written before writers were recorded have NULL, compared as '' (before every name): the same
 * expression in ORDER BY and in keyset comparisons, and `writerKey` in TypeScript.
 */
export const WRITER_KEY = "coalesce(writer, '')";
export const writerKey = (writer: string | null): string => writer ?? "";

/** A position in (timestamp, trade_id, writer) order. */
export interface TradePosition {
  timestamp: Micros;
  tradeId: string;
  writer: string;
}

/** Orders positions as `ORDER BY timestamp, trade_id, WRITER_KEY` does (names are compared by code unit). */
export function comparePositions(a: TradePosition, b: TradePosition): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.tradeId !== b.tradeId) return a.tradeId < b.tradeId ? -1 : 1;
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1;
  return 0;
}

export const positionOf = (trade: Pick<Trade, "timestamp" | "tradeId" | "writer">): TradePosition => ({
  timestamp: trade.timestamp,
  tradeId: trade.tradeId,
  writer: writerKey(trade.writer),
});

/**
 * `(timestamp, trade_id, writer) <op> ($t, $id, $w)` in SQL, for keyset reads; `op` is `<`, `>`
 * (strictly after or before) or `<=`.
 */
export function positionWhere(op: "<" | ">" | "<=", position: TradePosition, params: unknown[]): string {
  params.push(formatIsoMicros(position.timestamp), position.tradeId, position.writer);
  const [ts, id, w] = [params.length - 2, params.length - 1, params.length].map((i) => `$${i}`);
  const strict = op === "<=" ? "<" : op;
  // The plain bound on the designated timestamp comes first: QuestDB turns it into an interval
  // scan, where the OR alone would make it read the whole table (every poll of a live stream,
  // every page after a cursor).
  return (
    `timestamp ${op === ">" ? ">=" : "<="} ${ts} AND (timestamp ${strict} ${ts} OR (timestamp = ${ts} AND ` +
    `(trade_id ${strict} ${id} OR (trade_id = ${id} AND ${WRITER_KEY} ${op} ${w}))))`
  );
}

export function encodeCursor(trade: Pick<Trade, "timestamp" | "tradeId" | "writer">): string {
  return Buffer.from(JSON.stringify([String(trade.timestamp), trade.tradeId, writerKey(trade.writer)])).toString(
    "base64url",
  );
}

/**
 * Reads a cursor back, refusing anything this API did not make (before any SQL runs): too long,
 * not base64url, not `[µs, tradeId, writer]` (or the older `<µs>|<tradeId>`), a time outside the
 * Timestamp range, a bad key or writer name.
 */
export function decodeCursor(cursor: string): TradePosition {
  const refuse = () =>
    new BadInputError(
      "after",
      "not a cursor returned by this API; pass pageInfo.endCursor (or an edge's cursor) of an earlier page, or leave after out for the first page",
    );
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw refuse();
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  let position: TradePosition | undefined;
  if (text.startsWith("[")) {
    const [micros, tradeId, writer, extra] = parseJsonArray(text);
    if (typeof micros === "string" && MICROS.test(micros) && typeof tradeId === "string") {
      if (typeof writer === "string" && writer.length <= 64 && extra === undefined) {
        position = { timestamp: BigInt(micros), tradeId, writer };
      }
    }
  } else {
    // A cursor of a version before writers (`timestamp|trade_id`) pointed at a row without one.
    const bar = text.indexOf("|");
    const micros = text.slice(0, bar);
    if (bar >= 1 && MICROS.test(micros))
      position = { timestamp: BigInt(micros), tradeId: text.slice(bar + 1), writer: "" };
  }
  if (
    !position ||
    position.timestamp < MIN_MICROS ||
    position.timestamp > MAX_MICROS ||
    keyProblem(position.tradeId) !== undefined
  ) {
    throw refuse();
  }
  return position;
}

function parseJsonArray(text: string): unknown[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/** Range filters: GraphQL field → the SQL expression it bounds (a closed set, no user strings). */
const RANGES = {
  actualSlippage: "actual_slippage",
  expectedSlippage: "expected_slippage",
  transactionFee: "transaction_fee",
  priorityFee: "priority_fee",
  totalFee: "(transaction_fee + priority_fee)",
} as const;

/**
 * Builds `WHERE` from a filter with positional parameters; column names are literals here.
 * Throws BadInputError for a range whose min is above its max.
 */
export function tradeWhere(filter: TradeFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  for (const [field, expression] of Object.entries(RANGES) as [keyof typeof RANGES, string][]) {
    const bounds = filter[field];
    if (bounds == null) continue;
    const { min, max } = bounds;
    if (min != null && max != null && min > max) {
      throw new BadInputError(`filter.${field}`, `min (${min}) is greater than max (${max})`);
    }
    // LONG bounds travel as decimal strings so no digit is lost; QuestDB casts them.
    if (min != null) add((p) => `${expression} >= ${p}`, typeof min === "bigint" ? min.toString() : min);
    if (max != null) add((p) => `${expression} <= ${p}`, typeof max === "bigint" ? max.toString() : max);
  }
  if (filter.pair != null) {
    add((p) => `base_token = ${p}`, filter.pair.baseToken);
    add((p) => `quote_token = ${p}`, filter.pair.quoteToken);
  }
  if (filter.from != null) add((p) => `timestamp >= ${p}`, formatIsoMicros(filter.from));
  if (filter.to != null) add((p) => `timestamp < ${p}`, formatIsoMicros(filter.to));
  if (filter.baseToken != null) add((p) => `base_token = ${p}`, filter.baseToken);
  if (filter.quoteToken != null) add((p) => `quote_token = ${p}`, filter.quoteToken);
  if (filter.action != null) add((p) => `action = ${p}`, filter.action);
  if (filter.strategy != null) add((p) => `strategy = ${p}`, filter.strategy);
  if (filter.venue != null) add((p) => `venue = ${p}`, filter.venue);
  if (filter.tradeId != null) add((p) => `trade_id = ${p}`, filter.tradeId);
  if (filter.signature != null) add((p) => `signature = ${p}`, filter.signature);
  if (filter.writer != null) add((p) => `writer = ${p}`, filter.writer);
  if (filter.mevStatus != null) {
    if (filter.mevStatus.length === 0) where.push("false");
    else {
      const placeholders = filter.mevStatus.map((status) => {
        params.push(status);
        return `$${params.length}`;
      });
      where.push(`mev_status IN (${placeholders.join(", ")})`);
    }
  }
  return where;
}

export async function queryTrades(
  cache: QueryReader,
  table: string,
  args: { filter: TradeFilter; first: number; after: string | null | undefined; order: SortOrder },
): Promise<TradePage> {
  const params: unknown[] = [];
  const where = tradeWhere(args.filter, params);
  const after = args.after ? decodeCursor(args.after) : undefined;
  if (after) where.push(positionWhere(args.order === "DESC" ? "<" : ">", after, params));
  const descending = args.order === "DESC";
  // The timestamps the page can hold, [low, high): the filter's range, cut at the cursor (rows at
  // its timestamp with a later key included).
  let low = args.filter.from ?? MIN_MICROS;
  let high = args.filter.to ?? MAX_MICROS + 1n;
  if (after && !descending && after.timestamp > low) low = after.timestamp;
  if (after && descending && after.timestamp + 1n < high) high = after.timestamp + 1n;
  // Each statement is cached with the range its answer depends on, so that a write elsewhere (a
  // bot's trade of the current second below a page of history) keeps it: the edge, once full,
  // only on the rows up to it; the page on the rows between its bound and the edge.
  const upTo = (edge: bigint) => (descending ? { from: edge, to: high } : { from: low, to: edge + 1n });
  const filtered = `FROM ${table}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}`;
  // Ordering by (timestamp, trade_id, writer) makes QuestDB read every matching row to keep the
  // top n: a first page over a month of trades cost hundreds of ms. Ordered by the designated
  // timestamp alone, it reads backwards (or forwards) and stops after n rows. So: first the
  // timestamp of the (n+1)-th matching row, then the page among the rows at or past it (which
  // hold the whole page, ties at that timestamp included).
  const edge = await cache.read<{ timestamp: bigint }, bigint | null>({
    statement: {
      name: "trades.edge",
      sql: `SELECT timestamp ${filtered} ORDER BY timestamp ${args.order} LIMIT ${args.first + 1}`,
      params,
    },
    tables: [table],
    range: { from: low, to: high },
    rangeOf: (rows) => {
      const last = rows.at(-1);
      return rows.length > args.first && last ? upTo(last.timestamp) : undefined;
    },
    map: (rows) => rows.at(-1)?.timestamp ?? null,
  });
  if (edge === null) return { edges: [], hasNextPage: false };
  const pageParams = [...params, formatIsoMicros(edge)];
  const sql =
    `SELECT ${TRADES.select} ${filtered}${where.length > 0 ? " AND" : " WHERE"} timestamp ${args.order === "DESC" ? ">=" : "<="} $${pageParams.length}` +
    ` ORDER BY timestamp ${args.order}, trade_id ${args.order}, ${WRITER_KEY} ${args.order} LIMIT ${args.first + 1}`;
  return cache.read<TradeRow, TradePage>({
    statement: { name: "trades", sql, params: pageParams },
    tables: [table],
    range: upTo(edge),
    map: (result) => {
      const rows = result.slice(0, args.first).map(TRADES.fromRow);
      return {
        edges: rows.map((node) => ({ cursor: encodeCursor(node), node })),
        hasNextPage: result.length > args.first,
      };
    },
  });
}
