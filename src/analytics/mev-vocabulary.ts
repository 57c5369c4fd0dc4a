// One vocabulary for MEV results (issue 16, point 3). "Attacked" used to mean three things
// (mevEffectiveness counted SANDWICHED and FRONT_RUN, liveMetrics also BACK_RUN, the
// SANDWICH_RATE alert only SANDWICHED); every figure that says attacked, sandwiched, front-run
// or back-run now takes its list and its SQL from here. A trade's mevStatus and an MEV record's
// outcome use the same names for the attacks, so one list serves both columns.
import type { MevOutcome } from "../questdb/mev-table.ts";
import type { MevStatus } from "../questdb/trade-table.ts";

/** The parts of "attacked": each a list of the outcome / status names it covers. */
export const ATTACK_PARTS = {
  sandwiched: ["SANDWICHED"],
  frontRun: ["FRONT_RUN"],
  backRun: ["BACK_RUN"],
} as const satisfies Record<string, readonly (MevOutcome & MevStatus)[]>;
export type AttackPart = keyof typeof ATTACK_PARTS;

/** Attacked: sandwiched, front-run or back-run (the union of the parts). */
export const ATTACKED: readonly (MevOutcome & MevStatus)[] = [
  ...ATTACK_PARTS.sandwiched,
  ...ATTACK_PARTS.frontRun,
  ...ATTACK_PARTS.backRun,
];

/** Outcomes of a transaction that never landed; every other outcome landed (attacked or not). */
export const NOT_LANDED: readonly MevOutcome[] = ["FAILED", "DROPPED"];

/**
 * A trade's mevStatus that never disagrees with an outcome: the bot did not know. UNKNOWN says
 * nothing, so a record that knows more is not contradicted by it.
 */
export const STATUS_UNKNOWN: MevStatus = "UNKNOWN";

/**
 * Columns the fragments below may name: a closed set written in code (STYLE, habit 8), with the
 * join aliases of mevEffectiveness's link statement.
 */
export type VocabularyColumn = "outcome" | "mev_status" | "m.outcome" | "t.mev_status";

const inList = (column: VocabularyColumn, values: readonly string[]) =>
  `${column} IN (${values.map((value) => `'${value}'`).join(", ")})`;

/** `column IN ('SANDWICHED', 'FRONT_RUN', 'BACK_RUN')`. */
export const attackedSql = (column: VocabularyColumn): string => inList(column, ATTACKED);

/** `column IN (…)` for one part of "attacked". */
export const attackPartSql = (part: AttackPart, column: VocabularyColumn): string => inList(column, ATTACK_PARTS[part]);

/** The transaction landed: its outcome is neither FAILED nor DROPPED. */
export const landedSql = (column: "outcome" | "m.outcome" = "outcome"): string =>
  `${column} NOT IN (${NOT_LANDED.map((value) => `'${value}'`).join(", ")})`;

/**
 * The agreement table of an MEV record's outcome and its trade's mevStatus. They agree when
 * - the status is UNKNOWN (it says nothing), or
 * - both name the same attack (SANDWICHED ↔ SANDWICHED, FRONT_RUN ↔ FRONT_RUN, BACK_RUN ↔ BACK_RUN), or
 * - neither names an attack (LANDED, FAILED, DROPPED ↔ PROTECTED, UNPROTECTED).
 * Whether the transaction was protected is the record's `protection`, not its outcome, so
 * PROTECTED and UNPROTECTED both agree with every outcome that is not an attack.
 */
export function statusAgrees(outcome: MevOutcome, status: MevStatus): boolean {
  if (status === STATUS_UNKNOWN) return true;
  const attacked = (name: string) => (ATTACKED as readonly string[]).includes(name);
  return attacked(outcome) || attacked(status) ? outcome === status : true;
}

/**
 * SQL of "disagrees" over the link join (m: mev_metrics, t: trades), the negation of
 * statusAgrees: the names of the attacks are the same in both columns, and no non-attack
 * outcome (LANDED, FAILED, DROPPED) equals a non-attack status (PROTECTED, UNPROTECTED), so
 * "one of them is an attack and they differ" is exactly a disagreement.
 */
export const statusMismatchSql = (): string =>
  `t.mev_status <> '${STATUS_UNKNOWN}' AND (${attackedSql("m.outcome")} OR ${attackedSql("t.mev_status")}) ` +
  "AND m.outcome <> t.mev_status";
