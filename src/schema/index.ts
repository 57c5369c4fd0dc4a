// Imports every type file, then builds the schema (Pothos app-layout guide).
import { lexicographicSortSchema, printSchema } from "graphql";
import { builder } from "./builder.ts";
import "./scalars.ts";
import "./trade.ts";
import "./latency.ts";
import "./mev.ts";
import "./live.ts";
import "./trade-stats.ts";
import "./trade-links.ts";
import "./latency-stats.ts";
import "./mev-effectiveness.ts";
import "./strategy-performance.ts";
import "./strategy-risk.ts";
import "./performance-by-period.ts";
import "./system-metrics.ts";
import "./viewer.ts";

export const schema = builder.toSchema();

/** The committed schema.graphql: printed and sorted. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
