// The spool on a real file system: records round-trip byte for byte, a burst costs one sync,
// acknowledged segments go away, a torn or corrupt tail is skipped without losing what precedes
// it, the byte bound and the lock hold. (The API process killed mid-ingest: ingest-faults.test.ts.)
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBuffer, SenderOptions } from "@questdb/nodejs-client";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { QueueFullError } from "../src/ingest/batch-writer.ts";
import { type EncodedRows, encodeRows, type QueuedRow } from "../src/ingest/encoded-rows.ts";
import {
  openSpool,
  type ReplayedRecord,
  readSegment,
  SpoolFullError,
  SpoolLockedError,
  type SpoolOptions,
} from "../src/ingest/spool.ts";

const senderOptions = new SenderOptions("http::addr=localhost:9000;protocol_version=2");
const newBuffer = () => createBuffer(senderOptions);
const log = pino({ level: "silent" });

// Binary doubles (protocol 2) often hold 0x0a bytes: row ends must come from the record, not a scan.
const row = (table: string, id: number): QueuedRow => ({
  table,
  encode: (b) =>
    b
      .table(table)
      .symbol("id", `r${id}`)
      .floatColumn("x", id / 7 + 0.000_001 * id)
      .stringColumn("note", "ü\n€".repeat(id % 3))
      .at(BigInt(1_700_000_000_000_000 + id), "us"),
});
/** One call's rows over two tables. */
const call = (first: number, count: number): EncodedRows[] =>
  encodeRows(
    Array.from({ length: count }, (_, i) => row(i % 2 === 0 ? "trades" : "mev", first + i)),
    newBuffer,
  );
const plain = (chunks: readonly EncodedRows[]) =>
  chunks.map(({ table, bytes, ends }) => ({ table, bytes: Buffer.from(bytes), ends: Array.from(ends) }));

async function spoolDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "spool-test-"));
}
const open = (dir: string, options: Partial<SpoolOptions> = {}) =>
  openSpool({ dir, mode: "fsync", maxBytes: 64 * 1024 * 1024, log, ...options });

async function replayAll(dir: string, options: Partial<SpoolOptions> = {}) {
  const spool = await open(dir, options);
  const records: ReplayedRecord[] = [];
  await spool.replay(
    async (record) => void records.push(record),
    () => false,
  );
  return { spool, records };
}
const segmentFiles = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith(".spool")).sort();

describe("spool", () => {
  it("replays every unacknowledged record of a previous process in order, byte for byte, across segments", async () => {
    const dir = await spoolDir();
    const spool = await open(dir, { segmentBytes: 2048 });
    const calls = Array.from({ length: 40 }, (_, i) => call(i * 10, 1 + (i % 7)));
    for (const chunks of calls) await spool.append(chunks);
    expect((await segmentFiles(dir)).length).toBeGreaterThan(3);
    // Trade data: the API's user only.
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, (await segmentFiles(dir))[0] as string))).mode & 0o777).toBe(0o600);
    expect(spool.stats()).toMatchObject({ appends: 40, pendingRecords: 40 });
    await spool.close();

    const { spool: again, records } = await replayAll(dir);
    expect(records.map((r) => plain(r.chunks))).toEqual(calls.map(plain));
    expect(records.map((r) => r.rows)).toEqual(calls.map((c) => c.reduce((n, chunk) => n + chunk.ends.length, 0)));
    expect(again.stats()).toMatchObject({ replayedRows: records.reduce((n, r) => n + r.rows, 0), skippedBytes: 0 });
    // Once QuestDB has them all, no old segment is left.
    for (const record of records) again.release(record.record);
    await again.close();
    expect(await segmentFiles(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it("group-commits: a burst of 300 concurrent appends costs a few syncs, not 300", async () => {
    const dir = await spoolDir();
    const spool = await open(dir);
    const records = await Promise.all(Array.from({ length: 300 }, (_, i) => spool.append(call(i, 1))));
    const { syncs, appends } = spool.stats();
    expect(appends).toBe(300);
    expect(syncs).toBeLessThanOrEqual(10);
    for (const record of records) spool.release(record);
    await spool.close();
  });

  it("deletes a segment once every record in it is released, and empties the active one when idle", async () => {
    const dir = await spoolDir();
    const spool = await open(dir, { segmentBytes: 2048 });
    const first = [];
    while ((await segmentFiles(dir)).length < 2) first.push(await spool.append(call(first.length, 5)));
    const [oldest] = await segmentFiles(dir);
    const later = await spool.append(call(999, 3));
    for (const record of first.slice(0, -1)) spool.release(record);
    // The oldest segment held every record but the last one, which opened the second segment.
    await expect.poll(async () => (await segmentFiles(dir)).includes(oldest as string)).toBe(false);
    spool.release(first.at(-1) as (typeof first)[number]);
    spool.release(later);
    // Everything acknowledged: the active segment is truncated to nothing, not left to grow.
    await expect.poll(async () => spool.stats().bytes).toBe(0);
    const files = await segmentFiles(dir);
    expect(files).toHaveLength(1);
    expect((await stat(join(dir, files[0] as string))).size).toBe(0);
    await spool.close();
    expect(await segmentFiles(dir)).toEqual([]);
  });

  it("a torn last record (a crash in the middle of a write) is skipped; every complete record before it is replayed", async () => {
    const dir = await spoolDir();
    const spool = await open(dir);
    const calls = Array.from({ length: 5 }, (_, i) => call(i * 10, 4));
    for (const chunks of calls) await spool.append(chunks);
    await spool.close();
    const [file] = await segmentFiles(dir);
    const path = join(dir, file as string);
    const { size } = await stat(path);
    // Cut 10 bytes into the last record: its header promises more than the file holds.
    await truncate(path, size - 10);
    const { spool: again, records } = await replayAll(dir);
    expect(records.map((r) => plain(r.chunks))).toEqual(calls.slice(0, 4).map(plain));
    expect(again.stats().skippedBytes).toBeGreaterThan(0);
    await again.close();
  });

  it("a record whose bytes changed (CRC mismatch) ends its segment's replay, and later segments are still replayed", async () => {
    const dir = await spoolDir();
    const spool = await open(dir, { segmentBytes: 1500 });
    const calls = Array.from({ length: 12 }, (_, i) => call(i * 10, 4));
    for (const chunks of calls) await spool.append(chunks);
    await spool.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    // Flip one byte in the second record of the first segment.
    const firstPath = join(dir, files[0] as string);
    const data = await readFile(firstPath);
    const intact = readSegment(data).records;
    expect(intact.length).toBeGreaterThanOrEqual(2);
    expect(readSegment(data).skippedBytes).toBe(0);
    const firstRecordBytes = 12 + data.readUInt32LE(4);
    data[firstRecordBytes + 20] = (data[firstRecordBytes + 20] as number) ^ 0xff;
    await writeFile(firstPath, data);

    const { spool: again, records } = await replayAll(dir);
    const perSegment = [];
    for (const name of files) perSegment.push(readSegment(await readFile(join(dir, name))).records.length);
    // First segment: only its first record; every other segment: all of its records.
    expect(perSegment[0]).toBe(1);
    const expected = [calls[0], ...calls.slice(intact.length)].map((c) => plain(c as EncodedRows[]));
    expect(records.map((r) => plain(r.chunks))).toEqual(expected);
    expect(again.stats().skippedBytes).toBe(data.length - firstRecordBytes);
    await again.close();
  });

  it("garbage instead of a header, and an empty or garbage-only segment, lose nothing else", async () => {
    const dir = await spoolDir();
    const spool = await open(dir);
    await spool.append(call(1, 2));
    await spool.close();
    const [file] = await segmentFiles(dir);
    const path = join(dir, file as string);
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from("not a record at all")]));
    await writeFile(join(dir, "9999999999999998.spool"), Buffer.from("garbage"));
    await writeFile(join(dir, "9999999999999999.spool"), Buffer.alloc(0));
    const { spool: again, records } = await replayAll(dir);
    expect(records.map((r) => plain(r.chunks))).toEqual([plain(call(1, 2))]);
    expect(again.stats().skippedBytes).toBe("not a record at all".length + "garbage".length);
    await again.close();
  });

  it("refuses an append past SPOOL_MAX_MB with a retryable QUEUE_FULL kind of error, and takes appends again once released", async () => {
    const dir = await spoolDir();
    const spool = await open(dir, { maxBytes: 8 * 1024 });
    const held = [];
    let refusal: unknown;
    for (let i = 0; i < 100 && !refusal; i++) {
      try {
        held.push(await spool.append(call(i * 10, 5)));
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(SpoolFullError);
    expect(refusal).toBeInstanceOf(QueueFullError);
    expect((refusal as Error).message).toMatch(/spool is full.*SPOOL_MAX_MB/);
    expect(spool.stats().bytes).toBeLessThanOrEqual(8 * 1024);
    for (const record of held) spool.release(record);
    await expect.poll(() => spool.stats().bytes).toBe(0);
    await expect(spool.append(call(1, 5))).resolves.toBeDefined();
    await spool.close();
  });

  it("a folder held by a live process is refused; a lock left by a dead one is taken over", async () => {
    const dir = await spoolDir();
    const spool = await open(dir);
    await expect(open(dir)).rejects.toBeInstanceOf(SpoolLockedError);
    await expect(open(dir)).rejects.toThrow(/in use by process \d+/);
    await spool.close();
    // A process that died holding the lock.
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((done) => dead.on("exit", done));
    await writeFile(join(dir, "LOCK"), `${dead.pid}\n`);
    const taken = await open(dir);
    expect((await readFile(join(dir, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await taken.close();
  });

  it("a replay stopped halfway leaves the rest on disk for the next start", async () => {
    const dir = await spoolDir();
    const spool = await open(dir);
    const calls = Array.from({ length: 6 }, (_, i) => call(i * 10, 2));
    for (const chunks of calls) await spool.append(chunks);
    await spool.close();
    const first = await open(dir);
    const seen: ReplayedRecord[] = [];
    await first.replay(
      async (record) => void seen.push(record),
      () => seen.length >= 2,
    );
    expect(seen).toHaveLength(2);
    for (const record of seen) first.release(record.record);
    await first.close();
    const { spool: second, records } = await replayAll(dir);
    // Records are replayed again from the segment (DEDUP makes the repeat harmless), none lost.
    expect(records.map((r) => plain(r.chunks))).toEqual(calls.map(plain));
    await second.close();
  });

  it("write mode (no fsync) keeps the same records", async () => {
    const dir = await spoolDir();
    const spool = await open(dir, { mode: "write" });
    await spool.append(call(5, 3));
    await spool.close();
    const { spool: again, records } = await replayAll(dir);
    expect(records.map((r) => plain(r.chunks))).toEqual([plain(call(5, 3))]);
    await again.close();
  });
});
