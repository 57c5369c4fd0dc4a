// Validation of a bot's latency measurement; the stored row is declared in questdb/latency-table.ts.
import { randomUUID } from "node:crypto";
import { LATENCY_METRICS, type LatencyMetric } from "../questdb/latency-table.ts";
import type { Micros } from "../time.ts";
import type { RecordKind } from "./record-kind.ts";
import { Checker, type FieldProblem, type ValidationLimits } from "./validation.ts";

export interface LatencyInput {
  metricId?: string | null | undefined;
  timestamp?: Micros | null | undefined;
  stage: string;
  latencyUs: bigint;
  success?: boolean | null | undefined;
  strategy?: string | null | undefined;
  tradeId?: string | null | undefined;
}

/** A measurement as validated from a bot's input; the server adds the writer (schema/record.ts). */
export type ValidatedLatency = Omit<LatencyMetric, "writer">;

/** Latency measurements as the record mutations take them. */
export const LATENCY_RECORDS: RecordKind<LatencyInput, LatencyMetric> = {
  validate: (input, index, limits) => validateLatency(input, index, limits),
  table: LATENCY_METRICS,
  id: (row) => row.metricId,
};

export function validateLatency(
  input: LatencyInput,
  index: number,
  limits: ValidationLimits,
): { row: ValidatedLatency; problems: FieldProblem[] } {
  const c = new Checker(index, limits);
  const stage = c.name("stage", input.stage);
  const tradeId = input.tradeId != null ? c.key("tradeId", input.tradeId) : null;
  const row: ValidatedLatency = {
    timestamp: c.timestamp(
      "timestamp",
      input.timestamp,
      input.metricId != null ? "metricId" : input.tradeId != null ? "tradeId" : undefined,
    ),
    // One measurement per trade and stage is the natural key; otherwise the client's or a UUID.
    metricId:
      input.metricId != null
        ? c.key("metricId", input.metricId)
        : tradeId !== null
          ? `${tradeId}:${stage}`
          : randomUUID(),
    stage,
    latencyUs: c.long("latencyUs", input.latencyUs),
    success: input.success ?? true,
    strategy: c.optionalName("strategy", input.strategy) ?? null,
    tradeId,
  };
  return { row, problems: c.problems };
}

// The names this module exported before the descriptor (tests import them).
export type { LatencyMetric, LatencyRow } from "../questdb/latency-table.ts";
export const encodeLatency = LATENCY_METRICS.encode;
export const LATENCY_SELECT = LATENCY_METRICS.select;
export const latencyFromRow = LATENCY_METRICS.fromRow;
