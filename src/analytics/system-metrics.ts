// systemMetrics and alertEvents: the server's own health samples (system_metrics, written by
// every instance's sampler) and the alert events (alert_events) over a range, for the dashboard's
// ingest and alert panels (issue 14). Both tables are shared by every instance on one QuestDB.
import { EVENT_COLUMNS, type EventRow, eventFromRow } from "../live/alert-store.ts";
import type { AlertEvent } from "../live/alerts.ts";
import type { Micros } from "../time.ts";
import { limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, rangeParams, sampleBy, type TimeBucket, type TimeRange } from "./range.ts";

export interface SystemMetricsRow {
  bucket: Micros;
  instance: string | null;
  samples: number;
  maxQueueDepth: number;
  maxFlushMs: number;
  meanFlushMs: number;
  /** The instance's counters since its start, at their highest in the bucket. */
  rowsWritten: number;
  rejectedRows: number;
  retries: number;
  maxEventLoopLagMs: number;
  maxRssBytes: number;
}

interface SampleRow {
  timestamp: bigint;
  instance: string | null;
  n: bigint;
  q: bigint | null;
  f: number | null;
  fa: number | null;
  w: bigint | null;
  r: bigint | null;
  t: bigint | null;
  lag: number | null;
  rss: bigint | null;
}

/**
 * One row per bucket and instance that has samples, in bucket then instance order (instances
 * sample every SYSTEM_METRICS_INTERVAL_MS; a bucket without samples has no row).
 */
export async function systemMetricsBuckets(
  reads: QueryReader,
  table: string,
  args: { range: TimeRange; bucket: TimeBucket },
  max: number,
): Promise<SystemMetricsRow[]> {
  checkRange(args.range, args.bucket);
  const rows = await reads.read<SampleRow, SystemMetricsRow[] | null>({
    statement: limited(
      {
        name: "systemMetrics.buckets",
        sql: `SELECT timestamp, instance, count() n, max(queue_depth) q, max(flush_ms) f, avg(flush_ms) fa,
                max(rows_written) w, max(rejected_rows) r, max(retries) t, max(event_loop_lag_ms) lag, max(rss_bytes) rss
              FROM ${table} WHERE timestamp >= $1 AND timestamp < $2 ${sampleBy(args.bucket)}`,
        params: rangeParams(args.range),
      },
      max + 1,
    ),
    tables: [table],
    range: args.range,
    map: unlessOver(max, (found) =>
      found
        .map((row) => ({
          bucket: row.timestamp,
          instance: row.instance,
          samples: Number(row.n),
          maxQueueDepth: Number(row.q ?? 0n),
          maxFlushMs: row.f ?? 0,
          meanFlushMs: row.fa ?? 0,
          rowsWritten: Number(row.w ?? 0n),
          rejectedRows: Number(row.r ?? 0n),
          retries: Number(row.t ?? 0n),
          maxEventLoopLagMs: row.lag ?? 0,
          maxRssBytes: Number(row.rss ?? 0n),
        }))
        .sort((a, b) =>
          a.bucket !== b.bucket ? (a.bucket < b.bucket ? -1 : 1) : (a.instance ?? "") < (b.instance ?? "") ? -1 : 1,
        ),
    ),
  });
  if (!rows) throw tooManyRows(max);
  return rows;
}

/** The newest `first` alert events of the range, newest first. */
export async function alertEventsInRange(
  reads: QueryReader,
  table: string,
  range: TimeRange,
  first: number,
): Promise<AlertEvent[]> {
  checkRange(range, null);
  return reads.read<EventRow, AlertEvent[]>({
    statement: limited(
      {
        name: "alertEvents",
        sql: `SELECT ${EVENT_COLUMNS} FROM ${table}
              WHERE timestamp >= $1 AND timestamp < $2 ORDER BY timestamp DESC`,
        params: rangeParams(range),
      },
      first,
    ),
    tables: [table],
    range,
    map: (rows) => rows.map(eventFromRow),
  });
}
