// LatencyMetric with its mutations (recordLatencyMetric, recordLatencyMetrics).
import { LATENCY_RECORDS, type LatencyInput } from "../ingest/latency-record.ts";
import type { LatencyMetric } from "../questdb/latency-table.ts";
import { builder } from "./builder.ts";
import { defineRecordMutations, WRITER_DESCRIPTION } from "./record.ts";
import "./scalars.ts";

export const LatencyMetricRef = builder.objectRef<LatencyMetric>("LatencyMetric").implement({
  description: "How long one stage of the bot's pipeline took.",
  fields: (t) => ({
    timestamp: t.field({ type: "Timestamp", resolve: (r) => r.timestamp }),
    metricId: t.exposeString("metricId", { description: "Idempotency key (per writer)." }),
    stage: t.exposeString("stage", { description: "quote, build, sign, submit, confirm, e2e, …" }),
    latencyUs: t.field({ type: "Long", description: "Microseconds.", resolve: (r) => r.latencyUs }),
    success: t.exposeBoolean("success"),
    strategy: t.exposeString("strategy", { nullable: true }),
    tradeId: t.exposeString("tradeId", { nullable: true, description: "The trade this measurement belongs to." }),
    writer: t.exposeString("writer", {
      nullable: true,
      description: WRITER_DESCRIPTION,
    }),
  }),
});

const LatencyMetricInputRef = builder.inputType("LatencyMetricInput", {
  fields: (t) => ({
    metricId: t.string({
      description: "Idempotency key. Defaults to `<tradeId>:<stage>` when tradeId is given, else a server-made UUID.",
    }),
    timestamp: t.field({
      type: "Timestamp",
      description:
        "When the stage finished. Required with metricId or tradeId (the key and the timestamp identify the row, so a retry must send both); without a key it defaults to acceptance time.",
    }),
    stage: t.string({ required: true, description: "Stage name, 1–64 characters: quote, build, sign, submit, …" }),
    latencyUs: t.field({ type: "Long", required: true, description: "Microseconds, not negative." }),
    success: t.boolean({ description: "Default true." }),
    strategy: t.string(),
    tradeId: t.string({ description: "Links the measurement to a trade's tradeId." }),
  }),
});

defineRecordMutations<LatencyInput, LatencyMetric>({
  one: "recordLatencyMetric",
  many: "recordLatencyMetrics",
  what: "latency measurements",
  input: LatencyMetricInputRef,
  kind: LATENCY_RECORDS,
});
