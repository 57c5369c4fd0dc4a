// GET /metrics in Prometheus' text format: the ingest figures and the process's health.

import type { Plugin } from "graphql-yoga";
import type { QueryCacheStats } from "../analytics/cache.ts";
import type { LoadStats } from "../guard/load.ts";
import type { SpoolStats } from "../ingest/spool.ts";
import type { SystemSample } from "../ingest/system-sampler.ts";
import type { WriteWorkersStats } from "../ingest/write-workers.ts";
import type { LiveQueryStats } from "../live/live-queries.ts";

export interface MetricValue {
  name: string;
  help: string;
  type: "gauge" | "counter";
  value: number;
}

export function useMetrics(options: { endpoint?: string; collect: () => MetricValue[] }): Plugin {
  const { endpoint = "/metrics", collect } = options;
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== "GET" || url.pathname !== endpoint) return;
      const body = collect()
        .map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${m.value}\n`)
        .join("");
      endResponse(new fetchAPI.Response(body, { headers: { "content-type": "text/plain; version=0.0.4" } }));
    },
  };
}

const m = (name: string, type: MetricValue["type"], help: string, value: number): MetricValue => ({
  name,
  type,
  help,
  value,
});

/** The figures /metrics exposes, from one sample. */
export function metricValues(s: SystemSample): MetricValue[] {
  return [
    m("ingest_queued_rows", "gauge", "Rows accepted and waiting for the next flush.", s.queuedRows),
    m("ingest_in_flight_rows", "gauge", "Rows in the flush being sent to QuestDB.", s.inFlightRows),
    m("ingest_oldest_queued_ms", "gauge", "Age of the oldest row not yet acknowledged by QuestDB.", s.oldestQueuedMs),
    m("ingest_last_flush_ms", "gauge", "Duration of the latest flush, retries included.", s.lastFlushMs),
    m("ingest_flushes_total", "counter", "Flushes completed.", s.flushes),
    m("ingest_rows_written_total", "counter", "Rows QuestDB acknowledged.", s.rowsWritten),
    m("ingest_retries_total", "counter", "ILP requests retried after a retriable failure.", s.retries),
    m(
      "ingest_rejected_rows_total",
      "counter",
      "Rows dead-lettered (refused by QuestDB, or unflushable at shutdown).",
      s.rejectedRows,
    ),
    m("process_event_loop_lag_ms", "gauge", "p99 event-loop delay over the latest sample interval.", s.eventLoopLagMs),
    m("process_resident_memory_bytes", "gauge", "Resident set size.", s.rssBytes),
    m("process_cpu_percent", "gauge", "CPU used over the latest sample interval (100 = one core).", s.cpuPercent),
  ];
}

/** Live-query figures for /metrics. */
export function liveMetricValues(s: LiveQueryStats): MetricValue[] {
  return [
    { name: "live_pollers", type: "gauge", help: "Distinct live queries being polled.", value: s.pollers },
    { name: "live_subscribers", type: "gauge", help: "Subscriptions served by live pollers.", value: s.subscribers },
    { name: "live_polls_total", type: "counter", help: "Polls run.", value: s.polls },
    {
      name: "live_statements_total",
      type: "counter",
      help: "SQL statements run by live queries.",
      value: s.statements,
    },
  ];
}

/** Query-cache figures for /metrics. */
export function cacheMetricValues(s: QueryCacheStats): MetricValue[] {
  return [
    m("query_cache_hits_total", "counter", "SQL results served from the cache.", s.hits),
    m("query_cache_misses_total", "counter", "SQL statements run because no current result was cached.", s.misses),
    m(
      "query_cache_coalesced_total",
      "counter",
      "Reads that joined an identical statement already running.",
      s.coalesced,
    ),
    m("query_cache_invalidated_total", "counter", "Entries dropped because a table committed.", s.invalidated),
    m("query_cache_evicted_total", "counter", "Entries dropped to stay within QUERY_CACHE_MAX_BYTES.", s.evicted),
    m("query_cache_probes_total", "counter", "Transaction probes (wal_tables()) run.", s.probes),
    m("query_cache_response_hits_total", "counter", "Whole GraphQL answers served from the cache.", s.responseHits),
    m("query_cache_entries", "gauge", "Entries in the cache.", s.entries),
    m("query_cache_bytes", "gauge", "Approximate size of the cache.", s.bytes),
  ];
}

/** Admission control: slots in use and waiting per lane, refusals. */
export function loadMetricValues(s: LoadStats): MetricValue[] {
  return [
    m("requests_active_read", "gauge", "GraphQL requests running (keys other than writer keys).", s.active.read),
    m("requests_active_write", "gauge", "Requests of writer keys running.", s.active.write),
    m("requests_waiting_read", "gauge", "Requests waiting for a slot (keys other than writer keys).", s.waiting.read),
    m("requests_waiting_write", "gauge", "Requests of writer keys waiting for a slot.", s.waiting.write),
    m("ingest_reserved_rows", "gauge", "Rows announced by write bodies admitted but not yet queued.", s.reservedRows),
    m(
      "requests_refused_queue_full_total",
      "counter",
      "Writer requests refused before their body was read: queue full.",
      s.refusedQueueFull,
    ),
    m("requests_refused_overloaded_total", "counter", "Requests refused with OVERLOADED.", s.refusedOverloaded),
  ];
}

/** A worker pool's figures (src/ingest/write-workers.ts): `write_workers_*` or `analytics_workers_*`. */
export function workerMetricValues(kind: "write" | "analytics", s: WriteWorkersStats): MetricValue[] {
  const what = kind === "write" ? "Write" : "Analytics";
  return [
    m(`${kind}_workers_ready`, "gauge", `${what} worker threads ready (started with the server).`, s.ready),
    m(`${kind}_workers_running`, "gauge", `Requests running in ${kind} workers.`, s.running),
    m(`${kind}_workers_answered_total`, "counter", `Requests answered by a ${kind} worker.`, s.answered),
    m(
      `${kind}_workers_handed_back_total`,
      "counter",
      `Bodies a ${kind} worker handed back to the main thread (not its kind of operation).`,
      s.handedBack,
    ),
    m(`${kind}_workers_restarts_total`, "counter", `${what} workers that stopped and were started again.`, s.restarts),
  ];
}

/** The spool's figures (src/ingest/spool.ts), when SPOOL_MODE is not off. */
export function spoolMetricValues(s: SpoolStats | undefined): MetricValue[] {
  if (!s) return [];
  return [
    m(
      "spool_bytes",
      "gauge",
      "Bytes in the spool (rows not yet acknowledged by QuestDB, and their segments).",
      s.bytes,
    ),
    m("spool_segments", "gauge", "Spool segment files.", s.segments),
    m("spool_pending_records", "gauge", "Calls whose rows are in the spool and not yet in QuestDB.", s.pendingRecords),
    m("spool_appends_total", "counter", "Calls written to the spool.", s.appends),
    m("spool_syncs_total", "counter", "Group writes to the spool (one sync each in fsync mode).", s.syncs),
    m("spool_last_sync_ms", "gauge", "Duration of the latest group write and sync.", s.lastSyncMs),
    m(
      "spool_replayed_rows_total",
      "counter",
      "Rows queued again at start from a previous process's spool.",
      s.replayedRows,
    ),
    m("spool_skipped_bytes_total", "counter", "Bytes of torn or corrupt records skipped at replay.", s.skippedBytes),
  ];
}
