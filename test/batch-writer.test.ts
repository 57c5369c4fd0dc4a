// The batch writer's clock and failure handling, with fake timers and a scripted ILP client.
// The same behaviour against the real QuestDB is covered in ingest-real.test.ts.
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createBuffer, SenderOptions } from "@questdb/nodejs-client";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type BatchWriter,
  type BatchWriterOptions,
  createBatchWriter,
  QUEUED_ROW_BYTES,
  QueueFullError,
  RowsRejectedError,
  WriterClosedError,
} from "../src/ingest/batch-writer.ts";
import { encodeRows, type QueuedRow } from "../src/ingest/encoded-rows.ts";
import { encodeTrade, type Trade } from "../src/ingest/trade-record.ts";
import type { IlpClient, IlpResult } from "../src/questdb/ilp-http.ts";

const senderOptions = new SenderOptions("http::addr=localhost:9000;protocol_version=2");

/** A fake ILP endpoint: records each request body; answers from a script (default: ok). */
function fakeIlp() {
  const requests: string[] = [];
  const bodies: Buffer[] = [];
  const answers: (IlpResult | Promise<IlpResult>)[] = [];
  const client: IlpClient = {
    newBuffer: () => createBuffer(senderOptions),
    write: async (body) => {
      requests.push(body.toString("utf8"));
      bodies.push(Buffer.from(body));
      return answers.shift() ?? { kind: "ok" };
    },
    close: () => {},
  };
  return { client, requests, bodies, answers };
}

const row = (table: string, id: number): QueuedRow => ({
  table,
  encode: (buffer) => buffer.table(table).symbol("id", String(id)).at(BigInt(id), "us"),
});
const rows = (table: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => row(table, from + i));
/** A dead-letter line's `row` for row(table, id). */
const decoded = (id: number) => ({
  symbols: { id: String(id) },
  fields: {},
  timestamp: `1970-01-01T00:00:00.${String(id).padStart(6, "0")}Z`,
});
const lines = (body: string | undefined) => (body ?? "").trim().split("\n");

let writer: BatchWriter | undefined;
function makeWriter(ilp: IlpClient, options: Partial<BatchWriterOptions> = {}): BatchWriter {
  writer = createBatchWriter({ ilp, log: pino({ level: "silent" }), intervalMs: 100, ...options });
  return writer;
}

/**
 * A writer on the real clock (dead-letter files are written) whose fake answers 400 with `reason`
 * to every request whose body holds one of `marks`; its dead letters go to a fresh folder.
 */
async function refusingWriter(reason: string, ...marks: string[]) {
  vi.useRealTimers();
  const dir = await mkdtemp(join(tmpdir(), "dlq-"));
  const ilp = fakeIlp();
  const client: IlpClient = {
    ...ilp.client,
    write: async (body) =>
      marks.some((mark) => body.includes(mark)) ? { kind: "rejected", status: 400, reason } : ilp.client.write(body),
  };
  return { ilp, client, dir, w: makeWriter(client, { deadLetterDir: dir, intervalMs: 10 }) };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  vi.useRealTimers();
  await writer?.close({ timeoutMs: 1000 });
  writer = undefined;
});

describe("batch writer timing (fake clock)", () => {
  it("flushes queued rows on the next 100 ms tick, partial batches included, and sends nothing on empty ticks", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client, { maxBatchRows: 1000 });
    await vi.advanceTimersByTimeAsync(500);
    expect(ilp.requests).toEqual([]);

    w.enqueue(rows("trades", 1, 3));
    await vi.advanceTimersByTimeAsync(99);
    expect(ilp.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(ilp.requests).toHaveLength(1);
    expect(lines(ilp.requests[0])).toEqual(["trades,id=1 1t", "trades,id=2 2t", "trades,id=3 3t"]);

    w.enqueue(rows("trades", 4, 1));
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.requests).toHaveLength(2);
    expect(lines(ilp.requests[1])).toEqual(["trades,id=4 4t"]);

    await vi.advanceTimersByTimeAsync(1000);
    expect(ilp.requests).toHaveLength(2);
  });

  it("flushes at once when a table's queue reaches the batch row limit, in requests of at most that many rows", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client, { maxBatchRows: 4 });
    w.enqueue(rows("trades", 1, 10));
    await vi.advanceTimersByTimeAsync(0);
    expect(ilp.requests.map((r) => lines(r).length)).toEqual([4, 4]);
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.requests.map((r) => lines(r).length)).toEqual([4, 4, 2]);
  });

  it("sends one request per table", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client);
    w.enqueue([row("trades", 1), row("latency_metrics", 2), row("trades", 3)]);
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.requests.map(lines).sort()).toEqual([["latency_metrics,id=2 2t"], ["trades,id=1 1t", "trades,id=3 3t"]]);
  });

  it("keeps one flush in flight: ticks during a slow request start no second one", async () => {
    const ilp = fakeIlp();
    let answer!: (r: IlpResult) => void;
    ilp.answers.push(new Promise<IlpResult>((done) => (answer = done)));
    const w = makeWriter(ilp.client);
    w.enqueue(rows("trades", 1, 2));
    await vi.advanceTimersByTimeAsync(100);
    w.enqueue(rows("trades", 3, 2));
    await vi.advanceTimersByTimeAsync(500);
    expect(ilp.requests).toHaveLength(1);
    expect(w.stats()).toMatchObject({ queuedRows: 2, inFlightRows: 2 });
    answer({ kind: "ok" });
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.requests.map(lines)).toEqual([
      ["trades,id=1 1t", "trades,id=2 2t"],
      ["trades,id=3 3t", "trades,id=4 4t"],
    ]);
  });

  it("sends the rows a tick found while a flush was in flight as soon as that flush ends, not a tick later", async () => {
    const ilp = fakeIlp();
    const answers: ((r: IlpResult) => void)[] = [];
    for (let i = 0; i < 2; i++) ilp.answers.push(new Promise<IlpResult>((done) => answers.push(done)));
    const w = makeWriter(ilp.client);
    w.enqueue(rows("trades", 1, 1));
    await vi.advanceTimersByTimeAsync(100); // t=100: the first flush starts and waits for QuestDB
    w.enqueue(rows("trades", 2, 1));
    await vi.advanceTimersByTimeAsync(100); // t=200: a tick with a flush in flight
    expect(ilp.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(50);
    (answers[0] as (r: IlpResult) => void)({ kind: "ok" }); // t=250
    await vi.advanceTimersByTimeAsync(0);
    expect(ilp.requests.map(lines)).toEqual([["trades,id=1 1t"], ["trades,id=2 2t"]]);
    // Rows queued while a flush runs that no tick came for wait for the next tick, as ever.
    w.enqueue(rows("trades", 3, 1));
    await vi.advanceTimersByTimeAsync(10);
    (answers[1] as (r: IlpResult) => void)({ kind: "ok" }); // t=260
    await vi.advanceTimersByTimeAsync(0);
    expect(ilp.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(39);
    expect(ilp.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1); // t=300: the tick
    expect(ilp.requests.map(lines)[2]).toEqual(["trades,id=3 3t"]);
  });

  it("announces each table as QuestDB acknowledges it, with when its calls were accepted, flushed and acknowledged", async () => {
    const ilp = fakeIlp();
    let answer!: (r: IlpResult) => void;
    ilp.answers.push(new Promise<IlpResult>((done) => (answer = done)));
    const committed: { tables: readonly string[]; acceptedAt: readonly number[]; flushed: number; acked: number }[] =
      [];
    const w = makeWriter(ilp.client, {
      onCommitted: (tables, timing) =>
        committed.push({
          tables,
          acceptedAt: timing.acceptedAt,
          flushed: timing.flushStartedAt,
          acked: timing.ackedAt,
        }),
    });
    const t0 = Date.now();
    w.enqueue(rows("trades", 1, 2));
    await vi.advanceTimersByTimeAsync(30);
    w.enqueue([row("trades", 3), row("latency_metrics", 4)]);
    await vi.advanceTimersByTimeAsync(70);
    // latency_metrics answered at once (the script's next answer: ok); trades not yet.
    expect(committed).toEqual([
      { tables: ["latency_metrics"], acceptedAt: [t0 + 30], flushed: t0 + 100, acked: t0 + 100 },
    ]);
    await vi.advanceTimersByTimeAsync(40);
    answer({ kind: "ok" });
    await vi.advanceTimersByTimeAsync(0);
    expect(committed[1]).toEqual({ tables: ["trades"], acceptedAt: [t0, t0 + 30], flushed: t0 + 100, acked: t0 + 140 });
  });

  it("announces no table whose every row QuestDB refused", async () => {
    vi.useRealTimers();
    const ilp = fakeIlp();
    const client: IlpClient = {
      ...ilp.client,
      write: async (body) =>
        body.includes("id=9") ? { kind: "rejected", status: 400, reason: "bad row" } : ilp.client.write(body),
    };
    const committed: string[] = [];
    const w = makeWriter(client, {
      deadLetterDir: await mkdtemp(join(tmpdir(), "dlq-")),
      intervalMs: 10,
      onCommitted: (tables) => committed.push(...tables),
    });
    const refused = w.enqueue([row("trades", 9)]).committed.catch(() => "refused");
    await w.enqueue([row("latency_metrics", 1)]).committed;
    expect(await refused).toBe("refused");
    expect(committed).toEqual(["latency_metrics"]);
  });
});

describe("batch writer failures (fake clock)", () => {
  it("retries the same bytes with backoff until QuestDB answers, while accepting new rows", async () => {
    const ilp = fakeIlp();
    for (let i = 0; i < 5; i++) ilp.answers.push({ kind: "retriable", reason: "ECONNREFUSED" });
    const w = makeWriter(ilp.client, { retryInitialMs: 50, retryMaxMs: 400 });
    const ticket = w.enqueue(rows("trades", 1, 2));
    let committed: number | undefined;
    void ticket.committed.then((ms) => {
      committed = ms;
    });
    await vi.advanceTimersByTimeAsync(100);
    const more = w.enqueue(rows("trades", 3, 1));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(ilp.requests.slice(0, 6)).toEqual(Array(6).fill(ilp.requests[0]));
    expect(committed).toBeGreaterThan(100);
    expect(w.stats()).toMatchObject({ retries: 5, rowsWritten: 3, rejectedRows: 0, queuedRows: 0 });
    await expect(more.committed).resolves.toBeGreaterThan(0);
    expect(lines(ilp.requests.at(-1))).toEqual(["trades,id=3 3t"]);
  });

  it("writes a refused batch to a dead-letter file with the reason, counts it and fails its tickets", async () => {
    vi.useRealTimers();
    const dir = await mkdtemp(join(tmpdir(), "dlq-"));
    const ilp = fakeIlp();
    // The batch, then each half on its own: QuestDB refuses all three.
    for (let i = 0; i < 3; i++) ilp.answers.push({ kind: "rejected", status: 400, reason: "HTTP 400: cast error" });
    const w = makeWriter(ilp.client, { deadLetterDir: dir, intervalMs: 10 });
    const ticket = w.enqueue(rows("trades", 1, 2));
    const error = await ticket.committed.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RowsRejectedError);
    expect((error as RowsRejectedError).reason).toBe("HTTP 400: cast error");
    await w.drain();
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    const content = (await Promise.all(files.map((f) => readFile(join(dir, f), "utf8")))).join("");
    expect(
      content
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { table: "trades", reason: "HTTP 400: cast error", row: decoded(1) },
      { table: "trades", reason: "HTTP 400: cast error", row: decoded(2) },
    ]);
    expect(w.stats().rejectedRows).toBe(2);
  });

  it("splits a refused batch until only the refused rows are dead-lettered; the rest are written", async () => {
    const { ilp, dir, w } = await refusingWriter("HTTP 400: bad row", "id=3 ");
    const good = w.enqueue(rows("trades", 1, 2));
    const mixed = w.enqueue(rows("trades", 3, 3));
    await expect(good.committed).resolves.toBeGreaterThanOrEqual(0);
    await expect(mixed.committed).rejects.toBeInstanceOf(RowsRejectedError);
    await w.drain();
    const accepted = ilp.requests.flatMap(lines);
    expect(accepted.sort()).toEqual(["trades,id=1 1t", "trades,id=2 2t", "trades,id=4 4t", "trades,id=5 5t"]);
    const files = await readdir(dir);
    const dead = (await Promise.all(files.map((f) => readFile(join(dir, f), "utf8")))).join("").trim().split("\n");
    expect(dead.map((l) => JSON.parse(l).row)).toEqual([decoded(3)]);
    expect(w.stats()).toMatchObject({ rejectedRows: 1, rowsWritten: 4 });
  });

  it("refuses rows beyond the queue bound, all or nothing, with a retryable error", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client, { maxQueueRows: 5 });
    w.enqueue(rows("trades", 1, 4));
    expect(() => w.enqueue(rows("trades", 5, 2))).toThrow(QueueFullError);
    expect(w.stats().queuedRows).toBe(4);
    w.enqueue(rows("trades", 5, 1));
    await vi.advanceTimersByTimeAsync(100);
    expect(lines(ilp.requests[0])).toHaveLength(5);
  });

  it("on close flushes everything queued, then refuses new rows", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client, { maxBatchRows: 3 });
    w.enqueue(rows("trades", 1, 2));
    w.enqueue(rows("mev_metrics", 10, 1));
    const closing = w.close();
    await vi.advanceTimersByTimeAsync(0);
    await closing;
    expect(ilp.requests.flatMap(lines).sort()).toEqual(["mev_metrics,id=10 10t", "trades,id=1 1t", "trades,id=2 2t"]);
    expect(() => w.enqueue(rows("trades", 3, 1))).toThrow(WriterClosedError);
  });
});

/** A row with a binary double and a string that needs escapes, as the real tables have. */
const priced = (table: string, id: number): QueuedRow => ({
  table,
  encode: (buffer) =>
    buffer
      .table(table)
      .symbol("id", String(id))
      .floatColumn("price", -id * 1.0000001e300)
      .stringColumn("note", `say "${id}",\nthen \\ à`)
      .at(BigInt(id), "us"),
});
const priceds = (table: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => priced(table, from + i));
const pricedRow = (id: number) => ({
  symbols: { id: String(id) },
  fields: { price: -id * 1.0000001e300, note: `say "${id}",\nthen \\ à` },
  timestamp: `1970-01-01T00:00:00.${String(id).padStart(6, "0")}Z`,
});
/** The bytes one SenderBuffer writes for these rows, as QuestDB must receive them. */
const bytesOf = (queued: QueuedRow[]) => {
  const buffer = createBuffer(senderOptions);
  for (const r of queued) r.encode(buffer);
  return buffer.toBufferNew() as Buffer;
};
const deadLetters = async (dir: string) => {
  const files = (await readdir(dir)).sort();
  const text = (await Promise.all(files.map((f) => readFile(join(dir, f), "utf8")))).join("");
  return text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { table: string; reason: string; row: unknown });
};
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
/** Whether a ticket has settled, read without waiting. */
function watch(committed: Promise<number>) {
  const state: { value?: number; error?: unknown } = {};
  committed.then(
    (value) => {
      state.value = value;
    },
    (error: unknown) => {
      state.error = error;
    },
  );
  return state;
}

describe("encoded rows (fake clock)", () => {
  it("enqueueEncoded takes chunks of several tables under one ticket: one request per table, settled when every row is acknowledged", async () => {
    const ilp = fakeIlp();
    const slow = deferred<IlpResult>();
    ilp.answers.push({ kind: "ok" }, slow.promise, { kind: "ok" });
    const w = makeWriter(ilp.client);
    const encode = (queued: QueuedRow[]) => encodeRows(queued, ilp.client.newBuffer);
    const chunks = [
      ...encode([priced("trades", 1), priced("latency_metrics", 2), priced("trades", 3)]),
      ...encode([priced("mev_metrics", 4), priced("trades", 5)]),
    ];
    expect(chunks.map((c) => [c.table, c.ends.length])).toEqual([
      ["trades", 2],
      ["latency_metrics", 1],
      ["mev_metrics", 1],
      ["trades", 1],
    ]);
    const ticket = w.enqueueEncoded(chunks);
    expect(ticket.rows).toBe(5);
    expect(w.stats().queuedRows).toBe(5);
    const state = watch(ticket.committed);
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.bodies).toEqual([
      bytesOf([priced("trades", 1), priced("trades", 3), priced("trades", 5)]),
      bytesOf([priced("latency_metrics", 2)]),
      bytesOf([priced("mev_metrics", 4)]),
    ]);
    expect(state).toEqual({});
    expect(w.stats()).toMatchObject({ queuedRows: 0, inFlightRows: 5, rowsWritten: 4 });
    slow.resolve({ kind: "ok" });
    await vi.advanceTimersByTimeAsync(0);
    expect(state.value).toBeGreaterThanOrEqual(100);
    expect(w.stats()).toMatchObject({ inFlightRows: 0, rowsWritten: 5 });
  });

  it("enqueueEncoded is all or none: a full queue, a closed writer or chunks whose ends do not fit their bytes queue nothing", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client, { maxQueueRows: 4 });
    const [three] = encodeRows(priceds("trades", 1, 3), ilp.client.newBuffer);
    const [two] = encodeRows(priceds("latency_metrics", 4, 2), ilp.client.newBuffer);
    if (!three || !two) throw new Error("no chunks");
    expect(() => w.enqueueEncoded([three, two])).toThrow(QueueFullError);
    const cut = { ...two, bytes: two.bytes.subarray(0, -1) };
    expect(() => w.enqueueEncoded([three, cut])).toThrow(
      `EncodedRows of latency_metrics: row end ${two.bytes.length} is past the end of ${two.bytes.length - 1} bytes`,
    );
    const inside = { ...two, ends: Uint32Array.of(7, two.bytes.length) };
    expect(() => w.enqueueEncoded([inside])).toThrow(
      "EncodedRows of latency_metrics: row end 7 is not just past a newline",
    );
    const short = { ...two, ends: two.ends.subarray(0, 1) };
    expect(() => w.enqueueEncoded([short])).toThrow(
      `EncodedRows of latency_metrics: the last row ends at ${two.ends[0]}, before the end of ${two.bytes.length} bytes`,
    );
    expect(w.stats().queuedRows).toBe(0);
    expect(w.enqueueEncoded([]).rows).toBe(0);
    await expect(w.enqueueEncoded([]).committed).resolves.toBe(0);
    w.enqueueEncoded([three]);
    await w.close();
    expect(ilp.bodies).toEqual([bytesOf(priceds("trades", 1, 3))]);
    expect(() => w.enqueueEncoded([two])).toThrow(WriterClosedError);
  });

  it("splits a chunk larger than what a request may take at its row ends, over consecutive requests, without re-encoding", async () => {
    const ilp = fakeIlp();
    const w = makeWriter(ilp.client, { maxBatchRows: 4 });
    const all = priceds("trades", 1, 10);
    const ticket = w.enqueueEncoded([
      ...encodeRows(all.slice(0, 3), ilp.client.newBuffer),
      ...encodeRows(all.slice(3), ilp.client.newBuffer),
    ]);
    const state = watch(ticket.committed);
    await vi.advanceTimersByTimeAsync(0);
    // 10 rows queued ≥ 4: two requests at once (chunk 1 + a row of chunk 2, then 4 more rows).
    expect(ilp.bodies).toEqual([bytesOf(all.slice(0, 4)), bytesOf(all.slice(4, 8))]);
    expect(w.stats()).toMatchObject({ queuedRows: 2, rowsWritten: 8 });
    expect(state).toEqual({});
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.bodies.slice(2)).toEqual([bytesOf(all.slice(8))]);
    expect(state.value).toBeGreaterThanOrEqual(100);
  });

  it("keeps a ticket open while a row of it is still queued behind a full request, and resolves it with that row", async () => {
    const ilp = fakeIlp();
    const gate = deferred<void>();
    const client: IlpClient = {
      ...ilp.client,
      write: async (body) => {
        if (body.includes("id=3 ")) await gate.promise;
        return ilp.client.write(body);
      },
    };
    const w = makeWriter(client, { maxBatchRows: 2 });
    const first = watch(
      w.enqueueEncoded([
        ...encodeRows(priceds("trades", 1, 3), client.newBuffer),
        ...encodeRows([priced("latency_metrics", 10)], client.newBuffer),
      ]).committed,
    );
    const second = watch(w.enqueue([priced("trades", 4)]).committed);
    await vi.advanceTimersByTimeAsync(100);
    expect(ilp.bodies).toEqual([bytesOf(priceds("trades", 1, 2)), bytesOf([priced("latency_metrics", 10)])]);
    expect(w.stats()).toMatchObject({ queuedRows: 0, inFlightRows: 2, rowsWritten: 3 });
    expect([first, second]).toEqual([{}, {}]);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(ilp.bodies.at(-1)).toEqual(bytesOf(priceds("trades", 3, 2)));
    expect(first.value).toBeGreaterThanOrEqual(100);
    expect(second.value).toBeGreaterThanOrEqual(100);
  });

  it("dead-letters exactly the refused rows where they straddle two chunks, decoded from their bytes; the rest are written", async () => {
    const { ilp, client, dir, w } = await refusingWriter("HTTP 400: bad row", "id=4 ", "id=5 ");
    const mixed = w.enqueueEncoded([
      ...encodeRows(priceds("trades", 1, 4), client.newBuffer),
      ...encodeRows(priceds("trades", 5, 3), client.newBuffer),
    ]);
    const other = w.enqueue(priceds("trades", 8, 2));
    const error = await mixed.committed.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RowsRejectedError);
    await expect(other.committed).resolves.toBeGreaterThanOrEqual(0);
    await w.drain();
    expect(await deadLetters(dir)).toEqual([
      { table: "trades", reason: "HTTP 400: bad row", row: pricedRow(4) },
      { table: "trades", reason: "HTTP 400: bad row", row: pricedRow(5) },
    ]);
    // Every accepted request is whole rows, and together they are the other rows once each.
    const written = Buffer.concat(ilp.bodies);
    expect(written.length).toBe(bytesOf([1, 2, 3, 6, 7, 8, 9].map((id) => priced("trades", id))).length);
    for (const id of [1, 2, 3, 6, 7, 8, 9]) expect(written.includes(bytesOf([priced("trades", id)]))).toBe(true);
    expect(w.stats()).toMatchObject({ rejectedRows: 2, rowsWritten: 7, queuedRows: 0, inFlightRows: 0 });
  });

  it("rejects a ticket on its first dead-lettered row and still resolves the tickets it shared requests with", async () => {
    const { client, dir, w } = await refusingWriter("HTTP 400: no", "id=10 ");
    const encode = (queued: QueuedRow[]) => encodeRows(queued, client.newBuffer);
    const first = w.enqueueEncoded([...encode([priced("trades", 1), priced("latency_metrics", 10)])]);
    const second = w.enqueueEncoded([...encode([priced("latency_metrics", 11), priced("trades", 2)])]);
    const error = (await first.committed.catch((e: unknown) => e)) as RowsRejectedError;
    expect(error).toBeInstanceOf(RowsRejectedError);
    expect(error.reason).toBe("HTTP 400: no");
    await expect(second.committed).resolves.toBeGreaterThanOrEqual(0);
    await w.drain();
    expect((await deadLetters(dir)).map((l) => [l.table, l.row])).toEqual([["latency_metrics", pricedRow(10)]]);
    expect(w.stats()).toMatchObject({ rejectedRows: 1, rowsWritten: 3 });
  });

  it("dead-letters the queue decoded when it closes with QuestDB away", async () => {
    vi.useRealTimers();
    const dir = await mkdtemp(join(tmpdir(), "dlq-"));
    const ilp = fakeIlp();
    const away: IlpClient = { ...ilp.client, write: async () => ({ kind: "retriable", reason: "ECONNREFUSED" }) };
    const w = makeWriter(away, { deadLetterDir: dir, intervalMs: 10, maxBatchRows: 2, retryMaxMs: 20 });
    const ticket = w.enqueueEncoded([
      ...encodeRows([priced("trades", 1), priced("mev_metrics", 2)], away.newBuffer),
      ...encodeRows(priceds("trades", 3, 2), away.newBuffer),
    ]);
    await w.close({ timeoutMs: 100 });
    await expect(ticket.committed).rejects.toBeInstanceOf(RowsRejectedError);
    const dead = await deadLetters(dir);
    expect(dead.map((l) => [l.table, l.row]).sort()).toEqual([
      ["mev_metrics", pricedRow(2)],
      ["trades", pricedRow(1)],
      ["trades", pricedRow(3)],
      ["trades", pricedRow(4)],
    ]);
    expect(w.stats()).toMatchObject({ queuedRows: 0, inFlightRows: 0, rejectedRows: 4, rowsWritten: 0 });
  });
});

describe("queue memory", () => {
  it("holds a trade queued in a batch as little more than its ILP bytes, one queued alone within QUEUED_ROW_BYTES, and keeps no row object", async () => {
    vi.useRealTimers();
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const used = async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((done) => setTimeout(done, 0));
        gc();
      }
      const { heapUsed, external } = process.memoryUsage();
      return { heap: heapUsed, total: heapUsed + external };
    };
    const ilp = fakeIlp();
    const never = new Promise<void>(() => {});
    const w = makeWriter(ilp.client, { waitUntilReady: () => never, maxBatchRows: 1_000_000 });
    const trade = (i: number): Trade => ({
      timestamp: 1_780_000_000_000_000n + BigInt(i),
      tradeId: `bot-7:order-${i}`,
      signature: "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
      action: "BUY",
      baseToken: "SOL",
      quoteToken: "USDC",
      baseAmount: 1.5 + i,
      quoteAmount: 300.25 + i,
      executedPrice: 200.1666,
      transactionFee: 5000n,
      priorityFee: 10_000n,
      expectedSlippage: 0.005,
      actualSlippage: 0.0031,
      mevStatus: "PROTECTED",
      transferFees: 0.0001,
      strategy: "momentum-v2",
      venue: "raydium",
      slot: 320_000_000n + BigInt(i),
      realizedPnl: -2.5,
      writer: "bot-7",
    });
    const toQueued = (t: Trade): QueuedRow => ({ table: "trades", encode: (b) => encodeTrade(b, "trades", t) });
    const rowBytes = bytesOf([toQueued(trade(0))]).length;
    const queue = (from: number, count: number) => {
      const batch = Array.from({ length: count }, (_, k) => trade(from + k));
      w.enqueue(batch.map(toQueued));
      return new WeakRef(batch[0] as Trade);
    };
    queue(0, 100); // the scratch buffer and the writer's first allocations
    const rows = 10_000;
    const start = await used();
    const first = queue(100, 100);
    for (let i = 200; i < 100 + rows; i += 100) queue(i, 100);
    const batched = await used();
    for (let i = 100 + rows; i < 100 + 2 * rows; i++) queue(i, 1);
    const alone = await used();
    expect(w.stats().queuedRows).toBe(100 + 2 * rows);
    expect(first.deref()).toBeUndefined();
    expect((batched.heap - start.heap) / rows).toBeLessThan(50);
    expect((batched.total - start.total) / rows).toBeLessThan(rowBytes + 100);
    expect((alone.total - batched.total) / rows).toBeLessThan(QUEUED_ROW_BYTES);
  });
});
