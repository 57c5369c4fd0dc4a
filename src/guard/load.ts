// Admission control (issue 10; docs/security.md "Load"): after the key and its rate limit, and
// before a byte of the body is read,
// - a writer key's request is refused with QUEUE_FULL when the ingest queue, plus the rows of
//   the write bodies already admitted, cannot take the rows its Content-Length announces (about
//   BYTES_PER_ROW bytes a row): a bot learns at once, not after its batch was parsed;
// - the request takes a slot in its lane (writer keys: MAX_CONCURRENT_WRITES; everyone else:
//   MAX_CONCURRENT_REQUESTS) or waits in the lane's short queue (MAX_WAITING_WRITES or
//   MAX_WAITING_REQUESTS, at most MAX_WAIT_MS); a full queue or a longer wait gets OVERLOADED (503, Retry-After). Big batches
//   thus never crowd out dashboards, probes or small writes;
// - the bodies being read, parsed and run at once announce at most MAX_INFLIGHT_BODY_BYTES
//   together (a body without Content-Length counts as MAX_BODY_BYTES; one body alone may always
//   run), so the memory requests hold is bounded whatever callers send.
import type { GraphQLError } from "graphql";
import type { LoadLimits } from "../config.ts";
import { clientError } from "../errors.ts";

/** A trade as JSON is 300 to 500 bytes: this estimates rows on the low side (refusing late, not early). */
export const BYTES_PER_ROW = 400;

export type Lane = "write" | "read";

/** The configured limits (config.ts `LoadLimits`, MAX_CONCURRENT_* and friends) and the queue. */
export interface LoadControlOptions extends LoadLimits {
  /** Rows the writer holds (queued and in flight) and its bound (MAX_QUEUE_ROWS). */
  queue: () => { rows: number; max: number };
}

export interface LoadStats {
  active: Record<Lane, number>;
  waiting: Record<Lane, number>;
  reservedRows: number;
  inflightBytes: number;
  refusedQueueFull: number;
  refusedOverloaded: number;
}

export interface LoadControl {
  /**
   * For a writer's request before its body is read: reserves the rows its body may hold, or
   * answers QUEUE_FULL. The returned function releases the reservation.
   */
  reserveWrite(contentLength: number): (() => void) | GraphQLError;
  /** A slot in the lane for a body of `bytes`, released by the returned function; or OVERLOADED. */
  acquire(lane: Lane, bytes: number): Promise<(() => void) | GraphQLError>;
  stats(): LoadStats;
}

interface Waiter {
  bytes: number;
  grant: (release: () => void) => void;
  timer: NodeJS.Timeout;
}

export function createLoadControl(options: LoadControlOptions): LoadControl {
  const {
    queue,
    maxConcurrentRequests,
    maxConcurrentWrites,
    maxWaitingRequests,
    maxWaitingWrites,
    maxWaitMs,
    maxInflightBytes,
  } = options;
  const maxWaiting: Record<Lane, number> = { write: maxWaitingWrites, read: maxWaitingRequests };
  const limit: Record<Lane, number> = { write: maxConcurrentWrites, read: maxConcurrentRequests };
  const active: Record<Lane, number> = { write: 0, read: 0 };
  const waiting: Record<Lane, Waiter[]> = { write: [], read: [] };
  let inflightBytes = 0;
  let reservedRows = 0;
  let refusedQueueFull = 0;
  let refusedOverloaded = 0;

  const overloaded = (lane: Lane) => {
    refusedOverloaded++;
    return clientError(
      "OVERLOADED",
      `The server is busy (${active[lane]} ${lane === "write" ? "writes" : "requests"} running, ${waiting[lane].length} waiting); retry after 1 s`,
      { retryable: true, retryAfterMs: 1_000 },
    );
  };

  const fits = (lane: Lane, bytes: number) =>
    active[lane] < limit[lane] && (inflightBytes === 0 || inflightBytes + bytes <= maxInflightBytes);

  const take = (lane: Lane, bytes: number): (() => void) => {
    active[lane]++;
    inflightBytes += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active[lane]--;
      inflightBytes -= bytes;
      pump();
    };
  };

  /** Grants waiting requests, oldest first in each lane, while they fit. */
  const pump = () => {
    for (const lane of ["read", "write"] as const) {
      for (let next = waiting[lane][0]; next && fits(lane, next.bytes); next = waiting[lane][0]) {
        waiting[lane].shift();
        clearTimeout(next.timer);
        next.grant(take(lane, next.bytes));
      }
    }
  };

  return {
    reserveWrite(contentLength) {
      const rows = Math.ceil(Math.max(0, contentLength) / BYTES_PER_ROW);
      const { rows: held, max } = queue();
      if (held + reservedRows + rows > max && (held > 0 || reservedRows > 0)) {
        refusedQueueFull++;
        return clientError(
          "QUEUE_FULL",
          `the ingest queue is full (${held} rows waiting for QuestDB, ${reservedRows} more arriving; MAX_QUEUE_ROWS ${max}); retry later`,
          { retryable: true, retryAfterMs: 1_000, http: { status: 503 } },
        );
      }
      reservedRows += rows;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        reservedRows -= rows;
      };
    },

    acquire(lane, bytes) {
      if (waiting[lane].length === 0 && fits(lane, bytes)) return Promise.resolve(take(lane, bytes));
      if (waiting[lane].length >= maxWaiting[lane]) return Promise.resolve(overloaded(lane));
      return new Promise((done) => {
        const waiter: Waiter = {
          bytes,
          grant: done,
          timer: setTimeout(() => {
            const at = waiting[lane].indexOf(waiter);
            if (at >= 0) waiting[lane].splice(at, 1);
            done(overloaded(lane));
            pump(); // a large body leaving the head may let smaller ones through
          }, maxWaitMs),
        };
        waiter.timer.unref();
        waiting[lane].push(waiter);
      });
    },

    stats: () => ({
      active: { ...active },
      waiting: { write: waiting.write.length, read: waiting.read.length },
      reservedRows,
      inflightBytes,
      refusedQueueFull,
      refusedOverloaded,
    }),
  };
}
