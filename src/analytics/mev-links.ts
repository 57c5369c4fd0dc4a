// The MEV rows joined with their trades (same tradeId and writer, within LINK_WINDOW of the part
// of the range the MEV row's statement reads): the trades' priority fees, the fee per compute unit
// and the mismatches of mevStatus and outcome. One statement per piece of the range (a day, or
// part of one), per request for all rows of a mevEffectiveness answer, run only when one of its
// figures is selected.
import { formatIsoMicros } from "../time.ts";
import { limited, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { type MevEffectivenessArgs, mevKeyOf, mevKeys } from "./mev-effectiveness.ts";
import { statusMismatchSql } from "./mev-vocabulary.ts";
import { rangeParams } from "./range.ts";
import { hourCutPieces, readInPieces } from "./rollup.ts";
import { LINK_WINDOW_MICROS } from "./trade-links.ts";

/** What the join of the MEV rows with their trades yields, per (bucket, group). */
export interface MevLinkFigures {
  /** MEV rows with a linked trade found (same tradeId and writer, within LINK_WINDOW). */
  linked: number;
  /** Σ priority_fee of the linked trades, lamports. */
  priorityFees: bigint;
  /** Linked rows whose trade's mevStatus disagrees with the outcome (mev-vocabulary.ts). */
  statusMismatches: number;
  /** Over the linked rows with computeUnits: Σ priority_fee and Σ compute_units. */
  cuPriorityFees: bigint;
  computeUnits: bigint;
}

export const NO_LINKS: MevLinkFigures = {
  linked: 0,
  priorityFees: 0n,
  statusMismatches: 0,
  cuPriorityFees: 0n,
  computeUnits: 0n,
};

interface LinkRow {
  timestamp?: bigint;
  protection?: string | null;
  strategy?: string | null;
  venue?: string | null;
  linked: bigint;
  priority_fees: bigint | null;
  mismatches: bigint | null;
  cu_priority_fees: bigint | null;
  compute_units: bigint | null;
}

/** Adds b's figures into a (the figures of one key from two pieces of the range). */
function addLinks(a: MevLinkFigures, b: MevLinkFigures): MevLinkFigures {
  return {
    linked: a.linked + b.linked,
    priorityFees: a.priorityFees + b.priorityFees,
    statusMismatches: a.statusMismatches + b.statusMismatches,
    cuPriorityFees: a.cuPriorityFees + b.cuPriorityFees,
    computeUnits: a.computeUnits + b.computeUnits,
  };
}

/**
 * The linked trades' figures per (bucket, group) key: their priority fees, the mismatches of
 * mevStatus and outcome, and the fee per compute unit. The range is joined a piece at a time
 * (rollup.ts's hourCutPieces: UTC days, runs of days past 64, the first day also cut at the
 * range's first whole hour and the last at its last whole hour less LINK_WINDOW), two at a time:
 * the MEV rows of the piece are the join's build side (the right one), the trades from LINK_WINDOW
 * before the piece to LINK_WINDOW after it the probe side. Each piece is cached with that window
 * as its range, so while bots write now a month-long chart joins again only its last hour or two
 * and its first partial hour, not the month. Every figure is a sum: pieces add up per key.
 */
export async function mevLinks(
  cache: QueryReader,
  tables: { mev: string; trades: string },
  args: MevEffectivenessArgs,
  bucketed: boolean,
  max: number,
): Promise<Map<string, MevLinkFigures>> {
  const figures = [
    "count() linked",
    "sum(t.priority_fee) priority_fees",
    `sum(CASE WHEN ${statusMismatchSql()} THEN 1 ELSE 0 END) mismatches`,
    "sum(CASE WHEN m.compute_units IS NOT NULL THEN t.priority_fee ELSE 0L END) cu_priority_fees",
    "sum(m.compute_units::LONG) compute_units",
  ];
  const sql =
    `SELECT ${[...mevKeys(args, bucketed, "m."), ...figures].join(", ")} ` +
    `FROM (SELECT trade_id, writer, priority_fee, mev_status FROM ${tables.trades} WHERE timestamp >= $3 AND timestamp < $4) t ` +
    `JOIN (SELECT timestamp, trade_id, writer, protection, strategy, venue, outcome, compute_units FROM ${tables.mev} WHERE timestamp >= $1 AND timestamp < $2) m ` +
    // Trade ids are unique per writer; rows without a writer (NULL) match each other.
    "ON t.trade_id = m.trade_id AND t.writer = m.writer";
  const name = bucketed ? "mevEffectiveness.priorityFees.buckets" : "mevEffectiveness.priorityFees";
  // One row per non-empty (bucket, group) and piece: no more than the answer's rows, which were
  // bounded; the pieces' figures of a key add up.
  return readInPieces(
    hourCutPieces(args.range, LINK_WINDOW_MICROS),
    max,
    (piece) => {
      // The trades' window, which holds the MEV rows' piece: writes outside it keep the entry.
      const window = { from: piece.from - LINK_WINDOW_MICROS, to: piece.to + LINK_WINDOW_MICROS };
      const params = [...rangeParams(piece), formatIsoMicros(window.from), formatIsoMicros(window.to)];
      return cache.read<LinkRow, Map<string, MevLinkFigures> | null>({
        statement: limited({ name, sql, params }, max + 1),
        tables: [tables.trades, tables.mev],
        range: window,
        map: unlessOver(
          max,
          (rows) =>
            new Map(
              rows.map((row) => [
                mevKeyOf(args, bucketed, row),
                {
                  linked: Number(row.linked),
                  priorityFees: row.priority_fees ?? 0n,
                  statusMismatches: Number(row.mismatches ?? 0n),
                  cuPriorityFees: row.cu_priority_fees ?? 0n,
                  computeUnits: row.compute_units ?? 0n,
                },
              ]),
            ),
        ),
      });
    },
    { merge: addLinks },
  );
}
