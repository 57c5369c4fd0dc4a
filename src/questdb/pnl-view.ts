// The `trades_pnl_1h` materialized view (issue 13, point 3): created at start-up after the tables and
// refreshed by QuestDB itself after each transaction of `trades` (incrementally: the hours a
// transaction touched, late rows and DEDUP upserts of old rows included).
// https://questdb.com/docs/concepts/materialized-views.md
//
// Per hour, strategy, pair and writer, plain aggregates of the closed trades' PnL (count, Σ, Σ², Σ
// weighted by time, first and last timestamp). The drawdown uses them as a fingerprint of each
// hour: its hourly summaries (which need the trades' order, and QuestDB 9.3.4 refuses window
// functions in a view: "window function on base table is not supported for materialized views")
// are computed once from the table and reused while the hour's fingerprint stays the same
// (src/analytics/drawdown-periods.ts).
import type pg from "pg";
import type { TableNames } from "./tables.ts";

/** The view's period: SAMPLE BY stride and its length in µs. */
export const PNL_VIEW_STRIDE = "1h";
export const PNL_VIEW_PERIOD_US = 3_600_000_000n;

export const pnlViewName = (prefix: string): string => `${prefix}trades_pnl_1h`;

/** Fingerprint columns of an hour's closed trades, over `trades` rows (the view and the fallback read). */
// `weighted` weighs each PnL by its timestamp (mod a prime), so that PnL values moved between
// trades of different times change it even when count, Σ and Σ² stay.
export const PNL_FINGERPRINT =
  "count() n, sum(realized_pnl) total, sum(realized_pnl * realized_pnl) squares, " +
  "sum(realized_pnl * (cast(timestamp AS LONG) % 1000003)) weighted, min(timestamp) first_at, max(timestamp) last_at";

function viewSql(trades: string): string {
  return (
    `SELECT timestamp, strategy, base_token, quote_token, writer, ${PNL_FINGERPRINT} FROM ${trades} ` +
    `WHERE realized_pnl IS NOT NULL SAMPLE BY ${PNL_VIEW_STRIDE}`
  );
}

export interface EnsurePnlViewOptions {
  tables: TableNames;
  /** The view's physical name (pnlViewName). */
  view: string;
  /** RETENTION_DAYS: the view's TTL, as the tables'. */
  retentionDays: number;
  /** Called for each change made (create, full refresh). */
  onChange?: (message: string) => void;
}

/**
 * Creates the view when missing (QuestDB fills it from the table in the background) and starts a
 * full refresh when QuestDB marked it invalid. Until it is valid and caught up with its base
 * table, the drawdown reads its fingerprints from the table instead.
 */
export async function ensurePnlView(pool: pg.Pool, options: EnsurePnlViewOptions): Promise<void> {
  const { tables, view, retentionDays, onChange = () => {} } = options;
  const existing = await pool.query<{ view_status: string }>(
    "SELECT view_status FROM materialized_views() WHERE view_name = $1",
    [view],
  );
  const status = existing.rows[0]?.view_status;
  if (status === undefined) {
    await pool.query(
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} WITH BASE ${tables.trades} REFRESH IMMEDIATE AS (${viewSql(tables.trades)}) ` +
        `PARTITION BY DAY TTL ${retentionDays} DAYS`,
    );
    onChange(`created materialized view ${view}`);
  } else if (status === "invalid") {
    await pool.query(`REFRESH MATERIALIZED VIEW ${view} FULL`);
    onChange(`started a full refresh of the invalid materialized view ${view}`);
  }
}
