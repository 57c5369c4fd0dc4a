// The write path: rows are queued in memory and written to QuestDB every `intervalMs` (earlier
// when a table's queue reaches `maxBatchRows`), one ILP request per table, one flush in flight
// at a time. A batch stays in our hands (the rows and their encoded bytes) until QuestDB answers
// 204; retriable failures are retried with backoff and jitter for as long as it takes, while new
// rows keep being accepted up to `maxQueueRows`. QuestDB's DEDUP keys make a re-sent batch
// harmless. A batch QuestDB refuses (4xx) goes to a dead-letter file, never silently away.
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { SenderBuffer } from "@questdb/nodejs-client";
import type { Logger } from "pino";
import type { IlpClient } from "../questdb/ilp-http.ts";

/** Heap a queued trade takes, measured (about 800 bytes) plus headroom; sizes MAX_QUEUE_ROWS. */
export const QUEUED_ROW_BYTES = 1200;

export interface QueuedRow {
  /** Physical table name. */
  readonly table: string;
  /** Appends this row to an ILP buffer. */
  readonly encode: (buffer: SenderBuffer) => void;
  /** What goes into the dead-letter file if QuestDB refuses the row. */
  readonly record: unknown;
}

export interface BatchWriterOptions {
  ilp: IlpClient;
  log: Logger;
  /** Flush period. Default 100 ms. */
  intervalMs?: number;
  /** Rows per ILP request; a table queue this long is flushed at once. Default 10,000. */
  maxBatchRows?: number;
  /** Rows held in memory (queued + in flight) before enqueue() refuses. Default 1,000,000. */
  maxQueueRows?: number;
  /** Where refused batches are written. Default `dead-letter` in the working directory. */
  deadLetterDir?: string;
  /** Awaited before each flush, e.g. until start-up has created the tables. Default none. */
  waitUntilReady?: () => Promise<void>;
  /** First retry delay; doubles per attempt up to `retryMaxMs`, with ±50% jitter. Default 50 ms. */
  retryInitialMs?: number;
  /** Default 2,000 ms. */
  retryMaxMs?: number;
}

export interface WriterStats {
  queuedRows: number;
  inFlightRows: number;
  /** Age of the oldest row not yet acknowledged, ms (0 when none). */
  oldestQueuedMs: number;
  lastFlushMs: number;
  flushes: number;
  rowsWritten: number;
  retries: number;
  rejectedRows: number;
}

/** What enqueue() hands back: settles when QuestDB has acknowledged every row of the call. */
export interface Ticket {
  readonly rows: number;
  /** Resolves with ms from acceptance to QuestDB's 204; rejects when a row was dead-lettered. */
  readonly committed: Promise<number>;
}

export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the ingest queue is full (${limit} rows waiting for QuestDB); retry later`);
    this.name = "QueueFullError";
  }
}

export class WriterClosedError extends Error {
  constructor() {
    super("the server is shutting down and no longer accepts rows");
    this.name = "WriterClosedError";
  }
}

export class RowsRejectedError extends Error {
  constructor(
    readonly reason: string,
    readonly file: string,
  ) {
    super(`QuestDB refused rows (${reason}); they were written to ${file}`);
    this.name = "RowsRejectedError";
  }
}

interface TicketState {
  pending: number;
  acceptedAt: number;
  failed: boolean;
  resolve: (ms: number) => void;
  reject: (error: Error) => void;
}

interface Entry {
  row: QueuedRow;
  ticket: TicketState;
}

export interface BatchWriter {
  /** Queues rows (all or none). Throws QueueFullError or WriterClosedError. */
  enqueue(rows: readonly QueuedRow[]): Ticket;
  stats(): WriterStats;
  /** Flushes now and resolves when everything queued before the call is acknowledged. */
  drain(): Promise<void>;
  /** Refuses new rows, flushes everything queued, stops the timer. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Rows encoded between two turns of the event loop (about 10 ms of work). */
const ENCODE_CHUNK_ROWS = 500;

export function createBatchWriter(options: BatchWriterOptions): BatchWriter {
  const {
    ilp,
    log,
    intervalMs = 100,
    maxBatchRows = 10_000,
    maxQueueRows = 1_000_000,
    deadLetterDir = "dead-letter",
    waitUntilReady = async () => {},
    retryInitialMs = 50,
    retryMaxMs = 2_000,
  } = options;

  // Per table, FIFO. Map keeps insertion order, so tables are flushed in a stable order.
  const queues = new Map<string, Entry[]>();
  let queuedRows = 0;
  let inFlightRows = 0;
  let inFlightOldest = 0;
  let flushing: Promise<void> | undefined;
  let closed = false;
  let stopping = false;
  let giveUp = false;
  let markGivingUp!: () => void;
  const givingUp = new Promise<void>((done) => {
    markGivingUp = done;
  });
  const stats = { lastFlushMs: 0, flushes: 0, rowsWritten: 0, retries: 0, rejectedRows: 0 };

  const timer = setInterval(() => {
    if (queuedRows > 0) void flush();
  }, intervalMs);
  timer.unref();

  const settleRows = (entries: readonly Entry[], error?: Error) => {
    const now = Date.now();
    for (const { ticket } of entries) {
      if (error && !ticket.failed) {
        ticket.failed = true;
        ticket.reject(error);
      }
      ticket.pending -= 1;
      if (ticket.pending === 0 && !ticket.failed) ticket.resolve(now - ticket.acceptedAt);
    }
  };

  const deadLetter = async (table: string, entries: readonly Entry[], reason: string): Promise<string> => {
    const dir = resolve(deadLetterDir);
    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const file = join(dir, `${table}-${stamp}-${process.pid}-${stats.flushes}.jsonl`);
    const lines = entries.map(({ row }) =>
      JSON.stringify({ table, reason, row: row.record }, (_key, value) =>
        typeof value === "bigint" ? value.toString() : value,
      ),
    );
    await writeFile(file, `${lines.join("\n")}\n`);
    return file;
  };

  /**
   * Sends one table's batch until QuestDB acknowledges or refuses it. A refused batch is split
   * in halves and each half sent on its own, so only the rows QuestDB refuses are dead-lettered
   * (a request is all-or-nothing on QuestDB's side); rows other callers queued alongside get in.
   */
  const sendBatch = async (table: string, entries: Entry[]): Promise<void> => {
    const buffer = ilp.newBuffer();
    // Encoding costs ~20 µs a row (one Buffer write per token): a 10,000-row batch in one go
    // would hold the event loop for ~200 ms, and probes and small requests with it.
    for (let i = 0; i < entries.length; i++) {
      (entries[i] as Entry).row.encode(buffer);
      if ((i + 1) % ENCODE_CHUNK_ROWS === 0 && i + 1 < entries.length) await yieldToEventLoop();
    }
    const body = buffer.toBufferNew();
    if (!body) return;
    let delay = retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      const result = await ilp.write(body);
      if (result.kind === "ok") {
        stats.rowsWritten += entries.length;
        settleRows(entries);
        return;
      }
      if (result.kind === "rejected" && entries.length > 1) {
        const middle = Math.ceil(entries.length / 2);
        await sendBatch(table, entries.slice(0, middle));
        await sendBatch(table, entries.slice(middle));
        return;
      }
      if (result.kind === "rejected" || giveUp) {
        const reason =
          result.kind === "rejected" ? result.reason : `shutdown while QuestDB was unreachable: ${result.reason}`;
        stats.rejectedRows += entries.length;
        const file = await deadLetter(table, entries, reason);
        log.error({ table, rows: entries.length, reason, file }, "rows not written to QuestDB; dead-lettered");
        settleRows(entries, new RowsRejectedError(reason, file));
        return;
      }
      stats.retries += 1;
      const level = attempt === 1 || attempt % 20 === 0 ? "warn" : "debug";
      log[level]({ table, rows: entries.length, attempt, reason: result.reason }, "QuestDB write failed; retrying");
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, retryMaxMs);
    }
  };

  const flushOnce = async (): Promise<void> => {
    // At shutdown with QuestDB never reachable, stop waiting: close() dead-letters the queue.
    await Promise.race([waitUntilReady(), givingUp]);
    if (giveUp) return;
    const started = Date.now();
    const batches: [string, Entry[]][] = [];
    for (const [table, queue] of queues) {
      if (queue.length === 0) continue;
      const batch = queue.splice(0, maxBatchRows);
      batches.push([table, batch]);
      queuedRows -= batch.length;
      inFlightRows += batch.length;
    }
    if (batches.length === 0) return;
    inFlightOldest = Math.min(...batches.map(([, batch]) => batch[0]?.ticket.acceptedAt ?? started));
    try {
      await Promise.all(batches.map(([table, batch]) => sendBatch(table, batch)));
    } finally {
      inFlightRows = 0;
      inFlightOldest = 0;
      stats.flushes += 1;
      stats.lastFlushMs = Date.now() - started;
    }
  };

  /** One flush at a time; a flush that finds a full queue behind it goes again at once. */
  const flush = (): Promise<void> => {
    if (!flushing) {
      flushing = (async () => {
        try {
          do await flushOnce();
          while (!giveUp && (queuedRows >= maxBatchRows || (stopping && queuedRows > 0)));
        } catch (error) {
          log.error({ err: error }, "flush failed unexpectedly");
        } finally {
          flushing = undefined;
        }
      })();
    }
    return flushing;
  };

  const drain = async (): Promise<void> => {
    while (!giveUp && (queuedRows > 0 || flushing)) {
      if (flushing) await flushing;
      else await flush();
    }
  };

  const oldestQueued = (): number => {
    let oldest = inFlightOldest || Number.POSITIVE_INFINITY;
    for (const queue of queues.values()) {
      const first = queue[0];
      if (first && first.ticket.acceptedAt < oldest) oldest = first.ticket.acceptedAt;
    }
    return Number.isFinite(oldest) ? Date.now() - oldest : 0;
  };

  return {
    enqueue(rows) {
      if (closed) throw new WriterClosedError();
      if (queuedRows + inFlightRows + rows.length > maxQueueRows) throw new QueueFullError(maxQueueRows);
      let resolveTicket!: (ms: number) => void;
      let rejectTicket!: (error: Error) => void;
      const committed = new Promise<number>((res, rej) => {
        resolveTicket = res;
        rejectTicket = rej;
      });
      // A caller that chose not to wait must not produce an unhandled rejection.
      committed.catch(() => {});
      const ticket: TicketState = {
        pending: rows.length,
        acceptedAt: Date.now(),
        failed: false,
        resolve: resolveTicket,
        reject: rejectTicket,
      };
      if (rows.length === 0) resolveTicket(0);
      let full = false;
      for (const row of rows) {
        let queue = queues.get(row.table);
        if (!queue) {
          queue = [];
          queues.set(row.table, queue);
        }
        queue.push({ row, ticket });
        if (queue.length >= maxBatchRows) full = true;
      }
      queuedRows += rows.length;
      if (full) void flush();
      return { rows: rows.length, committed };
    },

    stats: () => ({ queuedRows, inFlightRows, oldestQueuedMs: oldestQueued(), ...stats }),

    drain,

    async close({ timeoutMs = 30_000 } = {}) {
      closed = true;
      stopping = true;
      clearInterval(timer);
      const timedOut = await Promise.race([drain().then(() => false), sleep(timeoutMs).then(() => true)]);
      if (!timedOut) return;
      log.warn({ timeoutMs }, "QuestDB did not take the queued rows in time; writing them to the dead-letter folder");
      // QuestDB is still away: keep the rows on disk rather than lose them with the process.
      giveUp = true;
      markGivingUp();
      await flushing;
      for (const [table, queue] of queues) {
        const entries = queue.splice(0);
        if (entries.length === 0) continue;
        queuedRows -= entries.length;
        stats.rejectedRows += entries.length;
        const reason = "shutdown while QuestDB was unreachable";
        const file = await deadLetter(table, entries, reason);
        log.error({ table, rows: entries.length, file }, "unflushed rows written to a dead-letter file at shutdown");
        settleRows(entries, new RowsRejectedError(reason, file));
      }
    },
  };
}
