// The spool (issue 11; README "Durability"): every call's rows are appended to a local file, and
// synced, before the mutation answers, so rows answered QUEUED survive the API process. After a
// crash the next start queues what the spool holds before it serves writes; QuestDB's DEDUP keys
// make a replay of rows it already has harmless.
//
// Layout: numbered segment files in SPOOL_DIR (`0000000000000001.spool`, …) and a LOCK file with
// the owner's pid. A segment is a sequence of records, one per call:
//
//   record  = magic "TQS1" | payload length (u32 LE) | CRC-32 of the payload (u32 LE) | payload
//   payload = chunk*, chunk = table name length (u16) | table name (UTF-8) | rows (u32) |
//             byte length (u32) | row ends (u32 each) | ILP bytes
//
// Appends are group-committed: the records of every call that arrives while a synced write is in
// progress are written with the next one, so a burst costs one sync. A segment
// is deleted once QuestDB acknowledged every row in it (the active one is truncated instead);
// a new segment starts past SEGMENT_BYTES. A record cut short by a crash, or one whose CRC does
// not match, ends its segment's replay: the complete records before it are replayed, the rest of
// that segment is counted as skipped and logged; writes after a failed append go to a new segment.
import { constants, writevSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readdir, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import type { Logger } from "pino";
import { QueueFullError } from "./batch-writer.ts";
import { checkEncodedRows, type EncodedRows } from "./encoded-rows.ts";

export const SPOOL_MODES = ["fsync", "write", "off"] as const;
export type SpoolMode = (typeof SPOOL_MODES)[number];
/** A new segment starts once the active one is this large. */
export const SPOOL_SEGMENT_BYTES = 16 * 1024 * 1024;

export interface SpoolOptions {
  dir: string;
  /** fsync: synced (O_DSYNC) before answering (survives power loss); write: the page cache only (survives the process). */
  mode: Exclude<SpoolMode, "off">;
  /** Bytes on disk (all segments, and appends waiting) before an append is refused. */
  maxBytes: number;
  /** A new segment starts once the active one is this large. Default SPOOL_SEGMENT_BYTES. */
  segmentBytes?: number;
  log: Logger;
}

export interface SpoolStats {
  bytes: number;
  segments: number;
  /** Records appended and not yet released (their rows are not acknowledged by QuestDB yet). */
  pendingRecords: number;
  appends: number;
  syncs: number;
  /** Duration of the latest write + sync, ms. */
  lastSyncMs: number;
  replayedRows: number;
  skippedBytes: number;
}

/** One segment file and how many of its records still wait for QuestDB. */
interface Segment {
  readonly seq: number;
  readonly path: string;
  size: number;
  pending: number;
  /** Open for appends: only the active segment. */
  handle: FileHandle | undefined;
}

/** A record appended or replayed: release it once QuestDB acknowledged (or dead-lettered) its rows. */
export interface SpoolRecord {
  readonly segment: Segment;
}

/** What a previous process left: records to queue again, in order. */
export interface ReplayedRecord {
  readonly record: SpoolRecord;
  readonly chunks: EncodedRows[];
  readonly rows: number;
}

/** Answered as QUEUE_FULL (retryable), like a full queue. */
export class SpoolFullError extends QueueFullError {
  constructor(
    limit: number,
    message = `the spool is full (SPOOL_MAX_MB, ${limit} bytes of rows waiting for QuestDB); retry later`,
  ) {
    super(limit, message);
    this.name = "SpoolFullError";
  }
}

export class SpoolLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `SPOOL_DIR ${dir} is in use by process ${pid}: two processes must not share a spool (give each instance its own SPOOL_DIR)`,
    );
    this.name = "SpoolLockedError";
  }
}

/** Groups up to this size are written on the event loop while writes take less than INLINE_MAX_MS. */
const INLINE_MAX_BYTES = 256 * 1024;
const INLINE_MAX_MS = 1;

const MAGIC = 0x31535154; // "TQS1" read as u32 LE
const HEADER_BYTES = 12;
const SEGMENT_NAME = /^(\d{16})\.spool$/;
const segmentName = (seq: number) => `${String(seq).padStart(16, "0")}.spool`;

/** Spool folders this process holds (a LOCK with our own pid is stale only when not among them). */
const heldHere = new Set<string>();

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

async function lock(dir: string): Promise<void> {
  const file = join(dir, "LOCK");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      heldHere.add(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const pid = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
    const stale = !Number.isInteger(pid) || (pid === process.pid ? !heldHere.has(dir) : !isAlive(pid));
    if (!stale) throw new SpoolLockedError(dir, pid);
    await rm(file, { force: true });
  }
  throw new Error(`could not take the lock of SPOOL_DIR ${dir}`);
}

/** The bytes of one record: header, then per chunk its table, counts, row ends and ILP bytes. */
function encodeRecord(chunks: readonly EncodedRows[]): { parts: Uint8Array[]; bytes: number } {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const chunk of chunks) {
    if (chunk.ends.length === 0) continue;
    const table = Buffer.from(chunk.table, "utf8");
    const meta = Buffer.allocUnsafe(2 + table.length + 8 + chunk.ends.length * 4);
    meta.writeUInt16LE(table.length, 0);
    table.copy(meta, 2);
    let at = 2 + table.length;
    meta.writeUInt32LE(chunk.ends.length, at);
    meta.writeUInt32LE(chunk.bytes.length, at + 4);
    at += 8;
    for (const end of chunk.ends) {
      meta.writeUInt32LE(end, at);
      at += 4;
    }
    parts.push(meta, chunk.bytes);
    length += meta.length + chunk.bytes.length;
  }
  let crc = 0;
  for (const part of parts) crc = crc32(part, crc);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(length, 4);
  header.writeUInt32LE(crc, 8);
  parts.unshift(header);
  return { parts, bytes: HEADER_BYTES + length };
}

/** Parses a record's payload (views into `payload`, no copy of the ILP bytes); throws when it is malformed. */
function decodeRecord(payload: Buffer): { chunks: EncodedRows[]; rows: number } {
  const chunks: EncodedRows[] = [];
  let rows = 0;
  let at = 0;
  while (at < payload.length) {
    const nameLength = payload.readUInt16LE(at);
    const table = payload.toString("utf8", at + 2, at + 2 + nameLength);
    at += 2 + nameLength;
    const count = payload.readUInt32LE(at);
    const byteLength = payload.readUInt32LE(at + 4);
    at += 8;
    if (at + count * 4 + byteLength > payload.length) throw new RangeError("a chunk runs past its record");
    const ends = new Uint32Array(count);
    for (let i = 0; i < count; i++) ends[i] = payload.readUInt32LE(at + i * 4);
    at += count * 4;
    const chunk = { table, bytes: payload.subarray(at, at + byteLength), ends };
    at += byteLength;
    rows += checkEncodedRows(chunk);
    chunks.push(chunk);
  }
  return { chunks, rows };
}

/** Reads one segment's complete records; a torn or corrupt record ends it (reported as skipped bytes). */
export function readSegment(data: Buffer): {
  records: { chunks: EncodedRows[]; rows: number }[];
  skippedBytes: number;
} {
  const records: { chunks: EncodedRows[]; rows: number }[] = [];
  let at = 0;
  while (at < data.length) {
    if (data.length - at < HEADER_BYTES || data.readUInt32LE(at) !== MAGIC) break;
    const length = data.readUInt32LE(at + 4);
    const end = at + HEADER_BYTES + length;
    if (end > data.length) break;
    const payload = data.subarray(at + HEADER_BYTES, end);
    if (crc32(payload) !== data.readUInt32LE(at + 8)) break;
    try {
      records.push(decodeRecord(payload));
    } catch {
      break;
    }
    at = end;
  }
  return { records, skippedBytes: data.length - at };
}

export interface Spool {
  /**
   * Hands the records a previous process left to `queue`, in order, one segment in memory at a
   * time; awaits each `queue` call (it may wait for room in the writer's queue). Stops early when
   * `stopped()` says so: what was not handed over stays on disk for the next start.
   */
  replay(queue: (record: ReplayedRecord) => Promise<void>, stopped: () => boolean): Promise<void>;
  /**
   * Appends the rows of one call; resolves once they are written (and synced in fsync mode),
   * together with other calls' rows of the same moment. Rejects with SpoolFullError when the
   * spool holds SPOOL_MAX_MB, or when the write failed (the reason is logged).
   */
  append(chunks: readonly EncodedRows[]): Promise<SpoolRecord>;
  /** QuestDB acknowledged (or the writer dead-lettered) the record's rows: its segment may go. */
  release(record: SpoolRecord): void;
  stats(): SpoolStats;
  /** Finishes appends in progress; no more are taken. */
  seal(): Promise<void>;
  /** Closes the files and the lock; segments with unacknowledged rows stay for the next start. */
  close(): Promise<void>;
}

interface Waiter {
  parts: Uint8Array[];
  bytes: number;
  resolve: (record: SpoolRecord) => void;
  reject: (error: Error) => void;
}

/** Opens (creating) the spool folder, takes its lock and reads what a previous process left. */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { mode, maxBytes, segmentBytes = SPOOL_SEGMENT_BYTES, log } = options;
  const dir = resolve(options.dir);
  // Rows of trades: readable by the API's user only.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await lock(dir);

  const segments: Segment[] = [];
  const counts = { appends: 0, syncs: 0, lastSyncMs: 0, replayedRows: 0, skippedBytes: 0 };
  let lastSeq = 0;
  // A previous process's segments, read one at a time by replay() (pending -1 until then).
  const left: Segment[] = [];
  for (const name of (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort()) {
    const seq = Number.parseInt(name, 10);
    lastSeq = Math.max(lastSeq, seq);
    const segment: Segment = { seq, path: join(dir, name), size: 0, pending: -1, handle: undefined };
    segment.size = (await stat(segment.path)).size;
    left.push(segment);
    segments.push(segment);
  }

  // The active segment: always a new file, so nothing is ever appended after a torn record.
  let active = undefined as unknown as Segment;
  const startSegment = async (): Promise<void> => {
    const seq = ++lastSeq;
    const path = join(dir, segmentName(seq));
    // fsync mode: O_DSYNC, so each (vectored) write returns once its data is on disk — one trip
    // to libuv's thread pool per group instead of a write and an fdatasync.
    const flags =
      constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (mode === "fsync" ? constants.O_DSYNC : 0);
    const handle = await open(path, flags, 0o600);
    if (mode === "fsync") {
      // The new file's name must survive power loss too.
      const folder = await open(dir, "r");
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    }
    active = { seq, path, size: 0, pending: 0, handle };
    segments.push(active);
  };
  await startSegment();

  /** Recent synced-write time (moving average, ms): decides where a group is written. */
  let recentWriteMs = INLINE_MAX_MS;
  let waiting: Waiter[] = [];
  let waitingBytes = 0;
  let writing: Promise<void> | undefined;
  let sealed = false;
  let broken = false;

  const totalBytes = () => {
    let bytes = waitingBytes;
    for (const segment of segments) bytes += segment.size;
    return bytes;
  };

  const retire = (segment: Segment) => {
    const index = segments.indexOf(segment);
    if (index >= 0) segments.splice(index, 1);
    void unlink(segment.path).catch((error: unknown) =>
      log.warn({ err: error, segment: segment.path }, "could not delete an acknowledged spool segment"),
    );
  };

  /** Writes every waiting record in one go (one sync); repeats while more arrived meanwhile. */
  const writeGroups = async (): Promise<void> => {
    for (;;) {
      if (waiting.length === 0) {
        // Idle, and everything in the active segment is acknowledged: empty it rather than let it
        // grow. (Not between groups: a size change makes each synced write cost a metadata flush.)
        if (active.pending === 0 && active.size > 0 && !broken && !sealed) {
          try {
            await active.handle?.truncate(0);
            active.size = 0;
          } catch (error) {
            log.warn({ err: error }, "could not empty the spool's active segment; starting another");
            broken = true;
          }
          continue;
        }
        return;
      }
      const group = waiting;
      const bytes = waitingBytes;
      waiting = [];
      waitingBytes = 0;
      const started = performance.now();
      try {
        if (broken || (active.size > 0 && active.size + bytes > segmentBytes)) {
          const old = active;
          await old.handle?.close();
          old.handle = undefined;
          if (old.pending === 0) retire(old);
          broken = false;
          await startSegment();
        }
        const handle = active.handle as FileHandle;
        const parts = group.flatMap((waiter) => waiter.parts);
        // While the disk answers fast, a small group is written on the event loop: a trip to the
        // thread pool costs a turn of the loop, several ms when it is busy, far more than the
        // write. A slow disk (or a big group) goes to the thread pool and never holds the loop.
        // (writev takes at most IOV_MAX (1024) buffers at a time; libuv loops over the rest.)
        const inline = bytes <= INLINE_MAX_BYTES && recentWriteMs < INLINE_MAX_MS;
        const bytesWritten = inline ? writevSync(handle.fd, parts) : (await handle.writev(parts)).bytesWritten;
        recentWriteMs = 0.8 * recentWriteMs + 0.2 * (performance.now() - started);
        active.size += bytesWritten;
        if (bytesWritten !== bytes) throw new Error(`wrote ${bytesWritten} of ${bytes} bytes`);
        counts.syncs++;
        counts.appends += group.length;
        counts.lastSyncMs = performance.now() - started;
        active.pending += group.length;
        const record: SpoolRecord = { segment: active };
        for (const waiter of group) waiter.resolve(record);
      } catch (error) {
        // What reached the file may end in a torn record: later records go to a new segment.
        broken = true;
        log.error({ err: error, dir }, "could not write the spool; the calls of this group were refused");
        const refusal = new SpoolFullError(maxBytes, "the server could not write its spool; retry later");
        for (const waiter of group) waiter.reject(refusal);
      }
    }
  };

  const kick = () => {
    writing ??= writeGroups().finally(() => {
      writing = undefined;
      if (waiting.length > 0 || (active.pending === 0 && active.size > 0 && !sealed && !broken)) kick();
    });
  };

  return {
    async replay(queue, stopped) {
      while (left.length > 0 && !stopped()) {
        const segment = left.shift() as Segment;
        const name = basename(segment.path);
        const data = await readFile(segment.path);
        const { records, skippedBytes } = readSegment(data);
        if (skippedBytes > 0) {
          counts.skippedBytes += skippedBytes;
          log.warn(
            { segment: name, records: records.length, skippedBytes },
            "spool segment ends in a torn or corrupt record (a crash in the middle of a write): its complete records are replayed, the rest skipped",
          );
        }
        segment.pending = records.length;
        if (records.length === 0) {
          retire(segment);
          continue;
        }
        for (const { chunks, rows } of records) {
          if (stopped()) {
            // The rest stays on disk for the next start; what was queued is released as it lands.
            segment.pending = Number.POSITIVE_INFINITY;
            return;
          }
          await queue({ record: { segment }, chunks, rows });
          counts.replayedRows += rows;
        }
      }
    },

    append(chunks) {
      if (sealed) return Promise.reject(new Error("the spool is closed"));
      const { parts, bytes } = encodeRecord(chunks);
      if (totalBytes() + bytes > maxBytes) return Promise.reject(new SpoolFullError(maxBytes));
      return new Promise<SpoolRecord>((resolve, reject) => {
        waiting.push({ parts, bytes, resolve, reject });
        waitingBytes += bytes;
        kick();
      });
    },

    release({ segment }) {
      segment.pending -= 1;
      if (segment.pending > 0) return;
      if (segment === active) {
        if (!sealed) kick();
      } else if (!segment.handle) retire(segment);
    },

    stats: () => ({
      bytes: totalBytes(),
      segments: segments.length,
      pendingRecords: segments.reduce(
        (sum, { pending }) => (pending > 0 && pending < Infinity ? sum + pending : sum),
        0,
      ),
      ...counts,
    }),

    async seal() {
      sealed = true;
      while (writing) await writing;
    },

    async close() {
      sealed = true;
      while (writing) await writing;
      await active.handle?.close();
      active.handle = undefined;
      // Nothing waits for QuestDB: no file is needed at the next start.
      if (active.pending === 0) retire(active);
      await rm(join(dir, "LOCK"), { force: true });
      heldHere.delete(dir);
    },
  };
}
