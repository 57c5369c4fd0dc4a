// mevEffectiveness: how well MEV protection works, per calendar bucket and per protection method
// and/or strategy, from mev_metrics (one row per transaction). The priority fees of the linked
// trades (for the net benefit) need a join with trades and run as a second statement, only when
// a client asks for them.
import type { Micros } from "../time.ts";
import { formatIsoMicros } from "../time.ts";
import { checkResultRows, limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, rangeParams, STRIDE, sampleBy, type TimeBucket, type TimeRange } from "./range.ts";
import { fillSeries, type GroupValues, groupCount, groupKey, sortByGroup } from "./series.ts";
import { LINK_WINDOW_MICROS } from "./trade-links.ts";

export const MEV_GROUP_KEYS = ["PROTECTION", "STRATEGY"] as const;
export type MevGroupKey = (typeof MEV_GROUP_KEYS)[number];
const GROUP_COLUMNS: Readonly<Record<MevGroupKey, "protection" | "strategy">> = {
  PROTECTION: "protection",
  STRATEGY: "strategy",
};

export interface MevEffectivenessArgs {
  range: TimeRange;
  bucket: TimeBucket | null;
  groupBy: readonly MevGroupKey[];
}

export interface MevEffectivenessRow {
  bucket: Micros | null;
  groupValues: GroupValues;
  protection: string | null;
  strategy: string | null;
  transactions: number;
  protectedCount: number;
  attacks: number;
  attacksDetected: number;
  landed: number;
  bundles: number;
  bundlesLanded: number;
  tipsLamports: bigint;
  lossAvoided: number;
  opportunities: number;
  expectedProfit: number;
  realizedProfit: number;
}

interface AggregateRow {
  timestamp?: bigint;
  protection?: string | null;
  strategy?: string | null;
  n: bigint;
  protected: bigint | null;
  attacks: bigint | null;
  attacks_detected: bigint | null;
  landed: bigint | null;
  bundles: bigint | null;
  bundles_landed: bigint | null;
  tips: bigint | null;
  loss_avoided: number | null;
  opportunities: bigint | null;
  expected_profit: number | null;
  realized_profit: number | null;
}

// Outcomes a transaction did not land with; SANDWICHED and FRONT_RUN are the attacks counted.
const NOT_LANDED = "outcome NOT IN ('FAILED', 'DROPPED')";
const AGGREGATES = [
  "count() n",
  "sum(CASE WHEN protection <> 'NONE' THEN 1 ELSE 0 END) protected",
  "sum(CASE WHEN outcome IN ('SANDWICHED', 'FRONT_RUN') THEN 1 ELSE 0 END) attacks",
  "sum(CASE WHEN attack_detected THEN 1 ELSE 0 END) attacks_detected",
  `sum(CASE WHEN ${NOT_LANDED} THEN 1 ELSE 0 END) landed`,
  "sum(CASE WHEN protection = 'JITO_BUNDLE' THEN 1 ELSE 0 END) bundles",
  `sum(CASE WHEN protection = 'JITO_BUNDLE' AND ${NOT_LANDED} THEN 1 ELSE 0 END) bundles_landed`,
  "sum(tip_lamports) tips",
  "sum(loss_avoided) loss_avoided",
  // The bot's own opportunities are the rows with an expected profit; a missing realized profit
  // there counts as 0 (the opportunity was not captured).
  "count(expected_profit) opportunities",
  "sum(expected_profit) expected_profit",
  "sum(CASE WHEN expected_profit IS NOT NULL THEN coalesce(realized_profit, 0.0) ELSE 0.0 END) realized_profit",
].join(", ");

export const normalizeMevGroupBy = (groupBy: readonly MevGroupKey[] | null | undefined): MevGroupKey[] =>
  MEV_GROUP_KEYS.filter((key) => groupBy?.includes(key));

const columnsOf = (args: MevEffectivenessArgs) => args.groupBy.map((key) => GROUP_COLUMNS[key]);

function toRow(row: AggregateRow, columns: readonly string[], bucket: Micros | null): MevEffectivenessRow {
  const groupValues = columns.map((column) => (row[column as "protection" | "strategy"] as string | null) ?? null);
  const at = (column: string) => (columns.includes(column) ? (groupValues[columns.indexOf(column)] ?? null) : null);
  const int = (value: bigint | null) => Number(value ?? 0n);
  return {
    bucket,
    groupValues,
    protection: at("protection"),
    strategy: at("strategy"),
    transactions: int(row.n),
    protectedCount: int(row.protected),
    attacks: int(row.attacks),
    attacksDetected: int(row.attacks_detected),
    landed: int(row.landed),
    bundles: int(row.bundles),
    bundlesLanded: int(row.bundles_landed),
    tipsLamports: row.tips ?? 0n,
    lossAvoided: row.loss_avoided ?? 0,
    opportunities: int(row.opportunities),
    expectedProfit: row.expected_profit ?? 0,
    realizedProfit: row.realized_profit ?? 0,
  };
}

function emptyRow(columns: readonly string[], bucket: Micros, groupValues: GroupValues): MevEffectivenessRow {
  const row = { n: 0n } as AggregateRow;
  columns.forEach((column, i) => {
    (row as unknown as Record<string, unknown>)[column] = groupValues[i] ?? null;
  });
  return toRow(row, columns, bucket);
}

function statement(table: string, args: MevEffectivenessArgs, bucketed: boolean) {
  const keys = [...(bucketed ? ["timestamp"] : []), ...columnsOf(args)];
  const sql =
    `SELECT ${[...keys, AGGREGATES].join(", ")} FROM ${table} WHERE timestamp >= $1 AND timestamp < $2` +
    (bucketed && args.bucket ? ` ${sampleBy(args.bucket)}` : "");
  return {
    name: bucketed ? "mevEffectiveness.buckets" : "mevEffectiveness.totals",
    sql,
    params: rangeParams(args.range),
  };
}

/** One row per group with transactions in the range, ungrouped too (empty: []); LIMIT max + 1. */
export async function mevTotals(
  cache: QueryReader,
  table: string,
  args: MevEffectivenessArgs,
  max: number,
): Promise<MevEffectivenessRow[]> {
  checkRange(args.range, null);
  const columns = columnsOf(args);
  const totals = await cache.read<AggregateRow, MevEffectivenessRow[] | null>({
    statement: limited(statement(table, args, false), max + 1),
    tables: [table],
    map: unlessOver(max, (rows) =>
      sortByGroup(rows.map((row) => toRow(row, columns, null)).filter((row) => row.transactions > 0)),
    ),
  });
  if (!totals) throw tooManyRows(max);
  return totals;
}

/**
 * One row per bucket and group, empty buckets included; [] when no bucket was asked for. The
 * non-empty (bucket, group) rows are read with LIMIT max + 1, and buckets × groups over `max` is
 * refused before the series is filled (as tradeStats.buckets).
 */
export async function mevBuckets(
  cache: QueryReader,
  table: string,
  args: MevEffectivenessArgs,
  max: number,
): Promise<MevEffectivenessRow[]> {
  const starts = checkRange(args.range, args.bucket);
  if (!args.bucket) return [];
  checkResultRows(max, starts.length);
  const columns = columnsOf(args);
  const found = await cache.read<AggregateRow, MevEffectivenessRow[] | null>({
    statement: limited(statement(table, args, true), max + 1),
    tables: [table],
    map: unlessOver(max, (rows) => rows.map((row) => toRow(row, columns, row.timestamp ?? null))),
  });
  if (!found) throw tooManyRows(max);
  checkResultRows(max, starts.length * Math.max(1, groupCount(found)));
  return fillSeries(found, starts, (bucket, values) => emptyRow(columns, bucket, values));
}

export const mevRowKey = (bucket: Micros | null, values: GroupValues) => `${bucket}|${groupKey(values)}`;

/**
 * Σ priority_fee of the trades linked to the MEV rows, per (bucket, group) key. Trades are looked
 * for within LINK_WINDOW of the range. The MEV rows are the join's build side (the right one),
 * the trades in the window its probe side.
 */
export async function mevPriorityFees(
  cache: QueryReader,
  tables: { mev: string; trades: string },
  args: MevEffectivenessArgs,
  bucketed: boolean,
  max: number,
): Promise<Map<string, bigint>> {
  const columns = columnsOf(args);
  const keys = [
    ...(bucketed && args.bucket ? [`timestamp_floor('${STRIDE[args.bucket]}', m.timestamp) timestamp`] : []),
    ...columns.map((column) => `m.${column} ${column}`),
  ];
  const sql =
    `SELECT ${[...keys, "sum(t.priority_fee) priority_fees"].join(", ")} ` +
    `FROM (SELECT trade_id, writer, priority_fee FROM ${tables.trades} WHERE timestamp >= $3 AND timestamp < $4) t ` +
    `JOIN (SELECT timestamp, trade_id, writer, protection, strategy FROM ${tables.mev} WHERE timestamp >= $1 AND timestamp < $2) m ` +
    // Trade ids are unique per writer; rows without a writer (NULL) match each other.
    "ON t.trade_id = m.trade_id AND t.writer = m.writer";
  const params = [
    ...rangeParams(args.range),
    formatIsoMicros(args.range.from - LINK_WINDOW_MICROS),
    formatIsoMicros(args.range.to + LINK_WINDOW_MICROS),
  ];
  // One row per non-empty (bucket, group): no more than the answer's rows, which were bounded.
  const fees = await cache.read<AggregateRow & { priority_fees: bigint | null }, Map<string, bigint> | null>({
    statement: limited(
      { name: bucketed ? "mevEffectiveness.priorityFees.buckets" : "mevEffectiveness.priorityFees", sql, params },
      max + 1,
    ),
    tables: [tables.trades, tables.mev],
    map: unlessOver(
      max,
      (rows) =>
        new Map(
          rows.map((row) => [
            mevRowKey(
              bucketed ? (row.timestamp ?? null) : null,
              columns.map((column) => (row[column] as string | null) ?? null),
            ),
            row.priority_fees ?? 0n,
          ]),
        ),
    ),
  });
  if (!fees) throw tooManyRows(max);
  return fees;
}
