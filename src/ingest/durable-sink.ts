// Where record mutations queue their rows: the spool first (when SPOOL_MODE is not off), then the
// batch writer. A call's room in the queue is reserved before its rows go to the spool, so a call
// answered QUEUED is both on disk and in the queue, and a refused one is in neither. At start the
// spool's records from a previous process are queued before any new call is taken (FIFO per
// table, so a client's later retry with other values still lands last).
import type { Logger } from "pino";
import type { RowSink } from "../context.ts";
import { currentRequest } from "../request-scope.ts";
import {
  type BatchWriter,
  QueueFullError,
  RowsNotFlushedError,
  type Ticket,
  WriterClosedError,
} from "./batch-writer.ts";
import { checkEncodedRows, type EncodedRows } from "./encoded-rows.ts";
import { openSpool, type Spool, type SpoolOptions, type SpoolRecord, type SpoolStats } from "./spool.ts";

export interface DurableSink extends RowSink {
  enqueueEncoded(chunks: readonly EncodedRows[]): Promise<Ticket>;
  /**
   * Opens the spool and queues what a previous process left in it. Resolves once that is queued,
   * or as soon as the replay has to wait for room in the queue (QuestDB away and a spool larger
   * than MAX_QUEUE_ROWS); until the replay is done, calls are refused with QUEUE_FULL.
   * Rejects when the spool cannot be opened (another process holds it, no permission).
   */
  open(): Promise<void>;
  /** True while rows of a previous process are still being queued. */
  replaying(): boolean;
  stats(): SpoolStats | undefined;
  /** Refuses new calls and waits for those between spool and queue. Call before writer.close(). */
  seal(): Promise<void>;
  /** Closes the spool (after writer.close()); what QuestDB has not taken stays in it. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function createDurableSink(options: {
  writer: BatchWriter;
  /** Undefined: SPOOL_MODE=off, rows go straight to the writer. */
  spool: SpoolOptions | undefined;
  log: Logger;
}): DurableSink {
  const { writer, log } = options;
  let spool: Spool | undefined;
  let opening: Promise<void> | undefined;
  let replayDone = false;
  let sealed = false;
  /** Calls between the spool and the queue. */
  const inFlight = new Set<Promise<unknown>>();

  /** Releases a record once its rows are in QuestDB or dead-lettered; not when left for the next start. */
  const releaseWhenSettled = (committed: Promise<number>, record: SpoolRecord) => {
    committed.then(
      () => spool?.release(record),
      (error: unknown) => {
        if (!(error instanceof RowsNotFlushedError)) spool?.release(record);
      },
    );
  };

  const open = (): Promise<void> => {
    opening ??= (async () => {
      if (!options.spool) {
        replayDone = true;
        return;
      }
      const opened = await openSpool(options.spool);
      spool = opened;
      let waited!: () => void;
      const waiting = new Promise<void>((done) => {
        waited = done;
      });
      const queueReplayed = async ({ record, chunks, rows }: Parameters<Parameters<Spool["replay"]>[0]>[0]) => {
        for (;;) {
          const { queuedRows, inFlightRows } = writer.stats();
          try {
            // A record larger than the whole queue (MAX_QUEUE_ROWS lowered since) goes in alone.
            const reservation = writer.reserve(rows, { force: queuedRows + inFlightRows === 0 });
            releaseWhenSettled(reservation.enqueueEncoded(chunks).committed, record);
            return;
          } catch (error) {
            if (!(error instanceof QueueFullError)) throw error;
            waited();
            await sleep(50);
          }
        }
      };
      const replay = opened
        .replay(queueReplayed, () => sealed)
        .then(
          () => {
            replayDone = true;
            const { replayedRows, skippedBytes } = opened.stats();
            if (replayedRows > 0 || skippedBytes > 0) {
              log.info({ rows: replayedRows, skippedBytes }, "rows a previous process left in the spool are queued");
            }
          },
          (error: unknown) => {
            log.error({ err: error }, "could not replay the spool; its files stay for the next start");
          },
        );
      await Promise.race([replay, waiting]);
    })();
    return opening;
  };

  const enqueueEncoded = async (chunks: readonly EncodedRows[]): Promise<Ticket> => {
    const ticket = await queue(chunks);
    // Queued: the request's admission goes (a COMMITTED call waits without a slot). Requests
    // from write workers are let go by their pool (write-workers.ts, park).
    currentRequest()?.onRowsQueued?.();
    return ticket;
  };

  const queue = async (chunks: readonly EncodedRows[]): Promise<Ticket> => {
    await open();
    if (sealed) throw new WriterClosedError();
    if (!spool) return writer.enqueueEncoded(chunks);
    if (!replayDone) {
      throw new QueueFullError(
        0,
        "the server is still queueing rows its spool kept from before a restart (QuestDB is slow to take them); retry later",
      );
    }
    let rows = 0;
    for (const chunk of chunks) rows += checkEncodedRows(chunk);
    const reservation = writer.reserve(rows);
    const queued = (async () => {
      let record: SpoolRecord;
      try {
        record = await (spool as Spool).append(chunks);
      } catch (error) {
        reservation.cancel();
        throw error;
      }
      const ticket = reservation.enqueueEncoded(chunks);
      releaseWhenSettled(ticket.committed, record);
      return ticket;
    })();
    inFlight.add(queued);
    try {
      return await queued;
    } finally {
      inFlight.delete(queued);
    }
  };

  return {
    enqueueEncoded,
    open,
    replaying: () => !replayDone,
    stats: () => spool?.stats(),
    async seal() {
      sealed = true;
      await Promise.allSettled([...inFlight]);
      await spool?.seal();
    },
    async close() {
      sealed = true;
      await spool?.close();
    },
  };
}
