// Validation of a bot's MEV-protection result; the stored row is declared in questdb/mev-table.ts.
import { randomUUID } from "node:crypto";
import { MEV_METRICS, type MevMetric, type MevOutcome, type MevProtection } from "../questdb/mev-table.ts";
import type { Micros } from "../time.ts";
import type { RecordKind } from "./record-kind.ts";
import { AMOUNT, Checker, type FieldProblem, SIGNED_AMOUNT, type ValidationLimits } from "./validation.ts";

/** Slots from submission to landing: 0 to 1,000,000 (about 4.6 days). */
const SLOTS_TO_LAND = { min: 0, max: 1_000_000 } as const;
/** The compute-unit limit a transaction may request: 1 to 1,400,000 (Solana's per-transaction maximum). */
export const COMPUTE_UNITS = { min: 1, max: 1_400_000 } as const;

export interface MevInput {
  metricId?: string | null | undefined;
  timestamp?: Micros | null | undefined;
  tradeId?: string | null | undefined;
  protection: MevProtection;
  outcome: MevOutcome;
  tipLamports: bigint;
  expectedProfit?: number | null | undefined;
  realizedProfit?: number | null | undefined;
  lossAvoided?: number | null | undefined;
  attackDetected?: boolean | null | undefined;
  slotsToLand?: number | null | undefined;
  strategy?: string | null | undefined;
  venue?: string | null | undefined;
  baseToken?: string | null | undefined;
  quoteToken?: string | null | undefined;
  tipFloorLamports?: bigint | null | undefined;
  computeUnits?: number | null | undefined;
}

/** An MEV result as validated from a bot's input; the server adds the writer (schema/record.ts). */
export type ValidatedMev = Omit<MevMetric, "writer">;

/** MEV results as the record mutations take them. */
export const MEV_RECORDS: RecordKind<MevInput, MevMetric> = {
  validate: (input, index, limits) => validateMev(input, index, limits),
  table: MEV_METRICS,
  id: (row) => row.metricId,
};

export function validateMev(
  input: MevInput,
  index: number,
  limits: ValidationLimits,
): { row: ValidatedMev; problems: FieldProblem[] } {
  const c = new Checker(index, limits);
  const tradeId = input.tradeId != null ? c.key("tradeId", input.tradeId) : null;
  const row: ValidatedMev = {
    timestamp: c.timestamp(
      "timestamp",
      input.timestamp,
      input.metricId != null ? "metricId" : input.tradeId != null ? "tradeId" : undefined,
    ),
    // One MEV record per trade is the natural key; otherwise the client's or a UUID.
    metricId: input.metricId != null ? c.key("metricId", input.metricId) : (tradeId ?? randomUUID()),
    tradeId,
    protection: input.protection,
    outcome: input.outcome,
    tipLamports: c.long("tipLamports", input.tipLamports),
    expectedProfit: c.optionalNumber("expectedProfit", input.expectedProfit, SIGNED_AMOUNT) ?? null,
    realizedProfit: c.optionalNumber("realizedProfit", input.realizedProfit, SIGNED_AMOUNT) ?? null,
    lossAvoided: c.optionalNumber("lossAvoided", input.lossAvoided, AMOUNT) ?? null,
    attackDetected: input.attackDetected ?? false,
    slotsToLand: c.optionalNumber("slotsToLand", input.slotsToLand, SLOTS_TO_LAND) ?? null,
    strategy: c.optionalName("strategy", input.strategy) ?? null,
    venue: c.optionalName("venue", input.venue) ?? null,
    baseToken: c.optionalName("baseToken", input.baseToken) ?? null,
    quoteToken: c.optionalName("quoteToken", input.quoteToken) ?? null,
    tipFloorLamports: c.optionalLong("tipFloorLamports", input.tipFloorLamports) ?? null,
    computeUnits: c.optionalInteger("computeUnits", input.computeUnits, COMPUTE_UNITS) ?? null,
  };
  return { row, problems: c.problems };
}

// The names this module exported before the descriptor (tests import them).
export {
  MEV_OUTCOMES,
  MEV_PROTECTIONS,
  type MevMetric,
  type MevOutcome,
  type MevProtection,
  type MevRow,
} from "../questdb/mev-table.ts";
export const encodeMev = MEV_METRICS.encode;
export const MEV_SELECT = MEV_METRICS.select;
export const mevFromRow = MEV_METRICS.fromRow;
