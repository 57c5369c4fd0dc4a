// Trade history: a keyset-paginated, filtered read of the trades table. Cursors are
// (timestamp, trade_id), so pages stay correct while new rows arrive; no OFFSET.
import { BadInputError } from "../errors.ts";
import { TRADE_SELECT, type Trade, type TradeRow, tradeFromRow } from "../ingest/trade-record.ts";
import { keyProblem } from "../ingest/validation.ts";
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

/** Longest cursor read: base64url of `<µs>|<128-character tradeId>` is under 200 characters. */
export const MAX_CURSOR_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MICROS = /^-?\d{1,19}$/;

export function encodeCursor(trade: Pick<Trade, "timestamp" | "tradeId">): string {
  return Buffer.from(`${trade.timestamp}|${trade.tradeId}`).toString("base64url");
}

/**
 * Reads a cursor back, refusing anything this API did not make (before any SQL runs): too long,
 * not base64url, no `<µs>|<tradeId>` inside, a time outside the Timestamp range, a bad key.
 */
export function decodeCursor(cursor: string): { timestamp: Micros; tradeId: string } {
  const refuse = () =>
    new BadInputError(
      "after",
      "not a cursor returned by this API; pass pageInfo.endCursor (or an edge's cursor) of an earlier page, or leave after out for the first page",
    );
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw refuse();
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const bar = text.indexOf("|");
  const micros = text.slice(0, bar);
  if (bar < 1 || !MICROS.test(micros)) throw refuse();
  const timestamp = BigInt(micros);
  const tradeId = text.slice(bar + 1);
  if (timestamp < MIN_MICROS || timestamp > MAX_MICROS || keyProblem(tradeId) !== undefined) throw refuse();
  return { timestamp, tradeId };
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

export function queryTrades(
  cache: QueryReader,
  table: string,
  args: { filter: TradeFilter; first: number; after: string | null | undefined; order: SortOrder },
): Promise<TradePage> {
  const params: unknown[] = [];
  const where = tradeWhere(args.filter, params);
  if (args.after) {
    const cursor = decodeCursor(args.after);
    const cmp = args.order === "DESC" ? "<" : ">";
    params.push(formatIsoMicros(cursor.timestamp), cursor.tradeId);
    const ts = `$${params.length - 1}`;
    const id = `$${params.length}`;
    where.push(`(timestamp ${cmp} ${ts} OR (timestamp = ${ts} AND trade_id ${cmp} ${id}))`);
  }
  const sql =
    `SELECT ${TRADE_SELECT} FROM ${table}` +
    (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
    ` ORDER BY timestamp ${args.order}, trade_id ${args.order} LIMIT ${args.first + 1}`;
  return cache.read<TradeRow, TradePage>({
    statement: { name: "trades", sql, params },
    tables: [table],
    map: (result) => {
      const rows = result.slice(0, args.first).map(tradeFromRow);
      return {
        edges: rows.map((node) => ({ cursor: encodeCursor(node), node })),
        hasNextPage: result.length > args.first,
      };
    },
  });
}
