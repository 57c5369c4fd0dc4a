// Write workers (issue 10; docs/security.md "Load"): a writer's big POST body is run in a worker
// thread, not on the main thread. A 2,000-trade batch costs tens of milliseconds of CPU
// (JSON, GraphQL parsing and variable coercion, the rows' checks, ILP encoding); on the main
// thread each one held the event loop that also answers probes, refusals and dashboards, and
// under 100 bots /health waited hundreds of ms. In a worker the main thread only reads the body,
// hands it over (transferred, not copied) and sends the answer; the worker hands the encoded
// rows back to the main thread's batch writer, which stays the one queue of the process.
//
// A worker runs only record mutations (src/ingest/write-worker.ts); any other operation, and a
// body that is not a plain GraphQL request, is handed back and run on the main thread as before.
// A worker that dies fails its requests with OVERLOADED (retryable) and is started again.
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { QueryCacheStats } from "../analytics/cache.ts";
import type { LogLevel, RequestLimits } from "../config.ts";
import type { RowSink } from "../context.ts";
import { clientError } from "../errors.ts";
import type { Caller } from "../guard/keys.ts";
import type { Answer } from "../http/graphql-fast-path.ts";
import type { OnOperation, OperationRecord } from "../http/operation-log.ts";
import type { PipelineOptions } from "../http/pipeline.ts";
import type { PoolStats } from "../questdb/pg-pool.ts";
import type { EncodedRows } from "./encoded-rows.ts";
import type { ValidationLimits } from "./validation.ts";

/** What a worker needs to run the pipeline and the record mutations as the main thread would. */
export interface WriteWorkerData {
  /** write: record mutations, rows queued by the main thread; analytics: statistics queries. */
  kind: "write" | "analytics";
  pipeline: PipelineOptions & { limits: RequestLimits };
  tablePrefix: string;
  limits: ValidationLimits;
  maxRecordsPerRequest: number;
  /** The root fields a worker runs (the record mutations, or the statistics queries). */
  fields: string[];
  /** An analytics worker's QuestDB connections and cache. */
  analytics?: {
    pg: { host: string; port: number; user: string; password: string; database: string };
    poolSize: number;
    queryTimeoutMs: number;
    cacheMaxBytes: number;
  };
  logLevel: LogLevel;
}

interface SerializedError {
  name: string;
  message: string;
  limit?: number;
  reason?: string;
  file?: string;
}

/** Messages from the main thread to a worker. */
export type FromMain =
  | { type: "run"; id: number; body: ArrayBuffer; caller: Caller; headers: Record<string, string>; url: string }
  | { type: "enqueued"; id: number; rows: number; error?: SerializedError }
  | { type: "committed"; id: number; ms: number; error?: SerializedError };

/** An analytics worker's own query cache and pg pools, as of its latest answer (for /metrics). */
export interface WorkerThreadStats {
  cache: QueryCacheStats;
  pools: Record<string, PoolStats>;
}

/** Messages from a worker to the main thread. */
export type ToMain =
  | { type: "ready" }
  | { type: "answer"; id: number; answer: Answer; stats?: WorkerThreadStats }
  /** An operation ended in the worker (its log line is written there). */
  | { type: "operation"; record: OperationRecord }
  /** Not a record mutation (or not a plain request): the main thread runs it; the body comes back. */
  | { type: "handback"; id: number; body: ArrayBuffer }
  /** Rows of job `job` to queue. */
  | { type: "enqueue"; id: number; job: number; chunks: EncodedRows[] };

export interface WriteWorkersOptions {
  /** Worker threads (WRITE_WORKERS); 0 runs everything on the main thread. */
  count: number;
  /** Bodies at least this long go to a worker (WRITE_WORKER_MIN_BYTES); smaller ones cost less inline. */
  minBytes: number;
  /** Heap limit of each worker, MB (WRITE_WORKER_HEAP_MB). Default 96. */
  heapMb?: number;
  /**
   * Requests one worker runs at once. Default 1: a write worker parses one big body at a time,
   * which bounds its heap. An analytics worker mostly waits for QuestDB, and runs several.
   */
  jobsPerWorker?: number;
  /** Where a write worker's rows are queued: the spool and batch writer (absent for analytics workers). */
  sink?: RowSink;
  data: WriteWorkerData;
  log: Logger;
  /** Told of every operation a worker ran (src/http/metrics.ts counts them). Default none. */
  onOperation?: OnOperation;
}

/** The result of handing a body to a worker. */
export type WorkerOutcome =
  | { kind: "answer"; answer: Answer }
  /** The main thread runs it: no worker was ready, or the worker handed it back (with the body). */
  | { kind: "main"; body: Buffer };

export interface WriteWorkersStats {
  workers: number;
  ready: number;
  running: number;
  answered: number;
  handedBack: number;
  restarts: number;
}

export interface WriteWorkers {
  readonly minBytes: number;
  /** Starts the workers (the server calls it when it starts listening); idempotent. */
  start(): void;
  /** Runs a writer's POST body in the least busy ready worker. */
  run(
    body: Buffer,
    caller: Caller,
    headers: Record<string, string>,
    url: string,
    /** Called once the body's rows are queued (the request's admission can go). */
    onQueued?: () => void,
  ): Promise<WorkerOutcome>;
  stats(): WriteWorkersStats;
  /** Each running worker's cache and pool figures, as of its latest answer (analytics workers). */
  threadStats(): WorkerThreadStats[];
  /** Stops the workers; requests still running in them are answered SHUTTING_DOWN. */
  close(): Promise<void>;
}

/**
 * Heap a body may take in a worker, per byte: its text, the parsed JSON (~1.9× the body), the
 * GraphQL snapshot and coerced copies, the checked rows and their ILP bytes (measured ~10×).
 */
const HEAP_BYTES_PER_BODY_BYTE = 12;

interface Job {
  resolve: (outcome: WorkerOutcome) => void;
  /** Its body's length. */
  bytes: number;
  /** Called once its rows are queued (the request's admission goes). */
  onQueued: (() => void) | undefined;
  /** Its rows are queued and it waits for their commit: it no longer counts as running. */
  parked: boolean;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Job>;
  /** Body bytes of the parked jobs, whose parsed copies the worker still holds. */
  parkedBytes: number;
  stats?: WorkerThreadStats;
}

const serialize = (error: unknown): SerializedError => {
  const e = error as Partial<SerializedError> & Error;
  return {
    name: e.name ?? "Error",
    message: e.message ?? String(error),
    ...(typeof e.limit === "number" ? { limit: e.limit } : {}),
    ...(typeof e.reason === "string" ? { reason: e.reason } : {}),
    ...(typeof e.file === "string" ? { file: e.file } : {}),
  };
};

/** An answer in GraphQL's error format for a request its worker could not finish. */
function refusal(code: "OVERLOADED" | "SHUTTING_DOWN", message: string): Answer {
  const error = clientError(code, message, { retryable: true, retryAfterMs: 1_000 });
  const { http: _http, ...extensions } = error.extensions;
  return {
    status: 503,
    headers: { "content-type": "application/json; charset=utf-8", "retry-after": "1" },
    body: JSON.stringify({ errors: [{ message: error.message, extensions }] }),
  };
}

const shuttingDown = () =>
  refusal("SHUTTING_DOWN", "the server is shutting down; send the request again to another instance or later");

/** Bytes in an ArrayBuffer of their own (copied unless they are already), safe to transfer. */
export function ownBuffer(body: Uint8Array): ArrayBuffer {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer) {
    return body.buffer;
  }
  const copy = new ArrayBuffer(body.byteLength);
  new Uint8Array(copy).set(body);
  return copy;
}

export function createWriteWorkers(options: WriteWorkersOptions): WriteWorkers {
  const { count, minBytes, heapMb = 96, jobsPerWorker = 1, sink, data, log, onOperation } = options;
  const slots: Slot[] = [];
  let nextJob = 0;
  let closing = false;
  const counts = { answered: 0, handedBack: 0, restarts: 0 };

  const start = (index: number) => {
    // TypeScript sources: the worker loads them through tsx, as `npm start` does.
    const worker = new Worker(new URL("./write-worker-boot.mjs", import.meta.url), {
      workerData: data,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false, jobs: new Map(), parkedBytes: 0 };
    slots[index] = slot;
    worker.on("message", (message: ToMain) => onMessage(slot, message));
    worker.on("error", (error) => log.error({ err: error, worker: index }, "a write worker failed"));
    worker.on("exit", (code) => {
      slot.ready = false;
      for (const [, job] of slot.jobs) {
        job.resolve({
          kind: "answer",
          answer: closing
            ? shuttingDown()
            : refusal("OVERLOADED", "the worker running this request stopped; retry after 1 s"),
        });
      }
      slot.jobs.clear();
      dispatch();
      if (closing) return;
      counts.restarts++;
      log.error({ worker: index, code }, "a write worker exited; starting another");
      setTimeout(() => {
        if (!closing) start(index);
      }, 500).unref();
    });
  };

  /** A job's outcome: its request is answered, and the worker takes the next body. */
  const finish = (slot: Slot, id: number, outcome: WorkerOutcome) => {
    const job = slot.jobs.get(id);
    job?.resolve(outcome);
    if (job?.parked) slot.parkedBytes -= job.bytes;
    slot.jobs.delete(id);
    dispatch();
  };

  /**
   * A job's rows are queued: its request's admission goes, and while it waits for its commit
   * (COMMITTED) the worker takes the next body, as long as the parked bodies' parsed copies stay
   * within half its heap.
   */
  const park = (slot: Slot, id: number) => {
    const job = slot.jobs.get(id);
    if (!job || job.parked) return;
    job.parked = true;
    slot.parkedBytes += job.bytes;
    job.onQueued?.();
    dispatch();
  };

  const canTake = (slot: Slot, bytes: number): boolean => {
    let running = 0;
    for (const job of slot.jobs.values()) if (!job.parked) running++;
    if (running >= jobsPerWorker) return false;
    return (
      slot.parkedBytes === 0 || (slot.parkedBytes + bytes) * HEAP_BYTES_PER_BODY_BYTE <= (heapMb * 1024 * 1024) / 2
    );
  };

  const onMessage = (slot: Slot, message: ToMain) => {
    switch (message.type) {
      case "ready":
        slot.ready = true;
        dispatch();
        return;
      case "answer":
        counts.answered++;
        if (message.stats) slot.stats = message.stats;
        finish(slot, message.id, { kind: "answer", answer: message.answer });
        return;
      case "operation":
        onOperation?.(message.record);
        return;
      case "handback":
        counts.handedBack++;
        finish(slot, message.id, { kind: "main", body: Buffer.from(message.body) });
        return;
      case "enqueue": {
        const { id } = message;
        const reply = (answer: FromMain) => slot.worker.postMessage(answer);
        void (async () => {
          if (!sink) throw new Error("this worker pool has no writer");
          return sink.enqueueEncoded(message.chunks);
        })().then(
          (ticket) => {
            reply({ type: "enqueued", id, rows: ticket.rows });
            park(slot, message.job);
            ticket.committed.then(
              (ms: number) => reply({ type: "committed", id, ms }),
              (error: unknown) => reply({ type: "committed", id, ms: 0, error: serialize(error) }),
            );
          },
          (error: unknown) => reply({ type: "enqueued", id, rows: 0, error: serialize(error) }),
        );
        return;
      }
    }
  };

  /** Bodies waiting for an idle worker: one body at a time per worker bounds its heap. */
  const waiting: (Omit<Extract<FromMain, { type: "run" }>, "type" | "id" | "body"> & {
    body: Buffer;
    resolve: (outcome: WorkerOutcome) => void;
    onQueued: (() => void) | undefined;
  })[] = [];

  const dispatch = () => {
    for (const slot of slots) {
      while (waiting.length > 0 && slot.ready && canTake(slot, (waiting[0] as (typeof waiting)[number]).body.length)) {
        const job = waiting.shift() as (typeof waiting)[number];
        const id = nextJob++;
        const transferable = ownBuffer(job.body);
        slot.jobs.set(id, { resolve: job.resolve, bytes: job.body.length, onQueued: job.onQueued, parked: false });
        const message: FromMain = {
          type: "run",
          id,
          body: transferable,
          caller: job.caller,
          headers: job.headers,
          url: job.url,
        };
        slot.worker.postMessage(message, [transferable]);
      }
    }
    // No worker ready any more (they are restarting): what waits runs on the main thread.
    if (!slots.some((slot) => slot.ready)) {
      for (const job of waiting.splice(0)) job.resolve({ kind: "main", body: job.body });
    }
  };

  const startAll = () => {
    if (slots.length === 0 && !closing) for (let i = 0; i < count; i++) start(i);
  };

  return {
    minBytes,
    start: startAll,
    run(body, caller, headers, url, onQueued) {
      // Until a worker is ready (it loads the schema for about a second), bodies run here.
      startAll();
      // A body whose parsed copies might not fit the worker's heap runs here: a worker that
      // reaches its heap cap inside JSON.parse can take the whole process down with it.
      if (closing || body.length * HEAP_BYTES_PER_BODY_BYTE > heapMb * 1024 * 1024) {
        return Promise.resolve({ kind: "main", body });
      }
      if (!slots.some((slot) => slot.ready)) return Promise.resolve({ kind: "main", body });
      return new Promise<WorkerOutcome>((resolve) => {
        waiting.push({ body, caller: { ...caller }, headers, url, resolve, onQueued });
        dispatch();
      });
    },
    stats: () => ({
      workers: slots.length,
      ready: slots.filter((slot) => slot.ready).length,
      running: slots.reduce((n, slot) => n + slot.jobs.size, 0),
      ...counts,
    }),
    threadStats: () => slots.flatMap((slot) => (slot.stats ? [slot.stats] : [])),
    async close() {
      closing = true;
      for (const job of waiting.splice(0)) job.resolve({ kind: "answer", answer: shuttingDown() });
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}
