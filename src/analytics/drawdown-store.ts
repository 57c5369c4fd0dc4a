// The drawdown's hour summaries as rows (drawdown-periods.ts): the SQL row of a piece's summary
// (computed, or stored), and the drawdown_hours table every instance reads and writes them through,
// under a scope naming the request's groupBy and filters.
import { formatIsoMicros, type Micros } from "../time.ts";
import type { QueryReader } from "./cache.ts";
import type { DrawdownSummary } from "./drawdown.ts";
import type { TimeRange } from "./range.ts";
import { type GroupValues, groupKey } from "./series.ts";
import type { SqlRunner } from "./sql.ts";
import {
  groupColumns,
  groupValuesOf,
  type PerformanceColumn,
  type StrategyPerformanceArgs,
  selectColumns,
} from "./strategy-performance.ts";

const iso = formatIsoMicros;

/** A piece of a group's series: its closed trades in one hour (all of it, or the part in the range). */
export interface Piece {
  start: Micros;
  range: TimeRange;
  values: GroupValues;
  summary: DrawdownSummary;
}

export type GroupColumns = Partial<Record<PerformanceColumn, string | null>>;

/** A piece's summary as the SQL gives it (computed, or stored in drawdown_hours). */
export interface SummaryRow extends GroupColumns {
  bucket: Micros;
  n: bigint | string;
  total: number;
  top: number;
  top_at: Micros | null;
  low: number;
  low_n: bigint | string;
  low_at: Micros | null;
  low_high: number;
  low_high_at: Micros | null;
  low_after: number | null;
  max_drop: number;
  drop_n: bigint | string;
  drop_at: Micros | null;
  drop_high: number;
  drop_high_at: Micros | null;
  drop_after: number | null;
}

export const SUMMARY_COLUMNS =
  "n, total, top, top_at, low, low_n, low_at, low_high, low_high_at, low_after, max_drop, drop_n, drop_at, drop_high, drop_high_at, drop_after";

const orNegInf = (x: number | null) => x ?? Number.NEGATIVE_INFINITY;

export function toSummary(row: SummaryRow): DrawdownSummary {
  return {
    count: Number(row.n),
    sum: row.total,
    top: row.top,
    topAt: row.top_at,
    low: row.low,
    lowRow: {
      n: Number(row.low_n),
      at: row.low_at,
      high: row.low_high,
      highAt: row.low_high_at,
      after: orNegInf(row.low_after),
    },
    drop: row.max_drop,
    dropRow: {
      n: Number(row.drop_n),
      at: row.drop_at,
      high: row.drop_high,
      highAt: row.drop_high_at,
      after: orNegInf(row.drop_after),
    },
  };
}

export const pieceKey = (start: Micros, values: GroupValues) => `${start}|${groupKey(values)}`;

/** The scope of a request's hour summaries: what else than the hour and group they depend on. */
export function scopeOf(args: StrategyPerformanceArgs): string {
  // Grouped by strategy, a strategy filter only picks groups: the summaries are the unfiltered ones.
  const strategy = args.groupBy.includes("STRATEGY") ? null : args.strategy;
  return JSON.stringify([args.groupBy, strategy, args.writer]);
}

export type Stored = Map<string, { fingerprint: string; summary: DrawdownSummary }>;

/** The summaries other requests (of any instance) stored for the whole hours of `span`; null past `max`. */
export async function storedPieces(
  reads: QueryReader,
  /** The drawdown_hours table. */
  stored: string,
  args: StrategyPerformanceArgs,
  span: TimeRange,
  max: number,
): Promise<Stored | null> {
  const columns = groupColumns(args.groupBy);
  const params: unknown[] = [iso(span.from), iso(span.to), scopeOf(args)];
  let filter = "timestamp >= $1 AND timestamp < $2 AND scope = $3";
  if (args.strategy !== null && columns.includes("strategy")) {
    params.push(args.strategy);
    filter += ` AND strategy = $${params.length}`;
  }
  const sql = `SELECT timestamp bucket, ${selectColumns(columns)}fingerprint, ${SUMMARY_COLUMNS} FROM ${stored} WHERE ${filter} LIMIT ${max + 1}`;
  return reads.read<SummaryRow & { fingerprint: string }, Stored | null>({
    statement: { name: "strategyPerformance.drawdownStored", sql, params },
    tables: [stored],
    range: span,
    map: (rows) =>
      rows.length > max
        ? null
        : new Map(
            rows.map((row) => [
              pieceKey(row.bucket, groupValuesOf(row, columns)),
              { fingerprint: row.fingerprint, summary: toSummary(row) },
            ]),
          ),
  });
}

const STORE_COLUMNS = `timestamp, scope, strategy, base_token, quote_token, fingerprint, ${SUMMARY_COLUMNS}`;
const STORE_WIDTH = 22;
/** Rows per INSERT statement. */
const STORE_BATCH = 25;
const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);
const isoOrNull = (t: Micros | null) => (t === null ? null : iso(t));

/**
 * Stores computed hour summaries for every instance (a DEDUP UPSERT on hour, scope and group: the
 * last one computed wins, each consistent with its fingerprint). Not awaited by the request: a
 * failed write only means the hour is computed again elsewhere.
 */
export function storePieces(
  sql: SqlRunner,
  table: string,
  args: StrategyPerformanceArgs,
  pieces: readonly (Piece & { fingerprint: string })[],
) {
  const columns = groupColumns(args.groupBy);
  const scope = scopeOf(args);
  const value = (p: Piece, column: PerformanceColumn) => {
    const index = columns.indexOf(column);
    return index < 0 ? null : (p.values[index] ?? null);
  };
  for (let i = 0; i < pieces.length; i += STORE_BATCH) {
    const params: unknown[] = [];
    const values = pieces.slice(i, i + STORE_BATCH).map((p) => {
      const s = p.summary;
      const at = params.length;
      params.push(iso(p.start), scope, value(p, "strategy"), value(p, "base_token"), value(p, "quote_token"));
      params.push(p.fingerprint, s.count, s.sum, s.top, isoOrNull(s.topAt), s.low);
      for (const row of [s.lowRow, s.dropRow]) {
        if (row === s.dropRow) params.push(s.drop);
        params.push(row.n, isoOrNull(row.at), row.high, isoOrNull(row.highAt), finiteOrNull(row.after));
      }
      return `(${Array.from({ length: STORE_WIDTH }, (_, k) => `$${at + k + 1}`).join(", ")})`;
    });
    const statement = {
      name: "strategyPerformance.drawdownStore",
      sql: `INSERT INTO ${table} (${STORE_COLUMNS}) VALUES ${values.join(", ")}`,
      params,
    };
    sql.query(statement).catch(() => undefined);
  }
}
