// buildApp wires the long-lived parts together and returns { start, stop }; main only turns
// configuration into a call of it (modelled on graphql-yoga's examples/graphql-ws app.ts).
//
// Shutdown order, written down once: close WebSockets and live pollers, stop alert evaluation →
// stop accepting HTTP → flush and close the batch writer → close the pg pool → close the ILP
// client. (An embedded QuestDB is stopped by main after this.)
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createYoga, useReadinessCheck } from "graphql-yoga";
import type pg from "pg";
import type { Logger } from "pino";
import { createQueryCache, type QueryCache } from "./analytics/cache.ts";
import { createHourSummaries } from "./analytics/drawdown-periods.ts";
import { analyticsResponseCache, STATISTICS_ROOT_FIELDS } from "./analytics/response-cache.ts";
import { createRollups } from "./analytics/rollup-coverage.ts";
import { createSqlRunner, type SqlStatement } from "./analytics/sql.ts";
import { type Config, isLoopback, type QuestDbAddress } from "./config.ts";
import { type Context, forEvent, type Services } from "./context.ts";
import { createAdmission, isCaller } from "./guard/admission.ts";
import { createKeyRing } from "./guard/keys.ts";
import { createLoadControl } from "./guard/load.ts";
import { WRITE_MUTATIONS } from "./guard/operation.ts";
import { createRateLimiter } from "./guard/rate-limit.ts";
import { createRefusalLog, type RefusalLog } from "./guard/refusal-log.ts";
import { createTransportChecks } from "./guard/transport.ts";
import { graphiqlOptions } from "./http/graphiql-examples.ts";
import { createGraphQLHandler, type GraphQLHandler } from "./http/graphql-fast-path.ts";
import { createMetrics, useMetrics } from "./http/metrics.ts";
import { createOperationLog } from "./http/operation-log.ts";
import { pipelineYogaOptions } from "./http/pipeline.ts";
import { createStaticPages, useStaticPages } from "./http/static-pages.ts";
import { type BatchWriter, createBatchWriter } from "./ingest/batch-writer.ts";
import { createDurableSink } from "./ingest/durable-sink.ts";
import { createSystemSampler, type SystemSampler } from "./ingest/system-sampler.ts";
import { createWriteWorkers, type WriteWorkers } from "./ingest/write-workers.ts";
import { createAlertEngine } from "./live/alerts.ts";
import { createLiveQueries } from "./live/live-queries.ts";
import { type SharedExecutionCounts, useSharedSubscriptionExecution } from "./live/shared-execution.ts";
import { createWsServer } from "./live/ws-server.ts";
import { createIlpClient, type IlpClient, newIlpBuffer } from "./questdb/ilp-http.ts";
import { createPgPool } from "./questdb/pg-pool.ts";
import { ensureTables, SchemaConflictError, tableNames } from "./questdb/tables.ts";
import { createTxnWatch } from "./questdb/txn-watch.ts";
import { ensureViews, viewNames } from "./questdb/views.ts";
import { schema } from "./schema/index.ts";

export interface AppOptions {
  config: Config;
  /** Where QuestDB is: config.questdb, or the embedded server main started. */
  questdb: QuestDbAddress;
  log: Logger;
  /** Called when the app cannot go on (a schema conflict found after start-up). Default: log. */
  onFatal?: (error: Error) => void;
  /** Dead-letter folder; default config.deadLetterDir. */
  deadLetterDir?: string;
  /** Called after every analytics SQL statement (the benchmark records them). Default none. */
  onStatement?: (statement: SqlStatement, ms: number, error: unknown, rows: number) => void;
}

export interface App {
  readonly services: Services;
  readonly pool: pg.Pool;
  /** The light statements' pool (pages, links, probes, live pollers). */
  readonly lightPool: pg.Pool;
  readonly writer: BatchWriter;
  /** The write workers (WRITE_WORKERS), if any. */
  readonly workers: WriteWorkers | undefined;
  /** The analytics workers (ANALYTICS_WORKERS), if any. */
  readonly analyticsWorkers: WriteWorkers | undefined;
  readonly ilp: IlpClient;
  readonly sampler: SystemSampler;
  /** The Node request handler (fast path + Yoga). */
  readonly handler: GraphQLHandler;
  /** Subscription executions, and deliveries that reused one. */
  readonly sharedExecution: SharedExecutionCounts;
  /** graphql-ws's WebSocket server, once started. */
  readonly wsClients: () => number;
  readonly cache: QueryCache;
  /** Resolves when the tables have been verified (start-up may go on without QuestDB). */
  readonly tablesReady: Promise<void>;
  /** Listens; resolves with the base URL. Rejects on a schema conflict. */
  start(port?: number, host?: string): Promise<string>;
  stop(): Promise<void>;
  /** Web-standard fetch handler (for in-process tests). */
  fetch(request: Request): Promise<Response>;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function buildApp(options: AppOptions): App {
  const { config, questdb, log } = options;
  const onFatal = options.onFatal ?? ((error: Error) => log.fatal({ err: error }, error.message));
  const tables = tableNames(config.tablePrefix);
  const views = viewNames(config.tablePrefix);
  /** A pg pool on QuestDB's PGWire address. */
  const pgPool = (max: number, statementTimeoutMs: number, connectionWaitMs?: number) =>
    createPgPool({
      host: questdb.pgHost,
      port: questdb.pgPort,
      user: questdb.pgUser,
      password: questdb.pgPassword,
      database: questdb.pgDatabase,
      max,
      statementTimeoutMs,
      ...(connectionWaitMs === undefined ? {} : { connectionWaitMs }),
    });
  // Statistics statements: few connections (each holds a QuestDB network thread and CPU for
  // seconds; more would starve short statements), and a chart waits its turn rather than fail.
  const pool = pgPool(config.pgPoolSize, config.queryTimeoutMs, 3 * config.queryTimeoutMs);
  const ilp = createIlpClient({
    host: questdb.httpHost,
    port: questdb.httpPort,
    user: questdb.httpUser,
    password: questdb.httpPassword,
  });

  // /metrics (prom-client): every source is read when it is scraped, so later parts may be named.
  const metrics = createMetrics({
    writer: () => writer.stats(),
    load: () => load.stats(),
    live: () => live.stats(),
    cache: () => cache.stats(),
    webSockets: () => ws?.wss.clients.size ?? 0,
    pools: () => ({ heavy: pool, light: lightPool, readiness: readinessPool }),
    ...(config.spoolMode === "off" ? {} : { spool: () => sink.stats() }),
    workers: () => ({
      ...(workers ? { write: workers } : {}),
      ...(analyticsWorkers ? { analytics: analyticsWorkers } : {}),
    }),
  });
  // Where every operation ends, on every transport and thread: a log line, and /metrics.
  const operations = createOperationLog(log, metrics.observeOperation);

  let stopped = false;
  let markTablesReady!: () => void;
  const tablesReady = new Promise<void>((done) => {
    markTablesReady = done;
  });
  let tablesVerified = false;

  const writer = createBatchWriter({
    ilp,
    log: log.child({ component: "batch-writer" }),
    intervalMs: config.batchIntervalMs,
    maxBatchRows: config.batchMaxRows,
    maxQueueRows: config.maxQueueRows,
    deadLetterDir: options.deadLetterDir ?? config.deadLetterDir,
    // ILP would auto-create a missing table with guessed types: never write before start-up
    // has created and verified them.
    waitUntilReady: () => tablesReady,
    onFlush: metrics.observeFlush,
    // This instance's acknowledged rows reach live subscribers without waiting for a tick.
    onCommitted: (written, timing) => live.poke(written, timing),
  });

  // Rows of record mutations: reserved in the writer's queue, appended to the spool, then queued.
  const sink = createDurableSink({
    writer,
    spool:
      config.spoolMode === "off"
        ? undefined
        : {
            dir: config.spoolDir,
            mode: config.spoolMode,
            maxBytes: config.spoolMaxBytes,
            log: log.child({ component: "spool" }),
          },
    log: log.child({ component: "spool" }),
  });

  const sampler = createSystemSampler({
    writer,
    table: tables.system_metrics,
    instance: config.instanceId,
    intervalMs: config.systemMetricsIntervalMs,
    log,
  });

  // Trade pages, links, the cache's probe and live pollers: never behind month-long charts.
  const lightPool = pgPool(config.pgLightPoolSize, config.queryTimeoutMs);
  // Transaction checks on a connection of their own: never queued behind the polls they start.
  const liveCheckPool = pgPool(1, config.queryTimeoutMs);
  // Live polls and their transaction checks run through SQL runners of their own (named, timed,
  // counted like every statement), not logged one by one: several a second, even at debug.
  const liveSqlLog = log.child({ component: "live-sql" }, { level: "info" });
  const sql = createSqlRunner({
    pool,
    lightPool,
    log: log.child({ component: "sql" }),
    timeoutMs: config.queryTimeoutMs,
    ...(options.onStatement ? { onStatement: options.onStatement } : {}),
  });
  const txnWatch = createTxnWatch({ runner: sql });
  // The one transaction watcher: the cache's probes and the live checks extend one range log.
  const live = createLiveQueries({
    sql: createSqlRunner({ pool: lightPool, log: liveSqlLog, timeoutMs: config.queryTimeoutMs }),
    checkSql: createSqlRunner({ pool: liveCheckPool, log: liveSqlLog, timeoutMs: config.queryTimeoutMs }),
    watch: txnWatch,
    log: log.child({ component: "live" }),
    intervalMs: config.livePollIntervalMs,
    cohorts: config.liveCohorts,
    poke: config.livePoke,
    observe: metrics.observeLiveStage,
  });
  const cache = createQueryCache({ runner: sql, maxBytes: config.queryCacheMaxBytes, watch: txnWatch });
  // Rules run on the light pool (short statements over a recent window), each on a timer of its
  // own. QuestDB's statement_timeout (QUERY_TIMEOUT_MS) stops a slow statement first and keeps the
  // connection; the client-side deadline, a second later, only trips when QuestDB does not answer
  // at all (frozen, network gone), so that a silent QuestDB holds neither a rule nor a connection.
  const alerts = createAlertEngine({
    sql,
    storeSql: createSqlRunner({
      pool: lightPool,
      // A steady background (a few statements a second): not logged one by one, even at debug.
      log: log.child({ component: "alerts" }, { level: "info" }),
      timeoutMs: config.queryTimeoutMs,
    }),
    tables,
    writer,
    newBuffer: newIlpBuffer,
    instance: config.instanceId,
    rules: config.alertRules,
    intervalMs: config.alertIntervalMs,
    syncMs: config.alertSyncMs,
    leaseMs: config.alertLeaseMs,
    statementTimeoutMs: config.queryTimeoutMs + 1_000,
    log: log.child({ component: "alerts" }),
  });
  /** Seeds ALERT_RULES, takes up the stored state and starts the timers; retried while QuestDB fails. */
  const startAlerts = async () => {
    await tablesReady;
    for (let delay = 250; !stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        await alerts.start();
        return;
      } catch (error) {
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "alert rules not started yet");
        await sleep(delay);
      }
    }
  };

  const services: Services = {
    pool,
    writer,
    newIlpBuffer,
    sink,
    live,
    alerts,
    liveLimits: { lateRowsMs: config.liveLateRowsMs, maxQueued: config.liveMaxQueued },
    tables,
    drawdownHours: createHourSummaries(),
    limits: { retentionDays: config.retentionDays, maxFutureMs: config.maxClockSkewMs },
    maxRecordsPerRequest: config.maxRecordsPerRequest,
    maxPageSize: config.limits.maxPageSize,
    maxResultRows: config.limits.maxResultRows,
    sql,
    cache,
    rollups: createRollups(tables, views, txnWatch),
    txnWatch,
  };

  // The request pipeline (docs/security.md), in order: transport checks → key → rate limit (on
  // headers, in http/graphql-fast-path.ts and live/ws-server.ts) → parse → validate → authorise
  // and cost → execute → answer size (one envelop plugin, guard/operation.ts, for every transport).
  const transport = createTransportChecks({
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
    csrfPrevention: config.csrfPrevention,
    maxBodyBytes: config.limits.maxBodyBytes,
  });
  const keyRing = createKeyRing(config.keys);
  const load = createLoadControl({
    queue: () => {
      const { queuedRows, inFlightRows } = writer.stats();
      return { rows: queuedRows + inFlightRows, max: config.maxQueueRows };
    },
    ...config.load,
  });
  // /ready has a connection of its own, so that a pool busy with dashboards cannot make probes
  // wait; its answer is reused for 500 ms (a probe storm costs QuestDB nothing), and one of the
  // last 5 s answers while a check is still running.
  const readinessPool = pgPool(1, 2_000);
  let lastReadiness: { at: number; ready: boolean } | undefined;
  let checking: { since: number; result: Promise<boolean> } | undefined;
  const readiness = (): Promise<boolean> => {
    const now = Date.now();
    if (lastReadiness && now - lastReadiness.at < 500) return Promise.resolve(lastReadiness.ready);
    const settle = (ready: boolean) => {
      lastReadiness = { at: Date.now(), ready };
      return ready;
    };
    if (!checking) {
      // A QuestDB that does not answer at all (frozen, a network black hole) enforces no
      // statement timeout: the check gives up by itself.
      let timer: NodeJS.Timeout | undefined;
      const result = Promise.race([
        readinessPool.query("SELECT 1").then(() => true),
        new Promise<boolean>((done) => {
          timer = setTimeout(() => done(false), 2_000);
        }),
      ]).then(settle, () => settle(false));
      checking = { since: now, result };
      void result.finally(() => {
        clearTimeout(timer);
        checking = undefined;
      });
    }
    // A SELECT 1 unanswered for a second: QuestDB is not serving, say so now rather than wait.
    if (now - checking.since > 1_000) return Promise.resolve(false);
    // While a check runs behind busy statements, an answer of the last 5 s stands in for it.
    if (lastReadiness && now - lastReadiness.at < 5_000) return Promise.resolve(lastReadiness.ready);
    return checking.result;
  };
  const logRefusal = createRefusalLog(log.child({ component: "guard" }));
  const refusalLog: RefusalLog = (error, detail) => {
    metrics.observeRefusal(String(error.extensions.code ?? ""), detail.transport);
    logRefusal(error, detail);
  };
  // The front door, the dashboard and the docs (issue 14): open paths, served from memory.
  const pages = createStaticPages({
    publicDir: fileURLToPath(new URL("../public", import.meta.url)),
    docsDir: fileURLToPath(new URL("../docs", import.meta.url)),
    // The dashboard asks for a key before its first request when the server needs one.
    json: { "/dashboard/server.json": { keysRequired: keyRing.enabled } },
  });
  const admission = createAdmission({
    keys: keyRing,
    limiter: createRateLimiter({ perSecond: config.limits.rateLimitPerSecond, burst: config.limits.rateLimitBurst }),
    perSecond: config.limits.rateLimitPerSecond,
  });
  // Each event is answered like a new request (fresh probe and loaders), not from the state of
  // the subscription's first one.
  const sharedExecution = useSharedSubscriptionExecution({ eventContext: (context) => forEvent(context as Context) });
  const pipeline = pipelineYogaOptions(
    { limits: config.limits, writerCanRead: config.writerCanRead, production: config.production },
    services,
    log,
    operations,
  );
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    // Only the API's own pages and ALLOWED_ORIGINS get CORS headers (others are refused before).
    cors: (request) => transport.cors(request),
    ...pipeline,
    // GraphiQL runs subscriptions over the same path with graphql-ws, and is served from our
    // own node_modules (the default page loads it from unpkg.com, which offline hosts can't reach).
    // It opens with example operations of this API (a bot's, a dashboard's, a monitor's).
    graphiql: () => graphiqlOptions(),
    // Loaded on the first GraphiQL visit: its bundle is ~10 MB of strings a bot never needs.
    renderGraphiQL: async (options) => (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options),
    plugins: [
      useStaticPages(pages),
      ...pipeline.plugins,
      sharedExecution,
      useMetrics({ metrics }),
      useReadinessCheck({
        endpoint: "/ready",
        check: async () => {
          if (!tablesVerified || stopped || sink.replaying()) return false;
          // Until a write worker has loaded (about a second after start), big batches would run
          // on the main thread: an instance takes a fleet's traffic only once one is ready.
          if (workers && workers.stats().ready === 0) return false;
          if (analyticsWorkers && analyticsWorkers.stats().ready === 0) return false;
          return readiness();
        },
      }),
    ],
  });

  const verifyTables = async () => {
    const onChange = (message: string) => log.info({ component: "tables" }, message);
    await ensureTables(pool, { names: tables, retentionDays: config.retentionDays, onChange });
    // After the tables: the views read the (migrated) tables.
    await ensureViews(pool, { tables, views, retentionDays: config.retentionDays, onChange });
    tablesVerified = true;
    markTablesReady();
  };

  /** Keeps trying while QuestDB is unreachable; a conflict is fatal. */
  const verifyInBackground = async () => {
    let delay = 250;
    while (!stopped) {
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
      try {
        await verifyTables();
        log.info("QuestDB reachable; tables verified");
        return;
      } catch (error) {
        if (error instanceof SchemaConflictError) {
          onFatal(error);
          return;
        }
      }
    }
  };

  // Writers' big bodies are parsed, checked and encoded in worker threads (WRITE_WORKERS).
  const workerData = {
    pipeline: { limits: config.limits, writerCanRead: config.writerCanRead, production: config.production },
    tablePrefix: config.tablePrefix,
    limits: services.limits,
    maxRecordsPerRequest: config.maxRecordsPerRequest,
    logLevel: config.logLevel,
  };
  const workers =
    config.writeWorkers > 0
      ? createWriteWorkers({
          count: config.writeWorkers,
          minBytes: config.writeWorkerMinBytes,
          heapMb: config.writeWorkerHeapMb,
          sink,
          log: log.child({ component: "write-workers" }),
          onOperation: metrics.observeOperation,
          data: { ...workerData, kind: "write", fields: [...WRITE_MUTATIONS] },
        })
      : undefined;
  // The statistics queries run in analytics workers (ANALYTICS_WORKERS): their rows are parsed and
  // merged there, with connections and a cache of their own, not on the event loop of probes.
  const analyticsWorkers =
    config.analyticsWorkers > 0
      ? createWriteWorkers({
          count: config.analyticsWorkers,
          minBytes: 0,
          heapMb: config.analyticsWorkerHeapMb,
          // Charts wait on QuestDB, not on the CPU: a short one must not queue behind a month.
          // Each statement brings at most MAX_RESULT_ROWS rows, and PG_POOL_SIZE run at once.
          jobsPerWorker: 8,
          log: log.child({ component: "analytics-workers" }),
          onOperation: metrics.observeOperation,
          data: {
            ...workerData,
            kind: "analytics",
            fields: [...STATISTICS_ROOT_FIELDS],
            analytics: {
              pg: {
                host: questdb.pgHost,
                port: questdb.pgPort,
                user: questdb.pgUser,
                password: questdb.pgPassword,
                database: questdb.pgDatabase,
              },
              poolSize: config.pgPoolSize,
              queryTimeoutMs: config.queryTimeoutMs,
              cacheMaxBytes: config.queryCacheMaxBytes,
            },
          },
        })
      : undefined;
  // Bots' and dashboards' POSTs; whole answers of analytics queries are cached (QUERY_CACHE_MAX_BYTES).
  const handler = createGraphQLHandler(yoga, {
    ...(workers ? { workers } : {}),
    ...(analyticsWorkers ? { analyticsWorkers } : {}),
    shuttingDown: () => stopped,
    openPaths: ["/health", "/ready", "/metrics", ...pages.paths],
    responseCache: analyticsResponseCache(),
    transport,
    admission,
    maxBodyBytes: config.limits.maxBodyBytes,
    onRefusal: refusalLog,
    load,
    onCachedAnswer: operations.cached,
  });
  let server: Server | undefined;
  let ws: ReturnType<typeof createWsServer> | undefined;

  return {
    services,
    pool,
    lightPool,
    writer,
    workers,
    analyticsWorkers,
    ilp,
    sampler,
    handler,
    sharedExecution: sharedExecution.counts,
    wsClients: () => ws?.wss.clients.size ?? 0,
    cache,
    tablesReady,
    // In-process requests pass the same key and rate-limit stages as the HTTP server's.
    fetch: async (request) => {
      const caller = admission.admit(request.headers.get("authorization"));
      if (!isCaller(caller)) {
        const status = (caller.extensions.http as { status: number }).status;
        return new Response(
          JSON.stringify({ errors: [{ message: caller.message, extensions: { code: caller.extensions.code } }] }),
          {
            status,
            headers: { "content-type": "application/json" },
          },
        );
      }
      return yoga.fetch(request, { caller });
    },

    async start(port = config.port, host = config.host) {
      if (!keyRing.enabled && !isLoopback(host)) {
        throw new Error(
          `Refusing to listen on ${host} without API keys: set API_KEYS or API_KEYS_FILE, or listen on a loopback address`,
        );
      }
      try {
        await verifyTables();
      } catch (error) {
        if (error instanceof SchemaConflictError) throw error;
        log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          "QuestDB is not reachable yet; serving anyway (/ready answers 503) and queueing writes until it is",
        );
        void verifyInBackground();
      }
      // Rows a previous process accepted and QuestDB did not take yet are queued before any new one.
      await sink.open();
      // With QuestDB up, the shared rules are in place before the first request (10 s at most).
      const alertsStarted = startAlerts();
      if (tablesVerified) await Promise.race([alertsStarted, sleep(10_000)]);
      workers?.start();
      analyticsWorkers?.start();
      server = createServer(handler);
      // `Expect: 100-continue`: the same pipeline decides on the headers; the body is asked for
      // only once the request is admitted (a refused batch is never uploaded).
      server.on("checkContinue", handler);
      const listening = server;
      ws = createWsServer({
        server: listening,
        yoga,
        transport,
        admission,
        maxPayloadBytes: config.limits.maxBodyBytes,
        maxSubscriptionsPerConnection: config.limits.maxSubscriptionsPerConnection,
        maxSubscriptionsPerKey: config.limits.maxSubscriptionsPerKey,
        onRefusal: refusalLog,
        // tradeRecorded's events skip graphql-ws's per-subscription machinery (issue 15, point 3).
        directEvents: {
          result: sharedExecution.eventResult,
          delivered: (context, result) => {
            sharedExecution.delivered(result);
            operations.delivered(context);
          },
          maxResponseBytes: config.limits.maxResponseBytes,
        },
      });
      if (keyRing.enabled) {
        // Names and roles only: keys are never logged.
        log.info({ keys: config.keys.map(({ name, role }) => ({ name, role })) }, "API keys loaded");
      } else {
        log.warn(
          { host },
          "No API keys configured (API_KEYS, API_KEYS_FILE): the API runs open to anyone who can reach this loopback address",
        );
      }
      await new Promise<void>((done, reject) => {
        listening.once("error", reject);
        listening.listen(port, host, () => done());
      });
      const address = listening.address() as AddressInfo;
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
      log.info({ url: `${url}/graphql` }, "GraphQL API listening");
      return url;
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      await ws?.close();
      live.close();
      alerts.stop();
      if (server) {
        const closing = server;
        await new Promise<void>((done) => {
          closing.close(() => done());
          closing.closeIdleConnections();
          // Requests in progress get a grace period; then their sockets are closed.
          setTimeout(() => closing.closeAllConnections(), 5_000).unref();
        });
      }
      sampler.stop();
      // Requests still in a worker are answered SHUTTING_DOWN; then the queue is flushed.
      await workers?.close();
      await analyticsWorkers?.close();
      await sink.seal();
      // With a spool, what QuestDB does not take in time stays there for the next start.
      await writer.close({ keepUnflushed: config.spoolMode !== "off" });
      await sink.close();
      await pool.end();
      await lightPool.end();
      await liveCheckPool.end();
      await readinessPool.end();
      ilp.close();
    },
  };
}
