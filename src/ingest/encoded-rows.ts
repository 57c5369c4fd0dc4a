// Rows as the ILP bytes QuestDB receives. The batch writer queues only these: a queued row is a
// few hundred bytes outside the JS heap instead of an object graph in it. They are made here when
// a row is accepted, later also in worker threads and read back from a disk spool, so this file
// needs nothing of the writer.
import { setImmediate as turnOfEventLoop } from "node:timers/promises";
import type { IlpBuffer } from "../questdb/ilp-buffer.ts";

/** A row before encoding: what a record mutation, the sampler or the alerts hand over. */
export interface QueuedRow {
  /** Physical table name. */
  readonly table: string;
  /** Appends exactly this one row (ending with `at()`) to an ILP buffer; may throw. */
  readonly encode: (buffer: IlpBuffer) => void;
}

/**
 * Rows of one table encoded as ILP (protocol version 2, as ilp.newBuffer() writes), and where
 * each row ends in `bytes` (ends[i] = offset just past row i's newline; ascending;
 * ends.at(-1) === bytes.length). `bytes` may be a view into a larger ArrayBuffer (Node's Buffer
 * pool): copy it, never transfer its `.buffer`, to hand it to another thread.
 */
export interface EncodedRows {
  readonly table: string;
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

// One scratch buffer per buffer factory, reset after each call: a call allocates only its
// output, not a fresh 64 KB IlpBuffer. Keyed weakly so a dropped factory frees its buffer.
const scratch = new WeakMap<() => IlpBuffer, IlpBuffer>();

/**
 * Encodes rows into one EncodedRows per table, tables in order of first appearance, rows in
 * order. Pure apart from the scratch buffer; throws what an `encode` throws, and an Error when an
 * `encode` wrote no row or left its row unfinished.
 */
export function encodeRows(rows: readonly QueuedRow[], newBuffer: () => IlpBuffer): EncodedRows[] {
  let buffer = scratch.get(newBuffer);
  if (!buffer) {
    buffer = newBuffer();
    scratch.set(newBuffer, buffer);
  }
  const byTable = new Map<string, QueuedRow[]>();
  for (const row of rows) {
    const group = byTable.get(row.table);
    if (group) group.push(row);
    else byTable.set(row.table, [row]);
  }
  const encoded: EncodedRows[] = [];
  try {
    for (const [table, group] of byTable) {
      const ends = new Uint32Array(group.length);
      let end = 0;
      group.forEach((row, i) => {
        row.encode(buffer);
        const next = buffer.currentPosition();
        if (next <= end) throw new Error(`the encoder of a ${table} row wrote nothing`);
        end = next;
        ends[i] = end;
      });
      // Copies up to the end of the last finished row and empties the buffer for the next table.
      const bytes = buffer.toBufferNew();
      if (bytes?.length !== end) throw new Error(`the encoder of a ${table} row did not finish it with at()`);
      encoded.push({ table, bytes, ends });
    }
  } finally {
    buffer.reset();
  }
  return encoded;
}

/**
 * encodeRows in slices of `sliceRows` (default 100, under 1 ms of work), with a turn of the event
 * loop before each: encoding costs ~6 µs a trade (src/questdb/ilp-buffer.ts), so a 10,000-row
 * batch in one go would hold probes and reads for ~60 ms. A table's rows may come out in several EncodedRows, still in order.
 */
export async function encodeRowsInSlices(
  rows: readonly QueuedRow[],
  newBuffer: () => IlpBuffer,
  sliceRows = 100,
): Promise<EncodedRows[]> {
  const encoded: EncodedRows[] = [];
  for (let start = 0; start < rows.length; start += sliceRows) {
    await turnOfEventLoop();
    encoded.push(...encodeRows(rows.slice(start, start + sliceRows), newBuffer));
  }
  return encoded;
}

/** Offset where row `i` starts in its `bytes`. */
export const rowStart = (ends: Uint32Array, i: number): number => (i === 0 ? 0 : (ends[i - 1] as number));

/** A row count, or an Error naming what is wrong with rows that did not come from encodeRows. */
export function checkEncodedRows(rows: EncodedRows): number {
  const { table, bytes, ends } = rows;
  const fail = (what: string) => new TypeError(`EncodedRows of ${table || "(no table)"}: ${what}`);
  if (typeof table !== "string" || table === "") throw fail("no table name");
  if (ends.length === 0) {
    if (bytes.length !== 0) throw fail("bytes without row ends");
    return 0;
  }
  let start = 0;
  for (const end of ends) {
    if (end <= start) throw fail(`row ends must ascend, and ${end} follows ${start}`);
    if (end > bytes.length) throw fail(`row end ${end} is past the end of ${bytes.length} bytes`);
    if (bytes[end - 1] !== 0x0a) throw fail(`row end ${end} is not just past a newline`);
    start = end;
  }
  if (start !== bytes.length) throw fail(`the last row ends at ${start}, before the end of ${bytes.length} bytes`);
  return ends.length;
}
