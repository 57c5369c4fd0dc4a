// GET /metrics through prom-client (issue 14, point 4), in Prometheus' text format. One Registry
// per app (tests build several apps in one process); gauges and counters of figures the
// components already keep read them in `collect()`, so nothing is computed unless someone
// scrapes. Names are in base units (`_seconds`, `_bytes`) and counters end in `_total`
// (https://prometheus.io/docs/practices/naming/). The list is in the README ("Metrics").

import { readdir } from "node:fs/promises";
import type { Plugin } from "graphql-yoga";
import type pg from "pg";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { QueryCacheStats, QueryCounts } from "../analytics/cache.ts";
import { ERROR_CODES } from "../errors.ts";
import type { LoadStats } from "../guard/load.ts";
import type { WriterStats } from "../ingest/batch-writer.ts";
import type { SpoolStats } from "../ingest/spool.ts";
import type { WriteWorkers, WriteWorkersStats } from "../ingest/write-workers.ts";
import type { LiveQueryStats, LiveStage, PollKind } from "../live/live-queries.ts";
import { type PoolStats, poolStats } from "../questdb/pg-pool.ts";
import type { OperationRecord } from "./operation-log.ts";

/** Where the figures come from; each is read only when /metrics is scraped. */
export interface MetricsSources {
  writer: () => WriterStats;
  load: () => LoadStats;
  live: () => LiveQueryStats;
  /** The main thread's query cache (an analytics worker's comes with its answers). */
  cache: () => QueryCacheStats;
  /** pg pools by the `pool` label they get (heavy, light, readiness). */
  pools: () => Record<string, pg.Pool>;
  /** The spool's figures; absent when SPOOL_MODE is off. */
  spool?: () => SpoolStats | undefined;
  /** Open graphql-ws connections. */
  webSockets: () => number;
  /** The worker pools that run (WRITE_WORKERS, ANALYTICS_WORKERS), by the `pool` label they get. */
  workers: () => Partial<Record<"write" | "analytics", WriteWorkers>>;
}

export interface Metrics {
  readonly registry: Registry;
  /** An operation ended (src/http/operation-log.ts), on any thread and transport. */
  observeOperation(record: OperationRecord): void;
  /** A request was refused by a transport stage of the pipeline (before any GraphQL was parsed). */
  observeRefusal(code: string, transport: string): void;
  /** A flush of the batch writer ended, retries included. */
  observeFlush(ms: number): void;
  /** A stage of a live event's way from a bot to subscribers took `ms` (live/live-queries.ts). */
  observeLiveStage(stage: LiveStage, ms: number, kind?: PollKind): void;
  /** The exposition text: this app's metrics and the process's. */
  scrape(): Promise<string>;
}

/** Operation names are client-chosen: only this many distinct ones become label values. */
export const MAX_OPERATION_NAMES = 200;
/** What a name must look like to be a label value (GraphQL names, at most 64 characters). */
const SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

type Labels = Record<string, string>;
type Reading = number | Iterable<readonly [Labels, number]> | undefined;
/** Metric name → its help and how to read its value(s). */
type Table = Record<string, readonly [help: string, read: () => Reading]>;

const samples = (reading: Reading): Iterable<readonly [Labels, number]> =>
  reading === undefined ? [] : typeof reading === "number" ? [[{}, reading]] : reading;

// The process's own metrics (CPU, memory, event-loop lag, GC, handles) describe the process, not
// an app: collected once per process. Per app, prom-client would start an event-loop monitor and
// a GC observer that nothing can stop, one more for every app a test builds.
let processRegistry: Registry | undefined;
const processMetrics = () => {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    replaceConnectionCounts(processRegistry);
  }
  return processRegistry;
};

/**
 * prom-client counts open file descriptors with a synchronous readdir of /proc/self/fd and the
 * active handles with two calls of process._getActiveHandles(), each O(connections) on the event
 * loop at every scrape: 25–38 ms a scrape with 10,000 sockets open, ~20 of them the readdir.
 * The same metrics, the descriptors read on libuv's thread pool and the handles listed once.
 */
export function replaceConnectionCounts(registry: Registry): void {
  const names = ["process_open_fds", "nodejs_active_handles", "nodejs_active_handles_total"] as const;
  /** prom-client's help texts (undefined: it did not register the metric). */
  const help = new Map(
    names.map((name) => [name, (registry.getSingleMetric(name) as { help?: string } | undefined)?.help]),
  );
  for (const name of names) registry.removeSingleMetric(name);
  const helpOf = (name: (typeof names)[number], fallback: string) => help.get(name) ?? fallback;
  if (help.get("process_open_fds") !== undefined) {
    new Gauge({
      name: "process_open_fds",
      help: helpOf("process_open_fds", "Number of open file descriptors."),
      registers: [registry],
      async collect() {
        // Minus the descriptor the listing itself holds open.
        const open = await readdir("/proc/self/fd").catch(() => undefined);
        if (open) this.set(open.length - 1);
      },
    });
  }
  const listHandles = (process as unknown as { _getActiveHandles?: () => object[] })._getActiveHandles;
  if (!listHandles) return;
  /** One listing per scrape, shared by both gauges (collected one after the other). */
  let listed: { at: number; byType: Map<string, number>; total: number } | undefined;
  const handles = () => {
    const now = performance.now();
    if (!listed || now - listed.at > 1_000) {
      const all = listHandles.call(process);
      const byType = new Map<string, number>();
      for (const handle of all) {
        const type = handle?.constructor?.name ?? "unknown";
        byType.set(type, (byType.get(type) ?? 0) + 1);
      }
      listed = { at: now, byType, total: all.length };
    }
    return listed;
  };
  new Gauge({
    name: "nodejs_active_handles",
    help: helpOf("nodejs_active_handles", "Number of active libuv handles grouped by handle type."),
    labelNames: ["type"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of handles().byType) this.set({ type }, count);
    },
  });
  new Gauge({
    name: "nodejs_active_handles_total",
    help: helpOf("nodejs_active_handles_total", "Total number of active handles."),
    registers: [registry],
    collect() {
      this.set(handles().total);
    },
  });
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  /**
   * Figures a component keeps, read when scraped: a name ending in `_total` is a counter (its
   * component only ever adds to it), any other a gauge.
   */
  const define = (table: Table, labelNames: string[] = []) => {
    for (const [name, [help, read]] of Object.entries(table)) {
      const collect = function (this: Gauge | Counter) {
        this.reset();
        for (const [labels, value] of samples(read())) {
          if (this instanceof Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      };
      const config = { name, help, labelNames, registers, collect };
      if (name.endsWith("_total")) new Counter(config);
      else new Gauge(config);
    }
  };

  // GraphQL operations, on every transport and thread.
  const names = new Set<string>();
  const operationName = (name: string | undefined) => {
    if (name === undefined) return "anonymous";
    if (names.has(name)) return name;
    if (!SAFE_NAME.test(name) || names.size >= MAX_OPERATION_NAMES) return "other";
    names.add(name);
    return name;
  };
  const operationLabels = ["operation", "type", "outcome"];
  const operations = new Counter({
    name: "graphql_operations_total",
    help: `GraphQL operations ended (subscriptions when they end), by operation name (at most ${MAX_OPERATION_NAMES}, else "other"), type and outcome (ok, or the first error code).`,
    labelNames: operationLabels,
    registers,
  });
  const durations = new Histogram({
    name: "graphql_operation_duration_seconds",
    help: "Execution time of GraphQL queries and mutations (an answer from the response cache: its lookup).",
    labelNames: operationLabels,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const messages = new Counter({
    name: "graphql_subscription_messages_total",
    help: "Messages sent by subscriptions that ended, by operation name.",
    labelNames: ["operation"],
    registers,
  });

  const refusals = new Counter({
    name: "pipeline_refusals_total",
    help: "Requests (HTTP) and operations (WebSocket) refused before any GraphQL was parsed: Host/Origin/CSRF, size, key, rate limit, admission; by transport and error code.",
    labelNames: ["transport", "code"],
    registers,
  });
  /** An error code as a label value: one of the API's codes (src/errors.ts), else a masked error's. */
  const codeLabel = (code: string) => (code in ERROR_CODES ? code : "INTERNAL_SERVER_ERROR");

  // Ingest: the batch writer and admission control.
  const writer = sources.writer;
  const load = sources.load;
  const flushes = new Histogram({
    name: "ingest_flush_duration_seconds",
    help: "Duration of each flush to QuestDB, retries included.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  define({
    ingest_queued_rows: ["Rows accepted and waiting for the next flush.", () => writer().queuedRows],
    ingest_in_flight_rows: ["Rows in the flush being sent to QuestDB.", () => writer().inFlightRows],
    ingest_oldest_queued_seconds: [
      "Age of the oldest row not yet acknowledged by QuestDB.",
      () => writer().oldestQueuedMs / 1000,
    ],
    ingest_flushes_total: ["Flushes completed.", () => writer().flushes],
    ingest_rows_written_total: ["Rows QuestDB acknowledged.", () => writer().rowsWritten],
    ingest_retries_total: ["ILP requests retried after a retriable failure.", () => writer().retries],
    ingest_rejected_rows_total: [
      "Rows dead-lettered (refused by QuestDB, or unflushable at shutdown).",
      () => writer().rejectedRows,
    ],
    ingest_reserved_rows: ["Rows announced by write bodies admitted but not yet queued.", () => load().reservedRows],
  });
  const lanes = (pick: (s: LoadStats) => Record<string, number>) => () =>
    Object.entries(pick(load())).map(([lane, value]) => [{ lane }, value] as const);
  define(
    {
      requests_active: [
        "GraphQL requests running, by lane (write: writer keys; read: the others).",
        lanes((s) => s.active),
      ],
      requests_waiting: ["Requests waiting for a slot, by lane.", lanes((s) => s.waiting)],
    },
    ["lane"],
  );
  define(
    {
      requests_refused_total: [
        "Requests refused by admission control: queue_full (a writer's, before its body was read) or overloaded.",
        () => [
          [{ reason: "queue_full" }, load().refusedQueueFull],
          [{ reason: "overloaded" }, load().refusedOverloaded],
        ],
      ],
    },
    ["reason"],
  );

  // The query cache: the main thread's and the analytics workers' (as of their latest answers).
  const caches = () => [sources.cache(), ...(sources.workers().analytics?.threadStats() ?? []).map((t) => t.cache)];
  const total = (pick: (s: QueryCacheStats) => number) => () => caches().reduce((n, s) => n + pick(s), 0);
  const byQuery = (pick: keyof QueryCounts) => () => {
    const sums = new Map<string, number>();
    for (const s of caches()) {
      for (const [query, counts] of Object.entries(s.byQuery)) sums.set(query, (sums.get(query) ?? 0) + counts[pick]);
    }
    return [...sums].map(([query, value]) => [{ query }, value] as const);
  };
  define(
    {
      query_cache_hits_total: ["SQL results served from the cache, by statement.", byQuery("hits")],
      query_cache_misses_total: ["SQL statements run: no current result was cached, by statement.", byQuery("misses")],
      query_cache_coalesced_total: [
        "Reads that joined an identical statement already running, by statement.",
        byQuery("coalesced"),
      ],
    },
    ["query"],
  );
  define({
    query_cache_invalidated_total: [
      "Entries dropped because a transaction applied since touched what they read.",
      total((s) => s.invalidated),
    ],
    query_cache_invalidated_whole_total: [
      "Of those, entries dropped whole-table (no range read, or none recorded for the transactions).",
      total((s) => s.invalidatedWhole),
    ],
    query_cache_invalidated_unknown_range_total: [
      "Of those, entries dropped because QuestDB recorded no range for a transaction (an UPDATE, a partition dropped).",
      total((s) => s.invalidatedUnknownRange),
    ],
    query_cache_kept_by_range_total: [
      "Entries of a table that moved, kept because its new transactions wrote outside their range.",
      total((s) => s.keptByRange),
    ],
    query_cache_evicted_total: ["Entries dropped to stay within QUERY_CACHE_MAX_BYTES.", total((s) => s.evicted)],
    query_cache_probes_total: [
      "Transaction snapshots the cache waited for (wal_tables() probes, shared).",
      total((s) => s.probes),
    ],
    query_cache_view_probes_total: [
      "Transaction probes that read materialized_views() too (a view a request reads had moved).",
      total((s) => s.viewProbes),
    ],
    query_cache_response_hits_total: ["Whole GraphQL answers served from the cache.", total((s) => s.responseHits)],
    query_cache_response_misses_total: [
      "Lookups of a whole answer that found none current.",
      total((s) => s.responseMisses),
    ],
    query_cache_derived_hits_total: [
      "Closed pieces of a bucketed series answered from their kept JSON text.",
      total((s) => s.derivedHits),
    ],
    query_cache_derived_kept_total: [
      "JSON texts of closed pieces of a bucketed series kept beside their rows.",
      total((s) => s.derivedKept),
    ],
    query_cache_entries: ["Entries in the caches.", total((s) => s.entries)],
    query_cache_bytes: ["Approximate size of the caches.", total((s) => s.bytes)],
  });
  const UNKNOWN_REASONS = {
    none_recorded: "noRange",
    ttl_unknown: "noRetention",
    load_failed: "loadFailed",
    too_many: "tooMany",
    purged: "purged",
  } as const;
  define(
    {
      query_cache_unknown_range_txns_total: [
        "Transactions the cache could not tie to a time range (each drops every cached entry of its table), by reason: none_recorded (an UPDATE, ALTER, TRUNCATE), ttl_unknown, load_failed (wal_transactions() failed three times), too_many (over 1,000 since the last probe), purged (no longer listed by wal_transactions()).",
        () =>
          Object.entries(UNKNOWN_REASONS).map(
            ([reason, key]) => [{ reason }, total((s) => s.unknownTxns?.[key] ?? 0)()] as const,
          ),
      ],
    },
    ["reason"],
  );

  // Live queries.
  const live = sources.live;
  define({
    websocket_connections: ["Open graphql-ws connections.", sources.webSockets],
    live_pollers: ["Distinct live queries being polled.", () => live().pollers],
    live_subscribers: ["Subscriptions served by live pollers.", () => live().subscribers],
    live_polls_total: ["Polls run.", () => live().polls],
    live_polls_skipped_total: [
      "Ticks at which a poller had no new commit and no slide, so it ran nothing.",
      () => live().pollsSkipped,
    ],
    live_statements_total: [
      "SQL statements run by live queries, the transaction checks included.",
      () => live().statements,
    ],
    live_pokes_total: [
      "Acknowledged flushes of this instance announced to live pollers that read their tables.",
      () => live().pokes,
    ],
  });
  define(
    {
      live_transaction_checks_total: [
        "Transaction checks (wal_tables()) by reason: tick (every LIVE_POLL_INTERVAL_MS) or poke (this instance's flush).",
        () => [
          [{ reason: "tick" }, live().tickChecks],
          [{ reason: "poke" }, live().pokeChecks],
        ],
      ],
    },
    ["reason"],
  );
  define({
    live_transaction_range_loads_total: [
      "Statements of the transaction checks that read the time ranges of new transactions of the tables tradeRecorded reads (wal_transactions()).",
      () => live().rangeLoads,
    ],
  });
  define(
    {
      live_poll_statements_total: [
        "Statements of live polls by name (tradeRecorded.poll: rows after the watermark and the late-window count; tradeRecorded.fresh: the rows alone, no transaction since the last poll having written at or before the watermark; polls joined into one statement count under the first one's name).",
        () => Object.entries(live().statementsByName).map(([statement, n]) => [{ statement }, n] as const),
      ],
    },
    ["statement"],
  );
  const liveStages = new Histogram({
    name: "live_event_stage_seconds",
    help: "Where a live event's time goes, by stage: batch_wait, ilp_commit, wal_apply, poll_wait, query, fan_out (poll stages also by poll: stream or latest).",
    labelNames: ["stage", "poll"],
    // Fine below 0.5 s, where the latency target of live events lies.
    buckets: [
      0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5,
      0.75, 1, 2, 5, 10,
    ],
    registers,
  });

  // pg pools: the main thread's by role, and the analytics workers' (summed over the workers).
  const pools = () => {
    const all = new Map(Object.entries(sources.pools()).map(([pool, p]) => [pool, poolStats(p)]));
    for (const thread of sources.workers().analytics?.threadStats() ?? []) {
      for (const [name, s] of Object.entries(thread.pools)) {
        const sum = all.get(`analytics-${name}`) ?? { inUse: 0, idle: 0, waiting: 0, max: 0 };
        for (const key of ["inUse", "idle", "waiting", "max"] as const) sum[key] += s[key];
        all.set(`analytics-${name}`, sum);
      }
    }
    return [...all];
  };
  const perPool = (pick: keyof PoolStats) => () => pools().map(([pool, s]) => [{ pool }, s[pick]] as const);
  define(
    {
      pg_pool_connections_in_use: ["Connections running a statement, by pool.", perPool("inUse")],
      pg_pool_connections_idle: ["Open connections waiting for a statement, by pool.", perPool("idle")],
      pg_pool_waiting_queries: ["Queries waiting for a connection, by pool.", perPool("waiting")],
      pg_pool_max_connections: ["Connections a pool may open.", perPool("max")],
    },
    ["pool"],
  );

  // Worker pools (src/ingest/write-workers.ts), labelled write or analytics.
  const perWorkerPool = (pick: keyof WriteWorkersStats) => () =>
    Object.entries(sources.workers()).map(([pool, w]) => [{ pool }, w.stats()[pick]] as const);
  define(
    {
      workers_ready: ["Worker threads ready, by pool (write, analytics).", perWorkerPool("ready")],
      workers_running: ["Requests running in worker threads, by pool.", perWorkerPool("running")],
      workers_answered_total: ["Requests answered by a worker, by pool.", perWorkerPool("answered")],
      workers_handed_back_total: [
        "Bodies a worker handed back to the main thread (not its kind of operation), by pool.",
        perWorkerPool("handedBack"),
      ],
      workers_restarts_total: ["Workers that stopped and were started again, by pool.", perWorkerPool("restarts")],
    },
    ["pool"],
  );

  // The spool (src/ingest/spool.ts), when SPOOL_MODE is not off.
  const spool = sources.spool;
  if (spool) {
    const read = (pick: (s: SpoolStats) => number) => () => {
      const s = spool();
      return s ? pick(s) : undefined;
    };
    define({
      spool_bytes: ["Bytes in the spool (rows not yet acknowledged by QuestDB).", read((s) => s.bytes)],
      spool_segments: ["Spool segment files.", read((s) => s.segments)],
      spool_pending_records: [
        "Calls whose rows are in the spool and not yet in QuestDB.",
        read((s) => s.pendingRecords),
      ],
      spool_appends_total: ["Calls written to the spool.", read((s) => s.appends)],
      spool_syncs_total: ["Group writes to the spool (one sync each in fsync mode).", read((s) => s.syncs)],
      spool_last_sync_duration_seconds: [
        "Duration of the latest group write and sync.",
        read((s) => s.lastSyncMs / 1000),
      ],
      spool_replayed_rows_total: [
        "Rows queued again at start from a previous process's spool.",
        read((s) => s.replayedRows),
      ],
      spool_skipped_bytes_total: ["Bytes of torn or corrupt records skipped at replay.", read((s) => s.skippedBytes)],
    });
  }

  return {
    registry,
    observeOperation(record) {
      const operation = operationName(record.operation);
      const code = record.errors[0];
      const outcome = code === undefined ? "ok" : codeLabel(code);
      const labels = { operation, type: record.type, outcome };
      operations.inc(labels);
      if (record.type === "subscription") messages.inc({ operation }, record.messages ?? 0);
      else durations.observe(labels, record.seconds);
    },
    observeRefusal: (code, transport) => refusals.inc({ transport, code: codeLabel(code) }),
    observeFlush: (ms) => flushes.observe(ms / 1000),
    observeLiveStage: (stage, ms, kind) =>
      liveStages.observe(kind === undefined ? { stage } : { stage, poll: kind }, Math.max(0, ms) / 1000),
    // prom-client separates families with empty lines; none are left, so that every line is a
    // `# HELP`, a `# TYPE` or a sample.
    scrape: async () =>
      `${[await registry.metrics(), await processMetrics().metrics()]
        .join("\n")
        .split("\n")
        .filter((line) => line !== "")
        .join("\n")}\n`,
  };
}

/** Serves `metrics` at GET `endpoint` (default /metrics). */
export function useMetrics(options: { endpoint?: string; metrics: Metrics }): Plugin {
  const { endpoint = "/metrics", metrics } = options;
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== "GET" || url.pathname !== endpoint) return;
      const body = await metrics.scrape();
      endResponse(new fetchAPI.Response(body, { headers: { "content-type": metrics.registry.contentType } }));
    },
  };
}
