// mevEffectiveness: how well MEV protection works, per calendar bucket and per protection method,
// strategy and/or venue, from mev_metrics (one row per transaction). The figures of the linked
// trades (mev-links.ts), the tip percentiles and the money per currency (mev-breakdowns.ts) run
// statements of their own, only when a client asks for them.
import type { Micros } from "../time.ts";
import { checkResultRows, limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { attackedSql, attackPartSql, landedSql } from "./mev-vocabulary.ts";
import { checkRange, rangeParams, STRIDE, sampleBy, type TimeBucket, type TimeRange } from "./range.ts";
import { fillSeries, type GroupValues, groupCount, groupKey, sortByGroup } from "./series.ts";

export const MEV_GROUP_KEYS = ["PROTECTION", "STRATEGY", "VENUE"] as const;
export type MevGroupKey = (typeof MEV_GROUP_KEYS)[number];
export type MevGroupColumn = "protection" | "strategy" | "venue";
const GROUP_COLUMNS: Readonly<Record<MevGroupKey, MevGroupColumn>> = {
  PROTECTION: "protection",
  STRATEGY: "strategy",
  VENUE: "venue",
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
  venue: string | null;
  transactions: number;
  protectedCount: number;
  attacks: number;
  sandwiched: number;
  frontRun: number;
  backRun: number;
  attacksDetected: number;
  landed: number;
  /** Landed transactions with slotsToLand recorded, and how many of them took 0, 1, 2, 3+ slots. */
  slotsRecorded: number;
  slots: [number, number, number, number];
  bundles: number;
  bundlesLanded: number;
  tipsLamports: bigint;
  /** Σ tips of the landed bundles. */
  landedBundleTips: bigint;
  /** Landed bundles with a tip floor recorded, Σ (tip − floor), Σ tip and Σ floor over them. */
  flooredBundles: number;
  tipOverFloor: bigint;
  flooredTips: bigint;
  floors: bigint;
  lossAvoided: number;
  opportunities: number;
  expectedProfit: number;
  realizedProfit: number;
}

interface AggregateRow {
  timestamp?: bigint;
  protection?: string | null;
  strategy?: string | null;
  venue?: string | null;
  n: bigint;
  protected: bigint | null;
  attacks: bigint | null;
  sandwiched: bigint | null;
  front_run: bigint | null;
  back_run: bigint | null;
  attacks_detected: bigint | null;
  landed: bigint | null;
  slots_recorded: bigint | null;
  slots_0: bigint | null;
  slots_1: bigint | null;
  slots_2: bigint | null;
  slots_3: bigint | null;
  bundles: bigint | null;
  bundles_landed: bigint | null;
  tips: bigint | null;
  landed_bundle_tips: bigint | null;
  floored_bundles: bigint | null;
  tip_over_floor: bigint | null;
  floored_tips: bigint | null;
  floors: bigint | null;
  loss_avoided: number | null;
  opportunities: bigint | null;
  expected_profit: number | null;
  realized_profit: number | null;
}

// Attacked, its parts and landed come from the shared vocabulary (mev-vocabulary.ts).
const LANDED = landedSql();
const LANDED_BUNDLE = `protection = 'JITO_BUNDLE' AND ${LANDED}`;
const FLOORED_BUNDLE = `${LANDED_BUNDLE} AND tip_floor_lamports IS NOT NULL`;
const count = (condition: string, alias: string) => `sum(CASE WHEN ${condition} THEN 1 ELSE 0 END) ${alias}`;
// Long sums with 0 (a LONG literal) outside the condition, so the column keeps its type.
const longSum = (condition: string, value: string, alias: string) =>
  `sum(CASE WHEN ${condition} THEN ${value} ELSE 0L END) ${alias}`;
const SLOTS = `${LANDED} AND slots_to_land IS NOT NULL`;
const AGGREGATES = [
  "count() n",
  count("protection <> 'NONE'", "protected"),
  count(attackedSql("outcome"), "attacks"),
  count(attackPartSql("sandwiched", "outcome"), "sandwiched"),
  count(attackPartSql("frontRun", "outcome"), "front_run"),
  count(attackPartSql("backRun", "outcome"), "back_run"),
  count("attack_detected", "attacks_detected"),
  count(LANDED, "landed"),
  // Slots to land of the landed transactions that recorded it, in the buckets 0, 1, 2 and 3+.
  count(SLOTS, "slots_recorded"),
  count(`${SLOTS} AND slots_to_land = 0`, "slots_0"),
  count(`${SLOTS} AND slots_to_land = 1`, "slots_1"),
  count(`${SLOTS} AND slots_to_land = 2`, "slots_2"),
  count(`${SLOTS} AND slots_to_land >= 3`, "slots_3"),
  count("protection = 'JITO_BUNDLE'", "bundles"),
  count(LANDED_BUNDLE, "bundles_landed"),
  "sum(tip_lamports) tips",
  longSum(LANDED_BUNDLE, "tip_lamports", "landed_bundle_tips"),
  count(FLOORED_BUNDLE, "floored_bundles"),
  longSum(FLOORED_BUNDLE, "tip_lamports - tip_floor_lamports", "tip_over_floor"),
  longSum(FLOORED_BUNDLE, "tip_lamports", "floored_tips"),
  longSum(FLOORED_BUNDLE, "tip_floor_lamports", "floors"),
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
  const groupValues = columns.map((column) => (row[column as MevGroupColumn] as string | null) ?? null);
  const at = (column: string) => (columns.includes(column) ? (groupValues[columns.indexOf(column)] ?? null) : null);
  const int = (value: bigint | null) => Number(value ?? 0n);
  return {
    bucket,
    groupValues,
    protection: at("protection"),
    strategy: at("strategy"),
    venue: at("venue"),
    transactions: int(row.n),
    protectedCount: int(row.protected),
    attacks: int(row.attacks),
    sandwiched: int(row.sandwiched),
    frontRun: int(row.front_run),
    backRun: int(row.back_run),
    attacksDetected: int(row.attacks_detected),
    landed: int(row.landed),
    slotsRecorded: int(row.slots_recorded),
    slots: [int(row.slots_0), int(row.slots_1), int(row.slots_2), int(row.slots_3)],
    bundles: int(row.bundles),
    bundlesLanded: int(row.bundles_landed),
    tipsLamports: row.tips ?? 0n,
    landedBundleTips: row.landed_bundle_tips ?? 0n,
    flooredBundles: int(row.floored_bundles),
    tipOverFloor: row.tip_over_floor ?? 0n,
    flooredTips: row.floored_tips ?? 0n,
    floors: row.floors ?? 0n,
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
    range: args.range,
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
    range: args.range,
    map: unlessOver(max, (rows) => rows.map((row) => toRow(row, columns, row.timestamp ?? null))),
  });
  if (!found) throw tooManyRows(max);
  checkResultRows(max, starts.length * Math.max(1, groupCount(found)));
  return fillSeries(found, starts, (bucket, values) => emptyRow(columns, bucket, values));
}

export const mevRowKey = (bucket: Micros | null, values: GroupValues) => `${bucket}|${groupKey(values)}`;

/** The (bucket and) group keys of a statement over mev_metrics aliased `alias`. */
export function mevKeys(args: MevEffectivenessArgs, bucketed: boolean, alias = ""): string[] {
  return [
    ...(bucketed && args.bucket ? [`timestamp_floor('${STRIDE[args.bucket]}', ${alias}timestamp) timestamp`] : []),
    ...columnsOf(args).map((column) => `${alias}${column} ${column}`),
  ];
}

/** The map key of a (bucket, group) row read by mevKeys. */
export function mevKeyOf(args: MevEffectivenessArgs, bucketed: boolean, row: { timestamp?: bigint }): string {
  const values = columnsOf(args).map((column) => (row as Record<string, unknown>)[column] as string | null);
  return mevRowKey(
    bucketed ? (row.timestamp ?? null) : null,
    values.map((v) => v ?? null),
  );
}
