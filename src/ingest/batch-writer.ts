// The write path: rows are encoded into ILP bytes when they are accepted and queued as those bytes
// (encoded-rows.ts), and written to QuestDB every `intervalMs` (earlier when a table's queue
// reaches `maxBatchRows`), one ILP request per table, one flush in flight at a time (a tick that
// finds one in flight has its rows sent as soon as that one ends, not a tick later). A batch stays
// in our hands until QuestDB answers 204; retriable failures are retried with backoff and jitter
// for as long as it takes, while new rows keep being accepted up to `maxQueueRows`. QuestDB's
// DEDUP keys make a re-sent batch harmless. A batch QuestDB refuses (4xx) goes to a dead-letter
// file, never silently away.
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { decodeIlpRow } from "../questdb/ilp-decode.ts";
import type { IlpClient } from "../questdb/ilp-http.ts";
import { checkEncodedRows, type EncodedRows, encodeRows, type QueuedRow, rowStart } from "./encoded-rows.ts";

/**
 * Memory a queued trade takes at most, heap and external together, plus headroom; sizes
 * MAX_QUEUE_ROWS. Measured for 100,000 trades with every optional field set (a 505-byte ILP row):
 * about 1,250 bytes each when sent one per call (~740 of heap: the call's ticket and promise, its
 * EncodedRows with their Buffer and Uint32Array; ~510 of ILP bytes outside the heap), about 520
 * in calls of 100 or more rows (~10 of heap). Before rows were queued encoded: 2,270 and 1,780.
 */
export const QUEUED_ROW_BYTES = 1400;

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
  /** Called after each flush with its duration in ms, retries included (/metrics). Default none. */
  onFlush?: (ms: number) => void;
  /**
   * Called as soon as QuestDB acknowledged a table's request of a flush (its WAL transaction is
   * committed; it may not be applied, visible to SELECT, yet), with the physical table and when
   * its rows waited: live queries poll that table at once instead of at their next tick. Not
   * called for a request whose every row was refused. Default none; what it throws is logged.
   */
  onCommitted?: (tables: readonly string[], timing: CommitTiming) => void;
}

/** When the rows of an acknowledged request were accepted, sent and acknowledged (Date.now() ms). */
export interface CommitTiming {
  /** When each enqueue call whose rows the request carried was accepted, oldest first. */
  readonly acceptedAt: readonly number[];
  /** When the flush that carried them started. */
  readonly flushStartedAt: number;
  /** When QuestDB acknowledged the request (retries included). */
  readonly ackedAt: number;
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
  constructor(
    readonly limit: number,
    message = `the ingest queue is full (${limit} rows waiting for QuestDB); retry later`,
  ) {
    super(message);
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

/** Rows close() left unflushed on purpose (they are kept in the spool for the next start). */
export class RowsNotFlushedError extends Error {
  constructor() {
    super(
      "the server stopped before QuestDB took these rows; they stay in its spool and are written at its next start",
    );
    this.name = "RowsNotFlushedError";
  }
}

/** Room in the queue taken before rows are ready (while they are written to the spool). */
export interface Reservation {
  /** Queues the rows (as enqueueEncoded, without the capacity and closed checks: they were admitted). */
  enqueueEncoded(chunks: readonly EncodedRows[]): Ticket;
  /** Gives the room back (the rows will not come). */
  cancel(): void;
}

interface TicketState {
  pending: number;
  acceptedAt: number;
  failed: boolean;
  committed: Promise<number>;
  resolve: (ms: number) => void;
  reject: (error: Error) => void;
}

const ignore = () => {};

/**
 * A ticket's state and promise. Made at module level so that what a queued call keeps (the
 * state, the promise and its two resolving functions) holds no context of the writer's closures.
 */
function openTicket(rows: number): TicketState {
  const ticket = { pending: rows, acceptedAt: Date.now(), failed: false } as TicketState;
  ticket.committed = new Promise<number>((resolve, reject) => {
    ticket.resolve = resolve;
    ticket.reject = reject;
  });
  if (rows === 0) ticket.resolve(0);
  return ticket;
}

/** Rows of one enqueueEncoded() call for one table, and how many of them were already taken. */
interface Chunk {
  readonly rows: EncodedRows;
  readonly ticket: TicketState;
  taken: number;
}

interface TableQueue {
  chunks: Chunk[];
  /** Rows not yet taken, over all chunks. */
  rows: number;
}

/** One table's rows in one request body, with the ticket each row settles. */
interface Batch {
  readonly table: string;
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
  readonly tickets: TicketState[];
}

export interface BatchWriter {
  /** Encodes and queues rows (all or none). Throws QueueFullError, WriterClosedError, or what an encode throws. */
  enqueue(rows: readonly QueuedRow[]): Ticket;
  /**
   * Queues rows already encoded (all or none; chunks may span tables); the ticket counts every
   * row of every chunk. Throws QueueFullError or WriterClosedError, and a TypeError for chunks
   * whose `ends` do not describe their `bytes`.
   */
  enqueueEncoded(chunks: readonly EncodedRows[]): Ticket;
  /**
   * Takes room for `rows` rows now (throws QueueFullError or WriterClosedError as enqueue does),
   * to queue them later. `force` skips the capacity check (rows a previous process had admitted).
   */
  reserve(rows: number, options?: { force?: boolean }): Reservation;
  stats(): WriterStats;
  /** Flushes now and resolves when everything queued before the call is acknowledged. */
  drain(): Promise<void>;
  /**
   * Refuses new rows, flushes everything queued, stops the timer. Rows QuestDB has not taken
   * within `timeoutMs` are dead-lettered, or with `keepUnflushed` (they are in the spool) left
   * alone, their tickets failed with RowsNotFlushedError.
   */
  close(options?: { timeoutMs?: number; keepUnflushed?: boolean }): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * Takes up to `limit` rows from the head of a table's queue into one request body: whole chunks
 * by reference, a chunk larger than what is left split at a row end (subarray, no re-encoding).
 */
function takeRows(table: string, queue: TableQueue, limit: number): Batch | undefined {
  const pieces: Uint8Array[] = [];
  const tickets: TicketState[] = [];
  const ends: number[] = [];
  let length = 0;
  let done = 0;
  for (const chunk of queue.chunks) {
    if (tickets.length === limit) break;
    const { bytes, ends: chunkEnds } = chunk.rows;
    const first = chunk.taken;
    const count = Math.min(chunkEnds.length - first, limit - tickets.length);
    const start = rowStart(chunkEnds, first);
    // Row ends come from the chunk, never from scanning for newlines: binary doubles may hold 0x0a.
    for (let i = first; i < first + count; i++) {
      ends.push(length + (chunkEnds[i] as number) - start);
      tickets.push(chunk.ticket);
    }
    const piece = bytes.subarray(start, chunkEnds[first + count - 1]);
    pieces.push(piece);
    length += piece.length;
    chunk.taken += count;
    if (chunk.taken === chunkEnds.length) done++;
  }
  if (tickets.length === 0) return undefined;
  queue.chunks.splice(0, done);
  queue.rows -= tickets.length;
  const [only] = pieces;
  const bytes =
    pieces.length === 1 && only ? Buffer.from(only.buffer, only.byteOffset, only.byteLength) : Buffer.concat(pieces);
  return { table, bytes, ends: Uint32Array.from(ends), tickets };
}

/** When each enqueue call a batch carries rows of was accepted (rows of one call are adjacent). */
function acceptedTimes(batch: Batch): number[] {
  const times: number[] = [];
  let previous: TicketState | undefined;
  for (const ticket of batch.tickets) {
    if (ticket !== previous) times.push(ticket.acceptedAt);
    previous = ticket;
  }
  return times;
}

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

  // One function object, so encodeRows() keeps reusing the same scratch buffer.
  const newBuffer = () => ilp.newBuffer();
  // Per table, FIFO. Map keeps insertion order, so tables are flushed in a stable order.
  const queues = new Map<string, TableQueue>();
  let queuedRows = 0;
  let inFlightRows = 0;
  /** Rows reserved and not queued yet: they count towards maxQueueRows. */
  let reservedRows = 0;
  let inFlightOldest = 0;
  let flushing: Promise<void> | undefined;
  let closed = false;
  let stopping = false;
  let giveUp = false;
  /** At giving up, leave unflushed rows to the spool instead of dead-lettering them. */
  let keepOnGiveUp = false;
  let markGivingUp!: () => void;
  const givingUp = new Promise<void>((done) => {
    markGivingUp = done;
  });
  const stats = { lastFlushMs: 0, flushes: 0, rowsWritten: 0, retries: 0, rejectedRows: 0 };
  let deadLetters = 0;

  /**
   * A tick found a flush in flight: the rows it found are sent as soon as that flush ends (they
   * waited their interval already), not at the next tick. Under a slow QuestDB answer (an ILP
   * commit of 30–300 ms at 10,000 rows/s) rows waited up to two intervals (bench:live's batch
   * wait: p50 85 ms, p99 200–350 ms).
   */
  let tickMissed = false;
  const timer = setInterval(() => {
    if (queuedRows === 0) return;
    if (flushing) tickMissed = true;
    else void flush();
  }, intervalMs);
  timer.unref();

  /** Settles rows [from, to) of a batch: a ticket resolves with its last row, rejects with its first failed one. */
  const settleRows = (batch: Batch, from: number, to: number, error?: Error) => {
    const now = Date.now();
    for (let i = from; i < to; i++) {
      const ticket = batch.tickets[i] as TicketState;
      if (error && !ticket.failed) {
        ticket.failed = true;
        // A caller that chose not to wait must not produce an unhandled rejection.
        ticket.committed.catch(ignore);
        ticket.reject(error);
      }
      ticket.pending -= 1;
      if (ticket.pending === 0 && !ticket.failed) ticket.resolve(now - ticket.acceptedAt);
    }
  };

  /** Rows [from, to) as the request body that carries them. */
  const bodyOf = (batch: Batch, from: number, to: number): Buffer =>
    batch.bytes.subarray(rowStart(batch.ends, from), batch.ends[to - 1]);

  const deadLetter = async (batch: Batch, from: number, to: number, reason: string): Promise<string> => {
    const { table } = batch;
    const dir = resolve(deadLetterDir);
    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    // One file per refused range: two ranges of one flush may be refused in the same millisecond.
    const file = join(dir, `${table}-${stamp}-${process.pid}-${stats.flushes}-${deadLetters++}.jsonl`);
    const lines: string[] = [];
    for (let i = from; i < to; i++) {
      const bytes = bodyOf(batch, i, i + 1);
      let line: unknown;
      try {
        const { symbols, fields, timestamp } = decodeIlpRow(bytes);
        line = { table, reason, row: { symbols, fields, timestamp } };
      } catch (error) {
        // Rows from another encoder than ours: keep the exact bytes rather than lose them.
        line = { table, reason, ilpBase64: bytes.toString("base64"), decodeError: (error as Error).message };
      }
      lines.push(JSON.stringify(line));
    }
    await writeFile(file, `${lines.join("\n")}\n`);
    return file;
  };

  /** Counts, logs and dead-letters rows [from, to) of a batch, and fails their tickets. */
  const reject = async (batch: Batch, from: number, to: number, reason: string, message: string) => {
    stats.rejectedRows += to - from;
    const file = await deadLetter(batch, from, to, reason);
    log.error({ table: batch.table, rows: to - from, reason, file }, message);
    settleRows(batch, from, to, new RowsRejectedError(reason, file));
  };

  /**
   * Sends rows [from, to) of one table's batch until QuestDB acknowledges or refuses them. A
   * refused range is split in halves and each half sent on its own, so only the rows QuestDB
   * refuses are dead-lettered (a request is all-or-nothing on QuestDB's side); rows other callers
   * queued alongside get in.
   */
  const sendRows = async (batch: Batch, from: number, to: number): Promise<number> => {
    const body = bodyOf(batch, from, to);
    const rows = to - from;
    let delay = retryInitialMs;
    for (let attempt = 1; ; attempt++) {
      const result = await ilp.write(body);
      if (result.kind === "ok") {
        stats.rowsWritten += rows;
        settleRows(batch, from, to);
        return rows;
      }
      if (result.kind === "rejected" && rows > 1) {
        const middle = from + Math.ceil(rows / 2);
        return (await sendRows(batch, from, middle)) + (await sendRows(batch, middle, to));
      }
      if (result.kind !== "rejected" && giveUp && keepOnGiveUp) {
        settleRows(batch, from, to, new RowsNotFlushedError());
        return 0;
      }
      if (result.kind === "rejected" || giveUp) {
        const reason =
          result.kind === "rejected" ? result.reason : `shutdown while QuestDB was unreachable: ${result.reason}`;
        await reject(batch, from, to, reason, "rows not written to QuestDB; dead-lettered");
        return 0;
      }
      stats.retries += 1;
      const level = attempt === 1 || attempt % 20 === 0 ? "warn" : "debug";
      log[level]({ table: batch.table, rows, attempt, reason: result.reason }, "QuestDB write failed; retrying");
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, retryMaxMs);
    }
  };

  const { onCommitted } = options;
  const announce = (table: string, acceptedAt: readonly number[], flushStartedAt: number) => {
    try {
      onCommitted?.([table], { acceptedAt, flushStartedAt, ackedAt: Date.now() });
    } catch (error) {
      log.error({ err: error }, "onCommitted failed");
    }
  };

  const flushOnce = async (): Promise<void> => {
    // At shutdown with QuestDB never reachable, stop waiting: close() dead-letters the queue.
    await Promise.race([waitUntilReady(), givingUp]);
    if (giveUp) return;
    const started = Date.now();
    const batches: Batch[] = [];
    let oldest = started;
    for (const [table, queue] of queues) {
      const acceptedAt = queue.chunks[0]?.ticket.acceptedAt ?? started;
      const batch = takeRows(table, queue, maxBatchRows);
      if (!batch) continue;
      batches.push(batch);
      oldest = Math.min(oldest, acceptedAt);
      queuedRows -= batch.ends.length;
      inFlightRows += batch.ends.length;
    }
    if (batches.length === 0) return;
    inFlightOldest = oldest;
    try {
      // Each table's acknowledgement is announced when it comes, not when the slowest table's does.
      await Promise.all(
        batches.map(async (batch) => {
          const acceptedAt = onCommitted ? acceptedTimes(batch) : [];
          if ((await sendRows(batch, 0, batch.ends.length)) > 0) announce(batch.table, acceptedAt, started);
        }),
      );
    } finally {
      inFlightRows = 0;
      inFlightOldest = 0;
      stats.flushes += 1;
      stats.lastFlushMs = Date.now() - started;
      options.onFlush?.(stats.lastFlushMs);
    }
  };

  /**
   * One flush at a time; a flush that finds a full queue behind it, or a tick that came while it
   * ran, goes again at once.
   */
  const flush = (): Promise<void> => {
    if (!flushing) {
      flushing = (async () => {
        try {
          do {
            tickMissed = false;
            await flushOnce();
          } while (!giveUp && queuedRows > 0 && (queuedRows >= maxBatchRows || tickMissed || stopping));
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
      const first = queue.chunks[0];
      if (first && first.ticket.acceptedAt < oldest) oldest = first.ticket.acceptedAt;
    }
    return Number.isFinite(oldest) ? Date.now() - oldest : 0;
  };

  /** Throws unless `rows` more rows may be queued now. */
  const admit = (rows: number) => {
    if (closed) throw new WriterClosedError();
    if (queuedRows + inFlightRows + reservedRows + rows > maxQueueRows) throw new QueueFullError(maxQueueRows);
  };

  /** Queues checked rows; the caller has admitted them. */
  const queueRows = (chunks: readonly EncodedRows[], rows: number): Ticket => {
    const ticket = openTicket(rows);
    let full = false;
    for (const chunk of chunks) {
      if (chunk.ends.length === 0) continue;
      let queue = queues.get(chunk.table);
      if (!queue) {
        queue = { chunks: [], rows: 0 };
        queues.set(chunk.table, queue);
      }
      queue.chunks.push({ rows: chunk, ticket, taken: 0 });
      queue.rows += chunk.ends.length;
      if (queue.rows >= maxBatchRows) full = true;
    }
    queuedRows += rows;
    if (full) void flush();
    return { rows, committed: ticket.committed };
  };

  const enqueueEncoded = (chunks: readonly EncodedRows[]): Ticket => {
    let rows = 0;
    for (const chunk of chunks) rows += checkEncodedRows(chunk);
    admit(rows);
    return queueRows(chunks, rows);
  };

  const reserve = (rows: number, { force = false } = {}): Reservation => {
    if (force) {
      if (closed) throw new WriterClosedError();
    } else admit(rows);
    reservedRows += rows;
    let open = true;
    const settle = () => {
      if (!open) throw new Error("a reservation is used once");
      open = false;
      reservedRows -= rows;
    };
    return {
      enqueueEncoded(chunks) {
        let counted = 0;
        for (const chunk of chunks) counted += checkEncodedRows(chunk);
        if (counted !== rows) throw new TypeError(`${counted} rows given for a reservation of ${rows}`);
        settle();
        return queueRows(chunks, rows);
      },
      cancel: settle,
    };
  };

  return {
    enqueue(rows) {
      // Refuse before encoding: under overload, encoding rows only to drop them would cost the most.
      admit(rows.length);
      return enqueueEncoded(encodeRows(rows, newBuffer));
    },

    enqueueEncoded,

    reserve,

    stats: () => ({ queuedRows, inFlightRows, oldestQueuedMs: oldestQueued(), ...stats }),

    drain,

    async close({ timeoutMs = 30_000, keepUnflushed = false } = {}) {
      closed = true;
      stopping = true;
      clearInterval(timer);
      const timedOut = await Promise.race([drain().then(() => false), sleep(timeoutMs).then(() => true)]);
      if (!timedOut) return;
      if (keepUnflushed) {
        keepOnGiveUp = true;
        giveUp = true;
        markGivingUp();
        log.warn(
          { timeoutMs, rows: queuedRows + inFlightRows },
          "QuestDB did not take the queued rows in time; they stay in the spool for the next start",
        );
        await flushing;
        const notFlushed = new RowsNotFlushedError();
        for (const [table, queue] of queues) {
          const batch = takeRows(table, queue, Number.POSITIVE_INFINITY);
          if (!batch) continue;
          queuedRows -= batch.ends.length;
          settleRows(batch, 0, batch.ends.length, notFlushed);
        }
        return;
      }
      log.warn({ timeoutMs }, "QuestDB did not take the queued rows in time; writing them to the dead-letter folder");
      // QuestDB is still away: keep the rows on disk rather than lose them with the process.
      giveUp = true;
      markGivingUp();
      await flushing;
      for (const [table, queue] of queues) {
        const batch = takeRows(table, queue, Number.POSITIVE_INFINITY);
        if (!batch) continue;
        queuedRows -= batch.ends.length;
        const reason = "shutdown while QuestDB was unreachable";
        await reject(batch, 0, batch.ends.length, reason, "unflushed rows written to a dead-letter file at shutdown");
      }
    },
  };
}
