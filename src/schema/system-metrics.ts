// systemMetrics: the server's own health samples per calendar bucket and instance (the
// dashboard's ingest panel: queue depth, flush duration, rejected rows).
import { type SystemMetricsRow, systemMetricsBuckets } from "../analytics/system-metrics.ts";
import { builder } from "./builder.ts";
import { TimeBucketEnum, TimeRangeRef } from "./range.ts";
import "./scalars.ts";

const SystemMetricsRowRef = builder.objectRef<SystemMetricsRow>("SystemMetricsRow").implement({
  description:
    "The samples one API instance took of itself in one bucket (every SYSTEM_METRICS_INTERVAL_MS). Counters count since the instance started.",
  fields: (t) => ({
    bucket: t.field({ type: "Timestamp", description: "Bucket start (UTC).", resolve: (r) => r.bucket }),
    instance: t.exposeString("instance", { nullable: true, description: "INSTANCE_ID of the API instance." }),
    samples: t.exposeInt("samples"),
    maxQueueDepth: t.exposeInt("maxQueueDepth", { description: "Rows queued or in flight, at most." }),
    maxFlushMs: t.exposeFloat("maxFlushMs", { description: "Longest latest-flush duration sampled, ms." }),
    meanFlushMs: t.exposeFloat("meanFlushMs", { description: "Mean of the sampled latest-flush durations, ms." }),
    rowsWritten: t.exposeFloat("rowsWritten", { description: "Rows QuestDB acknowledged (counter, highest value)." }),
    rejectedRows: t.exposeFloat("rejectedRows", { description: "Rows dead-lettered (counter, highest value)." }),
    retries: t.exposeFloat("retries", { description: "ILP requests retried (counter, highest value)." }),
    maxEventLoopLagMs: t.exposeFloat("maxEventLoopLagMs"),
    maxRssBytes: t.exposeFloat("maxRssBytes"),
  }),
});

builder.queryFields((t) => ({
  systemMetrics: t.field({
    type: [SystemMetricsRowRef],
    description:
      "The API instances' health samples (system_metrics) per calendar bucket and instance, buckets without samples left out; in bucket then instance order.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      bucket: t.arg({ type: TimeBucketEnum, required: true }),
    },
    resolve: (_root, args, { services, reads }) =>
      systemMetricsBuckets(
        reads,
        services.tables.system_metrics,
        { range: args.range, bucket: args.bucket },
        services.maxResultRows,
      ),
  }),
}));
