// Lists answered partly as JSON text kept from an earlier request (issue 13): a month of hourly
// buckets is 2.3 MB of JSON, and executing, serialising and encoding its closed days again for
// every request took most of such a request's time, though only the open hour changes. A
// resolver that can (analytics/series-pieces.ts) returns only the rows to execute and records,
// at its response path, where the kept texts go between them; the lean path (graphql-fast-path.ts)
// writes the answer with those texts spliced in as bytes, and keeps the text of the rows it
// executed for the next request.
//
// Only the lean path sets a request's SplicedLists (Context.splice): anything else (Yoga's own
// handler, subscriptions, the error path) executes every row. An answer with errors is executed
// again without it (its error handling is Yoga's), so no text is kept from an answer with errors.
import { randomUUID } from "node:crypto";
import type { ExecutionResult, GraphQLResolveInfo } from "graphql";
import { responsePathAsArray } from "graphql";

/** A run of a list: rows executed by GraphQL (in the list the resolver returned), or kept JSON text. */
export type ListPiece = { rows: number; keep?: (text: Uint8Array) => void } | { text: Uint8Array };

interface Recorded {
  path: readonly (string | number)[];
  pieces: readonly ListPiece[];
  /** Rows the resolver returned for GraphQL to execute. */
  executed: number;
}

/** What a resolver hands over (analytics/series-pieces.ts, SeriesPiece): rows, or their kept text. */
type Piece<R> =
  | { rows: R[]; text?: undefined; keep?: (text: Uint8Array) => void }
  | { rows?: undefined; text: Uint8Array };

/** Marks a spliced list's place in the answer's text; unguessable, so no value can be taken for it. */
const MARK = `\u0001spliced-${randomUUID()}-`;
const COMMA = Buffer.from(",");
const OPEN = Buffer.from("[");
const CLOSE = Buffer.from("]");

/** A request's spliced lists, and how its answer is written with them. */
export class SplicedLists {
  private readonly lists: Recorded[] = [];

  /** Whether some list was recorded (its answer is written by serialize, which keeps its texts). */
  get recorded(): boolean {
    return this.lists.length > 0;
  }

  /** Whether some list left rows out for their text (the answer must be written by serialize). */
  get omitted(): boolean {
    return this.lists.some((list) => list.pieces.some((piece) => "text" in piece));
  }

  /**
   * The rows GraphQL executes for the list at `info`'s path, given its pieces (each rows piece with
   * its rows): the text pieces' rows are left out and spliced in by serialize.
   */
  list<R>(info: GraphQLResolveInfo, pieces: readonly Piece<R>[]): R[] {
    const rows: R[] = [];
    const recorded: ListPiece[] = [];
    for (const piece of pieces) {
      if (piece.text !== undefined) recorded.push({ text: piece.text });
      else {
        for (const row of piece.rows) rows.push(row);
        recorded.push(piece.keep ? { rows: piece.rows.length, keep: piece.keep } : { rows: piece.rows.length });
      }
    }
    if (recorded.some((piece) => "text" in piece || piece.keep)) {
      this.lists.push({ path: responsePathAsArray(info.path), pieces: recorded, executed: rows.length });
    }
    return rows;
  }

  /**
   * The answer's JSON bytes in chunks (written as they are, not joined: a month's answer is 2 MB),
   * each recorded list written from its executed rows and kept texts; the executed rows' texts
   * are kept (`keep`) when the answer has no errors.
   */
  serialize(result: ExecutionResult): Uint8Array[] {
    const clean = !result.errors?.length;
    const placed: {
      recorded: Recorded;
      rows: unknown[];
      parent: Record<string | number, unknown>;
      key: string | number;
    }[] = [];
    for (const recorded of this.lists) {
      let at: unknown = result.data;
      const path = recorded.path;
      for (const key of path.slice(0, -1)) at = (at as Record<string | number, unknown> | null | undefined)?.[key];
      const key = path.at(-1) as string | number;
      const parent = (at ?? undefined) as Record<string | number, unknown> | undefined;
      const rows = parent?.[key];
      // A list nulled by an error is left as it is (the answer has errors: it is not kept).
      if (!parent || !Array.isArray(rows) || rows.length !== recorded.executed) continue;
      parent[key] = `${MARK}${placed.length}`;
      placed.push({ recorded, rows, parent, key });
    }
    let text: string;
    try {
      text = JSON.stringify(result);
    } finally {
      for (const { parent, key, rows } of placed) parent[key] = rows;
    }
    const chunks: Uint8Array[] = [];
    let from = 0;
    // Each list's place: its marker as JSON writes it, found in the text, in the text's order.
    const marks = placed
      .map((place, i) => ({ place, quoted: JSON.stringify(`${MARK}${i}`) }))
      .map((mark) => ({ ...mark, at: text.indexOf(mark.quoted) }))
      .filter((mark) => mark.at >= 0)
      .sort((a, b) => a.at - b.at);
    for (const mark of marks) {
      chunks.push(Buffer.from(text.slice(from, mark.at)));
      chunks.push(...listChunks(mark.place.recorded.pieces, mark.place.rows, clean));
      from = mark.at + mark.quoted.length;
    }
    chunks.push(Buffer.from(text.slice(from)));
    return chunks;
  }
}

/** A list's bytes: `[`, its pieces' elements joined by commas, `]`. */
function listChunks(pieces: readonly ListPiece[], rows: readonly unknown[], clean: boolean): Uint8Array[] {
  const chunks: Uint8Array[] = [OPEN];
  let next = 0;
  for (const piece of pieces) {
    let elements: Uint8Array;
    if ("text" in piece) elements = piece.text;
    else {
      const json = JSON.stringify(rows.slice(next, next + piece.rows));
      next += piece.rows;
      elements = Buffer.from(json.slice(1, -1));
      // A short text is a slice of Node's shared 8 KB pool: kept, it would hold the whole slab.
      if (clean) piece.keep?.(elements.byteLength < 4096 ? new Uint8Array(elements) : elements);
    }
    if (elements.length === 0) continue;
    if (chunks.length > 1) chunks.push(COMMA);
    chunks.push(
      Buffer.isBuffer(elements) ? elements : Buffer.from(elements.buffer, elements.byteOffset, elements.length),
    );
  }
  chunks.push(CLOSE);
  return chunks;
}

/** The length in bytes of an answer's body. */
export const bodyLength = (body: string | Uint8Array | readonly Uint8Array[]): number =>
  typeof body === "string"
    ? Buffer.byteLength(body)
    : body instanceof Uint8Array
      ? body.byteLength
      : body.reduce((sum, chunk) => sum + chunk.byteLength, 0);
