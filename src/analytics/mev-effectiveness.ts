// mevEffectiveness: how well MEV protection works, per calendar bucket and per protection method,
// strategy and/or venue, from mev_metrics (one row per transaction). The figures of the linked
// trades (mev-links.ts), the tip percentiles and the money per currency (mev-breakdowns.ts) run
// statements of their own, only when a client asks for them.

import { MEV_MEASURES } from "../questdb/views.ts";
import type { Micros } from "../time.ts";
import { checkResultRows } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, STRIDE, type TimeBucket, type TimeRange } from "./range.ts";
import { type PartialRow, type RollupSource, readRollup, readTotals } from "./rollup.ts";
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

/** The rollup read of totals (bucket null) or of the bucketed series: every figure is a sum (questdb/views.ts). */
const rollupQuery = (source: RollupSource, args: MevEffectivenessArgs, bucketed: boolean, max: number) => ({
  name: bucketed ? "mevEffectiveness.buckets" : "mevEffectiveness.totals",
  source,
  keys: columnsOf(args),
  measures: MEV_MEASURES,
  bucket: bucketed ? args.bucket : null,
  max,
});

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

/** One row per group with transactions in the range, ungrouped too (empty: []); LIMIT max + 1. */
export async function mevTotals(
  reads: QueryReader,
  source: RollupSource,
  args: MevEffectivenessArgs,
  max: number,
  bucketed?: Promise<PartialRow[]>,
): Promise<MevEffectivenessRow[]> {
  checkRange(args.range, null);
  const columns = columnsOf(args);
  const rows = await readTotals(reads, rollupQuery(source, args, false, max), args.range, bucketed);
  return sortByGroup(
    rows.map((row) => toRow(row as unknown as AggregateRow, columns, null)).filter((row) => row.transactions > 0),
  );
}

/**
 * One row per bucket and group, empty buckets included; [] when no bucket was asked for;
 * buckets × groups over `max` is refused before the series is filled (as tradeStats.buckets).
 */
export async function mevBuckets(
  reads: QueryReader,
  source: RollupSource,
  args: MevEffectivenessArgs,
  max: number,
  bucketed?: Promise<PartialRow[]>,
): Promise<MevEffectivenessRow[]> {
  const starts = checkRange(args.range, args.bucket);
  if (!args.bucket) return [];
  checkResultRows(max, starts.length);
  const columns = columnsOf(args);
  const rows = await (bucketed ?? mevPartials(reads, source, args, max));
  const found = rows.map((row) => toRow(row as unknown as AggregateRow, columns, row.timestamp ?? null));
  checkResultRows(max, starts.length * Math.max(1, groupCount(found)));
  return fillSeries(found, starts, (bucket, values) => emptyRow(columns, bucket, values));
}

/** The bucketed partial rows of a range (readRollup), for mevBuckets and mevTotals. */
export function mevPartials(
  reads: QueryReader,
  source: RollupSource,
  args: MevEffectivenessArgs,
  max: number,
): Promise<PartialRow[]> {
  return readRollup(reads, rollupQuery(source, args, true, max), args.range);
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
