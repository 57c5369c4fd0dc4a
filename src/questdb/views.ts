// The rollups (issue 13): materialized views that QuestDB keeps by itself, created and verified at
// start-up beside the tables. Each holds, per hour and per combination of its dimensions, only
// mergeable figures (counts, sums, sums of products, min/max, first/last with their times, and
// histogram bin counts), so any range made of whole hours is answered from the view by merging
// rows: sum of sums, min of mins, the first of the earliest. QuestDB refreshes a view
// incrementally after each transaction of its base table (the hours that transaction touched:
// late rows and DEDUP upserts of old rows included). How queries combine views with the raw
// tables: src/analytics/rollup.ts; docs/queries.md ("Rollups").
// https://questdb.com/docs/concepts/materialized-views/
import type pg from "pg";
import { attackedSql, attackPartSql, landedSql } from "../analytics/mev-vocabulary.ts";
import type { TableKey } from "./descriptor.ts";
import { type TableNames, waitForWalApply } from "./tables.ts";

/** How the view's rows of one measure merge into one figure. */
export type Merge = "sum" | "min" | "max" | "first" | "last";

export interface Measure {
  /** Column name in the view (and alias in raw statements). */
  readonly alias: string;
  /** The aggregate over base-table rows. */
  readonly sql: string;
  readonly merge: Merge;
  /** For first/last: the view column holding the time of that row (min/max timestamp). */
  readonly at?: string;
}

export type ViewKey = "trades" | "latency" | "mev" | "pnl";

export interface ViewSpec {
  readonly key: ViewKey;
  /** Logical name; the physical name is the table prefix plus this. */
  readonly name: string;
  readonly base: TableKey;
  /** Columns grouped by (besides the hour): every group key and filter a query may use. */
  readonly dims: readonly { readonly name: string; readonly sql?: string }[];
  readonly measures: readonly Measure[];
  /** Only the base rows that pass this condition. */
  readonly where?: string;
  /**
   * `period`: an hour enters the view once it is over (queries read the open hour from the
   * table); `immediate`: every transaction refreshes the hours it touched, the open one too.
   */
  readonly refresh: "period" | "immediate";
}

/** The views' grain: every view is SAMPLE BY this stride, so whole hours come from views. */
export const VIEW_STRIDE = "1h";
export const VIEW_GRAIN_US = 3_600_000_000n;

const m = (alias: string, sql: string, merge: Merge = "sum", at?: string): Measure =>
  at ? { alias, sql, merge, at } : { alias, sql, merge };
const dim = (name: string, sql?: string) => (sql ? { name, sql } : { name });
/** Σ of 1 where the condition holds (a count that merges by summing). */
export const countWhere = (condition: string) => `sum(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;

export const TRADE_MEASURES: readonly Measure[] = [
  m("trades", "count()"),
  m("closed", "count(realized_pnl)"),
  m("base_volume", "sum(base_amount)"),
  m("quote_volume", "sum(quote_amount)"),
  m("notional", "sum(executed_price * base_amount)"),
  m("min_price", "min(executed_price)", "min"),
  m("max_price", "max(executed_price)", "max"),
  m("first_at", "min(timestamp)", "min"),
  m("last_at", "max(timestamp)", "max"),
  m("first_price", "first(executed_price)", "first", "first_at"),
  m("last_price", "last(executed_price)", "last", "last_at"),
  m("transaction_fees", "sum(transaction_fee)"),
  m("priority_fees", "sum(priority_fee)"),
  m("transfer_fees", "sum(transfer_fees)"),
  m("slippage_sum", "sum(actual_slippage)"),
  m("slippage_error_sum", "sum(actual_slippage - expected_slippage)"),
  m("over_expected", countWhere("actual_slippage > expected_slippage")),
  m("pnl", "sum(realized_pnl)"),
  m("pnl_squares", "sum(realized_pnl * realized_pnl)"),
  m("wins", countWhere("realized_pnl > 0")),
  m("losses", countWhere("realized_pnl < 0")),
  m("gross_profit", "sum(CASE WHEN realized_pnl > 0 THEN realized_pnl ELSE 0.0 END)"),
  m("gross_loss", "sum(CASE WHEN realized_pnl < 0 THEN realized_pnl ELSE 0.0 END)"),
];

/**
 * Latency histogram bins: floor(ln(µs) × 100) (analytics/histogram.ts), as an INT so the view
 * groups by it; 0 µs has no logarithm and falls in the NULL bin.
 */
export const LATENCY_BIN = "cast(floor(ln(latency_us) * 100) AS INT)";

export const LATENCY_MEASURES: readonly Measure[] = [
  m("n", "count()"),
  m("lo", "min(latency_us)", "min"),
  m("hi", "max(latency_us)", "max"),
  m("total", "sum(latency_us)"),
];

/**
 * Fingerprint of an hour's closed trades: count, Σ, Σ², Σ weighted by time (so PnL moved between
 * trades of different times changes it even when count, Σ and Σ² stay), first and last time.
 */
export const PNL_MEASURES: readonly Measure[] = [
  m("n", "count()"),
  m("total", "sum(realized_pnl)"),
  m("squares", "sum(realized_pnl * realized_pnl)"),
  m("weighted", "sum(realized_pnl * (cast(timestamp AS LONG) % 1000003))"),
  m("first_at", "min(timestamp)", "min"),
  m("last_at", "max(timestamp)", "max"),
];

// Attacked, its parts and landed come from the shared vocabulary (mev-vocabulary.ts).
const LANDED = landedSql();
const LANDED_BUNDLE = `protection = 'JITO_BUNDLE' AND ${LANDED}`;
const FLOORED_BUNDLE = `${LANDED_BUNDLE} AND tip_floor_lamports IS NOT NULL`;
const SLOTS = `${LANDED} AND slots_to_land IS NOT NULL`;
// Long sums with 0 (a LONG literal) outside the condition, so the column keeps its type.
const longSum = (condition: string, value: string) => `sum(CASE WHEN ${condition} THEN ${value} ELSE 0L END)`;

/** mevEffectiveness's figures: every one a sum, so the view's rows merge by summing. */
export const MEV_MEASURES: readonly Measure[] = [
  m("n", "count()"),
  m("protected", countWhere("protection <> 'NONE'")),
  m("attacks", countWhere(attackedSql("outcome"))),
  m("sandwiched", countWhere(attackPartSql("sandwiched", "outcome"))),
  m("front_run", countWhere(attackPartSql("frontRun", "outcome"))),
  m("back_run", countWhere(attackPartSql("backRun", "outcome"))),
  m("attacks_detected", countWhere("attack_detected")),
  m("landed", countWhere(LANDED)),
  // Slots to land of the landed transactions that recorded it, in the buckets 0, 1, 2 and 3+.
  m("slots_recorded", countWhere(SLOTS)),
  m("slots_0", countWhere(`${SLOTS} AND slots_to_land = 0`)),
  m("slots_1", countWhere(`${SLOTS} AND slots_to_land = 1`)),
  m("slots_2", countWhere(`${SLOTS} AND slots_to_land = 2`)),
  m("slots_3", countWhere(`${SLOTS} AND slots_to_land >= 3`)),
  m("bundles", countWhere("protection = 'JITO_BUNDLE'")),
  m("bundles_landed", countWhere(LANDED_BUNDLE)),
  m("tips", "sum(tip_lamports)"),
  m("landed_bundle_tips", longSum(LANDED_BUNDLE, "tip_lamports")),
  m("floored_bundles", countWhere(FLOORED_BUNDLE)),
  m("tip_over_floor", longSum(FLOORED_BUNDLE, "tip_lamports - tip_floor_lamports")),
  m("floored_tips", longSum(FLOORED_BUNDLE, "tip_lamports")),
  m("floors", longSum(FLOORED_BUNDLE, "tip_floor_lamports")),
  m("loss_avoided", "sum(loss_avoided)"),
  // The bot's own opportunities are the rows with an expected profit; a missing realized profit
  // there counts as 0 (the opportunity was not captured).
  m("opportunities", "count(expected_profit)"),
  m("expected_profit", "sum(expected_profit)"),
  m("realized_profit", "sum(CASE WHEN expected_profit IS NOT NULL THEN coalesce(realized_profit, 0.0) ELSE 0.0 END)"),
];

export const VIEWS: readonly ViewSpec[] = [
  {
    key: "trades",
    name: "trades_1h",
    base: "trades",
    dims: ["base_token", "quote_token", "strategy", "action", "mev_status", "venue", "writer"].map((d) => dim(d)),
    measures: TRADE_MEASURES,
    refresh: "period",
  },
  {
    key: "latency",
    name: "latency_metrics_1h",
    base: "latency_metrics",
    dims: [dim("stage"), dim("strategy"), dim("k", LATENCY_BIN)],
    measures: LATENCY_MEASURES,
    refresh: "period",
  },
  {
    key: "mev",
    name: "mev_metrics_1h",
    base: "mev_metrics",
    dims: [dim("protection"), dim("strategy"), dim("venue")],
    measures: MEV_MEASURES,
    refresh: "period",
  },
  {
    // The drawdown's fingerprint of each hour's closed trades (analytics/drawdown-periods.ts): its
    // hourly summaries need the trades' order (QuestDB 9.3.4 refuses window functions in a view),
    // so they are computed from the table and reused while the hour's fingerprint stays the same.
    // A period view as the others: the open hour's fingerprint is read from the table, as the
    // open hour's summary always is. (Refreshed at every commit, QuestDB re-aggregated the whole
    // open hour each time: 7 % of its CPU in bench:live, and growing with the hour.)
    key: "pnl",
    name: "trades_pnl_1h",
    base: "trades",
    dims: ["strategy", "base_token", "quote_token", "writer"].map((d) => dim(d)),
    measures: PNL_MEASURES,
    where: "realized_pnl IS NOT NULL",
    refresh: "period",
  },
];

export type ViewNames = Readonly<Record<ViewKey, string>>;

export function viewNames(prefix: string): ViewNames {
  const names = {} as Record<ViewKey, string>;
  for (const view of VIEWS) names[view.key] = `${prefix}${view.name}`;
  return names;
}

/** The view's SELECT over its base table: one row per hour and combination of dims. */
export function viewSelect(spec: ViewSpec, base: string): string {
  const columns = [
    "timestamp",
    ...spec.dims.map((d) => (d.sql ? `${d.sql} ${d.name}` : d.name)),
    ...spec.measures.map((measure) => `${measure.sql} ${measure.alias}`),
  ];
  const where = spec.where ? ` WHERE ${spec.where}` : "";
  return `SELECT ${columns.join(", ")} FROM ${base}${where} SAMPLE BY ${VIEW_STRIDE}`;
}

export interface EnsureViewsOptions {
  tables: TableNames;
  views: ViewNames;
  retentionDays: number;
  onChange?: (message: string) => void;
}

interface ViewRow {
  view_name: string;
  view_sql: string;
  view_status: string;
  base_table_name: string;
  refresh_type: string;
  period_length_unit: string | null;
}

const TTL_UNIT_DAYS: Record<string, number> = { HOUR: 1 / 24, DAY: 1, WEEK: 7 };

/** QuestDB keeps the view's SQL as written; compared without differences of spacing. */
const normalize = (sql: string) => sql.replace(/\s+/g, " ").trim().toLowerCase();

/**
 * Creates the views that are missing, re-creates a view whose definition differs from this
 * version's (an upgrade that added a measure), and starts a full refresh of a view QuestDB marked
 * invalid. A new view is filled from its base table in the background; until it has caught up,
 * queries read the base table (analytics/rollup.ts). Running it twice changes nothing.
 */
export async function ensureViews(pool: pg.Pool, options: EnsureViewsOptions): Promise<void> {
  const { tables, views, retentionDays, onChange = () => {} } = options;
  const existing = await pool.query<ViewRow>(
    "SELECT view_name, view_sql, view_status, base_table_name, refresh_type, period_length_unit FROM materialized_views()",
  );
  const byName = new Map(existing.rows.map((row) => [row.view_name, row]));
  const altered: string[] = [];
  for (const spec of VIEWS) {
    const name = views[spec.key];
    const base = tables[spec.base];
    const select = viewSelect(spec, base);
    const found = byName.get(name);
    const differs = (view: ViewRow) =>
      normalize(view.view_sql) !== normalize(select) ||
      view.base_table_name !== base ||
      view.refresh_type !== "immediate" ||
      (view.period_length_unit === "HOUR") !== (spec.refresh === "period");
    if (found && differs(found)) {
      await pool.query(`DROP MATERIALIZED VIEW IF EXISTS ${name}`);
      onChange(`dropped materialized view ${name}: its definition differs from this version's`);
    } else if (found) {
      if (found.view_status === "invalid") {
        await pool.query(`REFRESH MATERIALIZED VIEW ${name} FULL`);
        onChange(`started a full refresh of the invalid materialized view ${name}`);
      }
      const ttl = await pool.query<{ ttlValue: number; ttlUnit: string }>(
        "SELECT ttlValue, ttlUnit FROM tables() WHERE table_name = $1",
        [name],
      );
      const row = ttl.rows[0];
      const days = row ? (row.ttlValue === 0 ? 0 : row.ttlValue * (TTL_UNIT_DAYS[row.ttlUnit] ?? Number.NaN)) : 0;
      if (days !== retentionDays) {
        await pool.query(`ALTER MATERIALIZED VIEW ${name} SET TTL ${retentionDays} DAYS`);
        onChange(`ALTER MATERIALIZED VIEW ${name} SET TTL ${retentionDays} DAYS`);
        altered.push(name);
      }
      continue;
    }
    // A period view: an hour enters the view once it is over (one scan of each hour, however
    // many transactions bots write into it meanwhile; queries read the open hour from the table),
    // and a late row or an upsert into an earlier hour refreshes that hour at once. TTL as the
    // tables': a view keeps no hour its base table has dropped.
    const ttl = retentionDays > 0 ? ` TTL ${retentionDays} DAYS` : "";
    const period = spec.refresh === "period" ? " PERIOD (SAMPLE BY INTERVAL)" : "";
    await pool.query(
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} WITH BASE ${base} REFRESH IMMEDIATE${period} ` +
        `AS (${select}) PARTITION BY DAY${ttl}`,
    );
    onChange(`created materialized view ${name}`);
  }
  // ALTERs are applied asynchronously (views are WAL tables): done when they are visible.
  if (altered.length > 0) await waitForWalApply(pool, altered);
}
