// latencyStats: latency distribution per stage, over the range and per calendar bucket.
import {
  type LatencyStatsArgs,
  type LatencyStatsRow,
  latencyStatsSeries,
  latencyStatsTotals,
} from "../analytics/latency-stats.ts";
import { checkRange } from "../analytics/range.ts";
import { MAX_NAME_LENGTH } from "../ingest/validation.ts";
import { checkName } from "./arguments.ts";
import { builder } from "./builder.ts";
import { TimeBucketEnum, TimeRangeRef } from "./range.ts";
import "./scalars.ts";
import { splicedListKey, splicedRows } from "./spliced.ts";

/** Every LatencyStatsRow field is the row's own: any selection without a directive may be spliced. */
const NONE: ReadonlySet<string> = new Set();

const PERCENTILE_NOTE =
  "Nearest-rank percentile estimated from log-spaced bins (floor(ln µs × 100)): within 0.503 % of the exact value, exact when the bin holds one distinct value.";

const LatencyStatsRowRef = builder.objectRef<LatencyStatsRow>("LatencyStatsRow").implement({
  description: "Latency of one stage in one bucket (or over the whole range), in microseconds.",
  fields: (t) => ({
    // Exposed (no resolver): graphql-jit reads such a field inline (a month by hour and stage is
    // thousands of rows).
    bucket: t.expose("bucket", {
      type: "Timestamp",
      nullable: true,
      description: "Bucket start (UTC); null in totals.",
    }),
    stage: t.exposeString("stage", { nullable: true }),
    count: t.exposeInt("count", { description: "Measurements (successful or not)." }),
    minUs: t.expose("minUs", { type: "Long", nullable: true, description: "Exact." }),
    meanUs: t.exposeFloat("meanUs", { nullable: true, description: "Exact: Σ latency / count." }),
    p50Us: t.exposeFloat("p50Us", { nullable: true, description: PERCENTILE_NOTE }),
    p90Us: t.exposeFloat("p90Us", { nullable: true, description: PERCENTILE_NOTE }),
    p95Us: t.exposeFloat("p95Us", { nullable: true, description: PERCENTILE_NOTE }),
    p99Us: t.exposeFloat("p99Us", { nullable: true, description: PERCENTILE_NOTE }),
    p999Us: t.exposeFloat("p999Us", { nullable: true, description: `99.9th percentile. ${PERCENTILE_NOTE}` }),
    maxUs: t.expose("maxUs", { type: "Long", nullable: true, description: "Exact." }),
  }),
});

const LatencyStatsRef = builder.objectRef<LatencyStatsArgs>("LatencyStats").implement({
  description: "Latency statistics over a range; each field runs its own (cached) query only when asked for.",
  fields: (t) => ({
    from: t.field({ type: "Timestamp", resolve: (a) => a.range.from }),
    to: t.field({ type: "Timestamp", resolve: (a) => a.range.to }),
    stage: t.exposeString("stage", { nullable: true }),
    bucket: t.field({ type: TimeBucketEnum, nullable: true, resolve: (a) => a.bucket }),
    totals: t.field({
      type: [LatencyStatsRowRef],
      description:
        "One row per stage with measurements in the range, by stage name (none for an empty range, a named stage included).",
      resolve: (args, _a, { services, reads }) =>
        latencyStatsTotals(reads, services.rollups.latency, args, services.maxResultRows),
    }),
    buckets: t.field({
      type: [LatencyStatsRowRef],
      description:
        "One row per bucket and stage with measurements in the range, in bucket then stage order; a stage's buckets without measurements have count 0. Empty when no bucket was given or the range has none.",
      resolve: async (args, _a, context, info) => {
        const { services, reads } = context;
        const reuse = splicedListKey(context, info, "latencyStats.buckets", NONE);
        const pieces = await latencyStatsSeries(reads, services.rollups.latency, args, services.maxResultRows, reuse);
        return splicedRows(context, info, pieces, (row) => row);
      },
    }),
  }),
});

builder.queryFields((t) => ({
  latencyStats: t.field({
    type: LatencyStatsRef,
    description:
      "Count, min, mean, p50, p90, p95, p99, p99.9 and max latency per stage, overall and per calendar bucket.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      stage: t.arg.string({
        description: `One stage (quote, build, sign, submit, confirm, e2e…; 1–${MAX_NAME_LENGTH} characters, as on ingest); default every stage.`,
      }),
      bucket: t.arg({ type: TimeBucketEnum, description: "Leave out for totals only." }),
      strategy: t.arg.string({
        description: `Only the measurements recorded with this strategy (1–${MAX_NAME_LENGTH} characters, as on ingest); default all.`,
      }),
    },
    resolve: (_root, args) => {
      checkName("stage", args.stage);
      checkName("strategy", args.strategy);
      checkRange(args.range, args.bucket);
      return {
        range: args.range,
        stage: args.stage ?? null,
        bucket: args.bucket ?? null,
        ...(args.strategy ? { strategy: args.strategy } : {}),
      };
    },
  }),
}));
