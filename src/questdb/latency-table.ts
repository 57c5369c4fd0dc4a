// The `latency_metrics` table: a latency measurement of one stage of the bot's pipeline, declared
// once (questdb/descriptor.ts derives its DDL, ILP encoder, SELECT list, row type and mapper).
import { column as c, type DomainOf, defineTable, type RowOf, WRITER_COLUMN } from "./descriptor.ts";

export const LATENCY_METRICS = defineTable({
  name: "latency_metrics",
  dedupKeys: ["metric_id", WRITER_COLUMN],
  fields: {
    timestamp: c.timestamp("timestamp"),
    metricId: c.varchar("metric_id"),
    stage: c.symbol("stage"),
    latencyUs: c.long("latency_us"),
    success: c.boolean("success"),
    strategy: c.nullable(c.symbol("strategy")),
    tradeId: c.nullable(c.varchar("trade_id")),
    /** The name of the API key that wrote it, part of the row's identity; null for older rows. */
    writer: c.nullable(c.symbol(WRITER_COLUMN)),
  },
});

export type LatencyMetric = DomainOf<typeof LATENCY_METRICS.fields>;
/** A `latency_metrics` row of `SELECT ${LATENCY_METRICS.select}`. */
export type LatencyRow = RowOf<typeof LATENCY_METRICS.fields>;
