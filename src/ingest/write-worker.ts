// A worker thread (src/ingest/write-workers.ts starts it). A write worker runs record mutations;
// an analytics worker runs the statistics queries with connections and a query cache of its own
// (their rows are parsed and merged there, not on the main thread's event loop).
//
// A write worker's thread. It runs a writer's big POST
// body the way the main thread would (src/http/graphql-fast-path.ts `answerOperation`: JSON,
// parse, validate, guard, coerce, the record mutation's row checks) and encodes the rows into
// ILP, so that none of that CPU holds the main thread's event loop. Only record mutations run
// here: anything else is handed back untouched. Rows are queued by the main thread's batch
// writer (one queue per process), which answers each enqueue and, later, its commit.
import { AsyncLocalStorage } from "node:async_hooks";
import { parentPort, workerData } from "node:worker_threads";
import type { OperationDefinitionNode } from "graphql";
import { createYoga } from "graphql-yoga";
import { createQueryCache } from "../analytics/cache.ts";
import { createHourSummaries } from "../analytics/drawdown-periods.ts";
import { analyticsResponseCache } from "../analytics/response-cache.ts";
import { createRollups } from "../analytics/rollup-coverage.ts";
import { createSqlRunner } from "../analytics/sql.ts";
import type { Context, RowSink, Services } from "../context.ts";
import { onlyRootFields } from "../guard/operation.ts";
import { type Answer, answerOperation } from "../http/graphql-fast-path.ts";
import { createOperationLog } from "../http/operation-log.ts";
import { pipelineYogaOptions } from "../http/pipeline.ts";
import { createLogger } from "../logger.ts";
import { newIlpBuffer } from "../questdb/ilp-http.ts";
import { createPgPool, poolStats } from "../questdb/pg-pool.ts";
import { tableNames } from "../questdb/tables.ts";
import { createTxnWatch } from "../questdb/txn-watch.ts";
import { viewNames } from "../questdb/views.ts";
import { schema } from "../schema/index.ts";
import { QueueFullError, RowsRejectedError, type Ticket, WriterClosedError } from "./batch-writer.ts";
import {
  type FromMain,
  ownBuffer,
  type ToMain,
  type WorkerThreadStats,
  type WriteWorkerData,
} from "./write-workers.ts";

const port = parentPort;
if (!port) throw new Error("write-worker.ts runs as a worker thread (src/ingest/write-workers.ts starts it)");
const data = workerData as WriteWorkerData;
const log = createLogger(data.logLevel).child({ component: `${data.kind}-worker` });

/** The root fields this worker runs: the record mutations, or the statistics queries. */
const OWN_FIELDS: ReadonlySet<string> = new Set([...data.fields, "__typename"]);

/** Accepts an operation of the worker's kind whose every root selection is one of its fields (or __typename). */
export const onlyOwnFields = (operation: OperationDefinitionNode): boolean =>
  onlyRootFields(operation, data.kind === "write" ? "mutation" : "query", OWN_FIELDS);

// Enqueues waiting for the main thread's answer, and tickets waiting for their commit.
let nextEnqueue = 0;
const enqueues = new Map<number, { resolve: (ticket: Ticket) => void; reject: (error: Error) => void }>();
const commits = new Map<number, { resolve: (ms: number) => void; reject: (error: Error) => void }>();

function rebuildError(error: { name: string; message: string; limit?: number; reason?: string; file?: string }) {
  if (error.name === "QueueFullError" || error.name === "SpoolFullError") {
    return new QueueFullError(error.limit ?? 0, error.message);
  }
  if (error.name === "WriterClosedError") return new WriterClosedError();
  if (error.name === "RowsRejectedError") return new RowsRejectedError(error.reason ?? "", error.file ?? "");
  return new Error(error.message);
}

/** The main thread's batch writer, seen from here: rows are encoded here and queued there. */
const sink: RowSink = {
  enqueueEncoded(encoded) {
    // Each chunk's bytes in an ArrayBuffer of their own, so that handing them over moves nothing else.
    const chunks = encoded.map((chunk) => ({ ...chunk, bytes: new Uint8Array(ownBuffer(chunk.bytes)) }));
    const id = nextEnqueue++;
    const committed = new Promise<number>((resolve, reject) => commits.set(id, { resolve, reject }));
    // A caller that chose not to wait (QUEUED) must not produce an unhandled rejection.
    committed.catch(() => {});
    const ticket = new Promise<Ticket>((resolve, reject) => enqueues.set(id, { resolve, reject }));
    // The job whose rows these are: once they are queued, the main thread lets that job's
    // admission go and gives this worker the next body while the job waits for its commit.
    const message: ToMain = { type: "enqueue", id, job: currentJob.getStore() ?? -1, chunks };
    port.postMessage(
      message,
      chunks.map((chunk) => chunk.bytes.buffer as ArrayBuffer),
    );
    return ticket.then((t) => ({ rows: t.rows, committed }));
  },
};

/** What a worker cannot do: anything but record mutations reaches none of these. */
const unavailable = new Proxy(
  {},
  {
    get(_target, property) {
      throw new Error(`${String(property)} is not available in a ${data.kind} worker`);
    },
  },
);

/** An analytics worker's own connections, SQL runner and query cache (its answers are read here). */
function analyticsServices(analytics: NonNullable<WriteWorkerData["analytics"]>) {
  const pgPool = (max: number, connectionWaitMs?: number) =>
    createPgPool({
      ...analytics.pg,
      max,
      statementTimeoutMs: analytics.queryTimeoutMs,
      ...(connectionWaitMs === undefined ? {} : { connectionWaitMs }),
    });
  const pool = pgPool(analytics.poolSize, 3 * analytics.queryTimeoutMs);
  const lightPool = pgPool(1);
  const sql = createSqlRunner({ pool, lightPool, log, timeoutMs: analytics.queryTimeoutMs });
  const txnWatch = createTxnWatch({ runner: sql });
  const cache = createQueryCache({ runner: sql, maxBytes: analytics.cacheMaxBytes, watch: txnWatch });
  // Sent with each answer: the main thread's /metrics shows this thread's cache and connections.
  threadStats = () => ({
    cache: cache.stats(),
    pools: { heavy: poolStats(pool), light: poolStats(lightPool) },
  });
  const rollups = createRollups(tableNames(data.tablePrefix), viewNames(data.tablePrefix), txnWatch);
  return { pool, sql, cache, rollups, txnWatch };
}

/** An analytics worker's cache and pool figures (none for a write worker). */
let threadStats: () => WorkerThreadStats | undefined = () => undefined;

const services = {
  writer: unavailable,
  sink,
  newIlpBuffer,
  pool: unavailable,
  live: unavailable,
  alerts: unavailable,
  sql: unavailable,
  // The context asks the cache for its per-request reads when it is made; a write worker never uses them.
  cache: { forRequest: () => unavailable },
  ...(data.analytics ? analyticsServices(data.analytics) : {}),
  liveLimits: { lateRowsMs: 0, maxQueued: 0 },
  tables: tableNames(data.tablePrefix),
  drawdownHours: createHourSummaries(),
  limits: data.limits,
  maxRecordsPerRequest: data.maxRecordsPerRequest,
  maxPageSize: data.pipeline.limits.maxPageSize,
  maxResultRows: data.pipeline.limits.maxResultRows,
} as unknown as Services;

const responseCache = analyticsResponseCache();
// Each operation's end is logged here and counted by the main thread's /metrics.
const operations = createOperationLog(log, (record) =>
  port.postMessage({ type: "operation", record } satisfies ToMain),
);

const yoga = createYoga<Record<string, unknown>, Context>({
  schema,
  graphqlEndpoint: "/graphql",
  graphiql: false,
  ...pipelineYogaOptions(data.pipeline, services, log, operations),
});

/** The run message being answered, across its awaits. */
const currentJob = new AsyncLocalStorage<number>();

/** An answer in chunks (spliced lists) as one chunk of its own memory, handed to the main thread without a copy. */
function joined(answer: Answer): Answer {
  if (typeof answer.body === "string") return answer;
  const body = new Uint8Array(answer.body.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of answer.body) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { ...answer, body: [body] };
}

function run(message: Extract<FromMain, { type: "run" }>): Promise<void> {
  return currentJob.run(message.id, () => answer(message));
}

async function answer(message: Extract<FromMain, { type: "run" }>): Promise<void> {
  const raw = Buffer.from(message.body);
  const headers = message.headers;
  let reply: ToMain;
  try {
    const answer = await answerOperation(
      yoga,
      raw,
      message.caller,
      {
        url: message.url,
        headers: {
          get: (name) => headers[name.toLowerCase()] ?? null,
          has: (name) => headers[name.toLowerCase()] !== undefined,
        },
      },
      // Statistics answers are cached whole here, as the main thread caches them.
      {
        accept: onlyOwnFields,
        onCachedAnswer: operations.cached,
        ...(data.kind === "analytics" ? { responseCache } : {}),
      },
    );
    const stats = threadStats();
    reply =
      answer === "delegate" || answer === "declined"
        ? { type: "handback", id: message.id, body: message.body }
        : { type: "answer", id: message.id, answer: joined(answer), ...(stats ? { stats } : {}) };
  } catch (error) {
    log.error({ err: error }, "a write worker's request failed unexpectedly");
    reply = { type: "handback", id: message.id, body: message.body };
  }
  const transfer =
    reply.type === "handback"
      ? [reply.body]
      : typeof reply.answer.body === "string"
        ? []
        : reply.answer.body.map((chunk) => chunk.buffer as ArrayBuffer);
  port?.postMessage(reply, transfer);
}

port.on("message", (message: FromMain) => {
  switch (message.type) {
    case "run":
      void run(message);
      return;
    case "enqueued": {
      const waiting = enqueues.get(message.id);
      enqueues.delete(message.id);
      if (message.error) {
        commits.delete(message.id);
        waiting?.reject(rebuildError(message.error));
      } else waiting?.resolve({ rows: message.rows, committed: Promise.resolve(0) });
      return;
    }
    case "committed": {
      const waiting = commits.get(message.id);
      commits.delete(message.id);
      if (message.error) waiting?.reject(rebuildError(message.error));
      else waiting?.resolve(message.ms);
      return;
    }
  }
});
port.postMessage({ type: "ready" } satisfies ToMain);
