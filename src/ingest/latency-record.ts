// A latency measurement of one stage of the bot's pipeline: validation, ILP encoding, row mapping.
import { randomUUID } from "node:crypto";
import type { SenderBuffer } from "@questdb/nodejs-client";
import type { Micros } from "../time.ts";
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

export interface LatencyMetric {
  timestamp: Micros;
  metricId: string;
  stage: string;
  latencyUs: bigint;
  success: boolean;
  strategy: string | null;
  tradeId: string | null;
  /** The name of the API key that wrote it, part of the row's identity; null for older rows. */
  writer: string | null;
}

/** A measurement as validated from a bot's input; the server adds the writer (schema/record.ts). */
export type ValidatedLatency = Omit<LatencyMetric, "writer">;

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

export function encodeLatency(buffer: SenderBuffer, table: string, m: LatencyMetric): void {
  buffer.table(table).symbol("stage", m.stage);
  if (m.writer !== null) buffer.symbol("writer", m.writer);
  if (m.strategy !== null) buffer.symbol("strategy", m.strategy);
  buffer
    .stringColumn("metric_id", m.metricId)
    .intColumn("latency_us", Number(m.latencyUs))
    .booleanColumn("success", m.success);
  if (m.tradeId !== null) buffer.stringColumn("trade_id", m.tradeId);
  buffer.at(m.timestamp, "us");
}

export const LATENCY_SELECT = "timestamp, metric_id, stage, latency_us, success, strategy, trade_id, writer";

export interface LatencyRow {
  timestamp: bigint;
  metric_id: string;
  stage: string;
  latency_us: bigint;
  success: boolean;
  strategy: string | null;
  trade_id: string | null;
  writer: string | null;
}

export function latencyFromRow(row: LatencyRow): LatencyMetric {
  return {
    timestamp: row.timestamp,
    metricId: row.metric_id,
    stage: row.stage,
    latencyUs: row.latency_us,
    success: row.success,
    strategy: row.strategy,
    tradeId: row.trade_id,
    writer: row.writer,
  };
}
