// The batch writer's clock and failure handling, with fake timers and a scripted ILP client.
// The same behaviour against the real QuestDB is covered in ingest-real.test.ts.
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBuffer, SenderOptions } from "@questdb/nodejs-client";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type BatchWriter,
  type BatchWriterOptions,
  createBatchWriter,
  type QueuedRow,
  QueueFullError,
  RowsRejectedError,
  WriterClosedError,
} from "../src/ingest/batch-writer.ts";
import type { IlpClient, IlpResult } from "../src/questdb/ilp-http.ts";

const senderOptions = new SenderOptions("http::addr=localhost:9000;protocol_version=2");

/** A fake ILP endpoint: records each request body; answers from a script (default: ok). */
function fakeIlp() {
  const requests: string[] = [];
  const answers: (IlpResult | Promise<IlpResult>)[] = [];
  const client: IlpClient = {
    newBuffer: () => createBuffer(senderOptions),
    write: async (body) => {
      requests.push(body.toString("utf8"));
      return answers.shift() ?? { kind: "ok" };
    },
    close: () => {},
  };
  return { client, requests, answers };
}

const row = (table: string, id: number): QueuedRow => ({
  table,
  record: { id },
  encode: (buffer) => buffer.table(table).symbol("id", String(id)).at(BigInt(id), "us"),
});
const rows = (table: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => row(table, from + i));
const lines = (body: string | undefined) => (body ?? "").trim().split("\n");

let writer: BatchWriter | undefined;
function makeWriter(ilp: IlpClient, options: Partial<BatchWriterOptions> = {}): BatchWriter {
  writer = createBatchWriter({ ilp, log: pino({ level: "silent" }), intervalMs: 100, ...options });
  return writer;
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
      { table: "trades", reason: "HTTP 400: cast error", row: { id: 1 } },
      { table: "trades", reason: "HTTP 400: cast error", row: { id: 2 } },
    ]);
    expect(w.stats().rejectedRows).toBe(2);
  });

  it("splits a refused batch until only the refused rows are dead-lettered; the rest are written", async () => {
    vi.useRealTimers();
    const dir = await mkdtemp(join(tmpdir(), "dlq-"));
    const ilp = fakeIlp();
    const refuseRow3: IlpClient = {
      ...ilp.client,
      write: async (body) => {
        ilp.requests.push(body.toString("utf8"));
        return body.includes("id=3 ") ? { kind: "rejected", status: 400, reason: "HTTP 400: bad row" } : { kind: "ok" };
      },
    };
    const w = makeWriter(refuseRow3, { deadLetterDir: dir, intervalMs: 10 });
    const good = w.enqueue(rows("trades", 1, 2));
    const mixed = w.enqueue(rows("trades", 3, 3));
    await expect(good.committed).resolves.toBeGreaterThanOrEqual(0);
    await expect(mixed.committed).rejects.toBeInstanceOf(RowsRejectedError);
    await w.drain();
    const accepted = ilp.requests.filter((r) => !r.includes("id=3 ")).flatMap(lines);
    expect(accepted.sort()).toEqual(["trades,id=1 1t", "trades,id=2 2t", "trades,id=4 4t", "trades,id=5 5t"]);
    const files = await readdir(dir);
    const dead = (await Promise.all(files.map((f) => readFile(join(dir, f), "utf8")))).join("").trim().split("\n");
    expect(dead.map((l) => JSON.parse(l).row)).toEqual([{ id: 3 }]);
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
