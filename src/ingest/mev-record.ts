// The MEV-protection result of one transaction: validation, ILP encoding, row mapping.
import { randomUUID } from "node:crypto";
import type { SenderBuffer } from "@questdb/nodejs-client";
import type { Micros } from "../time.ts";
import { AMOUNT, Checker, type FieldProblem, SIGNED_AMOUNT, type ValidationLimits } from "./validation.ts";

export const MEV_PROTECTIONS = ["JITO_BUNDLE", "PRIVATE_RPC", "NONE", "OTHER"] as const;
export type MevProtection = (typeof MEV_PROTECTIONS)[number];

export const MEV_OUTCOMES = ["LANDED", "FAILED", "DROPPED", "SANDWICHED", "FRONT_RUN", "BACK_RUN"] as const;
export type MevOutcome = (typeof MEV_OUTCOMES)[number];

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

export interface MevMetric {
  timestamp: Micros;
  metricId: string;
  tradeId: string | null;
  protection: MevProtection;
  outcome: MevOutcome;
  tipLamports: bigint;
  expectedProfit: number | null;
  realizedProfit: number | null;
  lossAvoided: number | null;
  attackDetected: boolean;
  slotsToLand: number | null;
  strategy: string | null;
  /** Where the transaction was routed (a DEX or aggregator), as on its trade. */
  venue: string | null;
  /** The traded pair; quoteToken is the currency of the money figures (profits, loss avoided). */
  baseToken: string | null;
  quoteToken: string | null;
  /** The tip floor the bot saw when it sent the bundle (e.g. Jito's landed-tip percentile), lamports. */
  tipFloorLamports: bigint | null;
  /** The compute-unit limit the transaction requested, on which its priority fee was charged. */
  computeUnits: number | null;
  /** The name of the API key that wrote it, part of the row's identity; null for older rows. */
  writer: string | null;
}

/** An MEV result as validated from a bot's input; the server adds the writer (schema/record.ts). */
export type ValidatedMev = Omit<MevMetric, "writer">;

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

export function encodeMev(buffer: SenderBuffer, table: string, m: MevMetric): void {
  buffer.table(table).symbol("protection", m.protection).symbol("outcome", m.outcome);
  if (m.writer !== null) buffer.symbol("writer", m.writer);
  if (m.strategy !== null) buffer.symbol("strategy", m.strategy);
  if (m.venue !== null) buffer.symbol("venue", m.venue);
  if (m.baseToken !== null) buffer.symbol("base_token", m.baseToken);
  if (m.quoteToken !== null) buffer.symbol("quote_token", m.quoteToken);
  buffer
    .stringColumn("metric_id", m.metricId)
    .intColumn("tip_lamports", Number(m.tipLamports))
    .booleanColumn("attack_detected", m.attackDetected);
  if (m.tradeId !== null) buffer.stringColumn("trade_id", m.tradeId);
  if (m.expectedProfit !== null) buffer.floatColumn("expected_profit", m.expectedProfit);
  if (m.realizedProfit !== null) buffer.floatColumn("realized_profit", m.realizedProfit);
  if (m.lossAvoided !== null) buffer.floatColumn("loss_avoided", m.lossAvoided);
  if (m.slotsToLand !== null) buffer.intColumn("slots_to_land", m.slotsToLand);
  if (m.tipFloorLamports !== null) buffer.intColumn("tip_floor_lamports", Number(m.tipFloorLamports));
  if (m.computeUnits !== null) buffer.intColumn("compute_units", m.computeUnits);
  buffer.at(m.timestamp, "us");
}

export const MEV_SELECT =
  "timestamp, metric_id, trade_id, protection, outcome, tip_lamports, expected_profit, realized_profit, loss_avoided, attack_detected, slots_to_land, strategy, " +
  "venue, base_token, quote_token, tip_floor_lamports, compute_units, writer";

export interface MevRow {
  timestamp: bigint;
  metric_id: string;
  trade_id: string | null;
  protection: string;
  outcome: string;
  tip_lamports: bigint | null;
  expected_profit: number | null;
  realized_profit: number | null;
  loss_avoided: number | null;
  attack_detected: boolean;
  slots_to_land: number | null;
  strategy: string | null;
  venue: string | null;
  base_token: string | null;
  quote_token: string | null;
  tip_floor_lamports: bigint | null;
  compute_units: number | null;
  writer: string | null;
}

export function mevFromRow(row: MevRow): MevMetric {
  return {
    timestamp: row.timestamp,
    metricId: row.metric_id,
    tradeId: row.trade_id,
    protection: row.protection as MevProtection,
    outcome: row.outcome as MevOutcome,
    tipLamports: row.tip_lamports ?? 0n,
    expectedProfit: row.expected_profit,
    realizedProfit: row.realized_profit,
    lossAvoided: row.loss_avoided,
    attackDetected: row.attack_detected,
    slotsToLand: row.slots_to_land,
    strategy: row.strategy,
    venue: row.venue,
    baseToken: row.base_token,
    quoteToken: row.quote_token,
    tipFloorLamports: row.tip_floor_lamports,
    computeUnits: row.compute_units,
    writer: row.writer,
  };
}
