// The cache's ordering and range rules, with a scripted SQL runner over one table `t` whose
// statements end when the test says so (or at once, `auto`): no interleaving of statements,
// probes and commits lets a request see data older than a commit acknowledged before it arrived,
// and a commit drops exactly the entries whose range it wrote into.
// (analytics-cache.test.ts covers the same paths against the real QuestDB.)
import { describe, expect, it } from "vitest";
import { type CachedQuery, createQueryCache } from "../src/analytics/cache.ts";
import type { SqlRunner, SqlStatement } from "../src/analytics/sql.ts";
import { createTxnWatch } from "../src/questdb/txn-watch.ts";

/** A database of one table `t`: rows (timestamps), committed and applied transactions. */
function scriptedDb(auto = false) {
  /** Each transaction's rows; null: one that records no range (an UPDATE). */
  const log: (bigint[] | null)[] = [];
  let applied = 0;
  let ttlDays = 0;
  /** Transactions up to this one are no longer listed by wal_transactions() (purged parts). */
  let purgedUpTo = 0n;
  const rows = () => log.slice(0, applied).flatMap((txn) => txn ?? []);
  const pending: { name: string; end: () => void }[] = [];
  const started: string[] = [];
  const answer = (statement: SqlStatement): unknown[] => {
    if (statement.name === "txn.probe") {
      return [
        {
          name: "t",
          writerTxn: String(applied),
          sequencerTxn: String(log.length),
          suspended: false,
          base: null,
          status: null,
        },
      ];
    }
    if (statement.name === "txn.ttl") {
      return [{ table_name: "t", ttlValue: ttlDays, ttlUnit: "DAY", partitionBy: "DAY" }];
    }
    if (statement.name === "txn.ranges") {
      const [after, upto] = statement.params as [bigint, bigint];
      return log.flatMap((txn, i) => {
        const n = BigInt(i + 1);
        if (n <= after || n > upto || n <= purgedUpTo) return [];
        const sorted = txn ? [...txn].sort((a, b) => (a < b ? -1 : 1)) : [];
        const [lo, hi] = txn ? [String(sorted[0]), String(sorted[sorted.length - 1])] : [null, null];
        return [{ sequencerTxn: String(n), lo, hi }];
      });
    }
    // A statement counts the applied rows in [from, to) when it starts.
    const [from, to] = statement.params as [bigint, bigint];
    return [{ value: rows().filter((ts) => ts >= from && ts < to).length }];
  };
  const runner: SqlRunner = {
    query<R>(statement: SqlStatement): Promise<R[]> {
      started.push(statement.name);
      const result = answer(statement) as R[];
      if (auto) return new Promise((resolve) => setImmediate(() => resolve(result)));
      return new Promise<R[]>((resolve) => {
        // A probe reports the numbers when it ends.
        const end = () => resolve((statement.name.startsWith("txn.") ? answer(statement) : result) as R[]);
        pending.push({ name: statement.name, end });
      });
    },
    stats: () => ({ statements: started.length, failed: 0, byName: {}, rowsByName: {} }),
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    runner,
    started,
    count: (name: string) => started.filter((s) => s === name).length,
    pending: () => pending.map((p) => p.name),
    /** Commits (acknowledges) a transaction writing rows at `ts` (null: no range); applied unless told. */
    commit(ts: bigint[] | null, apply = true) {
      log.push(ts);
      if (apply) applied = log.length;
    },
    apply() {
      applied = log.length;
    },
    ttl(days: number) {
      ttlDays = days;
    },
    /** QuestDB purges the listing of every transaction so far (a part of the sequencer's log). */
    purge() {
      purgedUpTo = BigInt(log.length);
    },
    async end(name: string) {
      for (let i = 0; i < 20 && !pending.some((p) => p.name === name); i++) await flush();
      const index = pending.findIndex((p) => p.name === name);
      if (index < 0) throw new Error(`nothing pending named ${name} (pending: ${pending.map((p) => p.name)})`);
      const [item] = pending.splice(index, 1);
      item?.end();
      await flush();
      await flush();
    },
    /** Ends pending statements (oldest first) until `promise` settles. */
    async until<T>(promise: Promise<T>): Promise<T> {
      let done = false;
      const result = promise.finally(() => {
        done = true;
      });
      while (!done) {
        await flush();
        if (pending.length > 0) await this.end(pending[0]?.name as string);
      }
      return result;
    },
  };
}

const H = 3_600_000_000n;
/** Counts the rows of hour `h` (a range-aware entry), or of hours [h, h2) read as the whole table. */
const hour = (h: number, whole = false): CachedQuery<{ value: number }, number> => ({
  statement: {
    name: `count.${h}${whole ? ".whole" : ""}`,
    sql: "SELECT count()",
    params: [BigInt(h) * H, BigInt(h + 1) * H],
  },
  tables: ["t"],
  ...(whole ? {} : { range: { from: BigInt(h) * H, to: BigInt(h + 1) * H } }),
  map: (rows) => rows[0]?.value ?? 0,
});
const at = (h: number, minute = 0) => BigInt(h) * H + BigInt(minute) * 60_000_000n;

function setup(auto = true, maxBytes = 1 << 20) {
  const db = scriptedDb(auto);
  const watch = createTxnWatch({ runner: db.runner, applyWaitMs: 2_000 });
  const cache = createQueryCache({ runner: db.runner, maxBytes, watch });
  return { db, cache, watch };
}

describe("the idle probe", () => {
  it("loads a followed table's new transactions between requests, before QuestDB purges them from wal_transactions()", async () => {
    for (const idleProbeMs of [0, 20]) {
      const db = scriptedDb(true);
      const watch = createTxnWatch({ runner: db.runner, idleProbeMs });
      db.commit([at(1)]);
      const first = await watch.snapshot(["t"]);
      // A bot writes while no request comes; then the listing of those transactions is purged.
      for (let i = 0; i < 5; i++) db.commit([at(2, i)]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      db.purge();
      const later = await watch.snapshot(["t"]);
      const ranges = later.touched("t", first.tables.get("t")?.writerTxn as bigint, 6n);
      if (idleProbeMs === 0) {
        expect(ranges).toBeNull();
        expect(watch.stats().unknown.purged).toBe(5);
      } else {
        expect(ranges).toEqual([0, 1, 2, 3, 4].map((i) => ({ from: at(2, i), to: at(2, i) + 1n })));
        expect(watch.stats().unknown.purged).toBe(0);
      }
    }
  });
});

describe("range-aware invalidation", () => {
  it("keeps an entry over an earlier hour when a commit writes into a later one, and drops it on a late row into its hour", async () => {
    const { db, cache } = setup();
    db.commit([at(1, 5), at(2, 5)]);
    expect(await cache.read(hour(1))).toBe(1);
    expect(await cache.read(hour(2))).toBe(1);
    expect(db.count("count.1")).toBe(1);

    db.commit([at(3, 1)]); // the current hour
    expect(await cache.read(hour(1))).toBe(1);
    expect(await cache.read(hour(2))).toBe(1);
    expect(db.count("count.1") + db.count("count.2")).toBe(2); // both served from the cache
    expect(cache.stats()).toMatchObject({ hits: 2, invalidated: 0, keptByRange: 2 });

    db.commit([at(1, 30)]); // a late row into hour 1
    expect(await cache.read(hour(1))).toBe(2);
    expect(await cache.read(hour(2))).toBe(1);
    expect(db.count("count.1")).toBe(2);
    expect(db.count("count.2")).toBe(1);
    expect(cache.stats()).toMatchObject({ invalidated: 1, invalidatedWhole: 0 });
  });

  it("drops every entry of the table when QuestDB recorded no range for a transaction, and whole-table entries on any commit", async () => {
    const { db, cache } = setup();
    db.commit([at(1), at(5)]);
    await cache.read(hour(1));
    await cache.read(hour(2));
    await cache.read(hour(0, true));
    db.commit([at(7)]);
    await cache.read(hour(1));
    expect(cache.stats()).toMatchObject({
      invalidated: 1,
      invalidatedWhole: 1,
      invalidatedUnknownRange: 0,
      entries: 2,
    });

    db.commit(null); // an UPDATE: no range
    await cache.read(hour(1));
    expect(cache.stats()).toMatchObject({ invalidated: 3, invalidatedWhole: 3, invalidatedUnknownRange: 2 });
    expect(db.count("count.1")).toBe(2);
  });

  it("drops the entries a commit may have expired by the table's TTL (no WAL transaction of its own)", async () => {
    const { db, cache } = setup();
    db.ttl(2);
    const now = BigInt(Date.now()) * 1000n;
    const today = Number(now / H / 24n) * 24;
    db.commit([at(today - 96), at(today - 24)]);
    expect(await cache.read(hour(today - 96))).toBe(1); // four days ago: past the TTL's horizon
    expect(await cache.read(hour(today - 24))).toBe(1); // yesterday: within it
    db.commit([now]);
    await cache.read(hour(today - 24));
    expect(cache.stats()).toMatchObject({ hits: 1, invalidated: 1, invalidatedWhole: 0 });
  });

  it("waits for the WAL apply of what was committed before the request, then answers with it", async () => {
    const { db, cache } = setup();
    db.commit([at(1)]);
    expect(await cache.read(hour(1))).toBe(1);
    db.commit([at(1, 9)], false); // acknowledged, not applied
    const answer = cache.read(hour(1));
    // It polls: probes go on while the commit is not applied.
    while (db.count("txn.probe") < 4) await new Promise((resolve) => setTimeout(resolve, 1));
    db.apply();
    expect(await answer).toBe(2);
  });

  it("waits for the apply once per request, however many pieces the request reads after it", async () => {
    const { db, cache } = setup();
    db.commit([at(1)]);
    for (let h = 0; h < 8; h++) await cache.read(hour(h));
    db.commit([at(9)], false); // a bot's write into the current hour: acknowledged, not applied
    const request = cache.forRequest();
    const first = request.read(hour(0));
    while (db.count("txn.probe") < 12) await new Promise((resolve) => setTimeout(resolve, 1));
    db.apply();
    expect(await first).toBe(0);
    const probes = db.count("txn.probe");
    // Seven more pieces of the same request, each from the cache: no probe (no wait).
    for (let h = 1; h < 8; h++) expect(await request.read(hour(h))).toBe(h === 1 ? 1 : 0);
    expect(db.count("txn.probe")).toBe(probes);
  });

  it("fails retryably when the apply does not come within the deadline", async () => {
    const db = scriptedDb(true);
    const watch = createTxnWatch({ runner: db.runner, applyWaitMs: 50 });
    db.commit([at(1)], false);
    await expect(watch.snapshot(["t"])).rejects.toMatchObject({
      message:
        "QuestDB has not applied the committed rows of t within 50 ms (its WAL apply is behind); retry after 1 s",
      extensions: { code: "OVERLOADED", retryable: true },
    });
  });

  it("answers touched() null for transactions older than the log or past what the probe loaded", async () => {
    const db = scriptedDb(true);
    const watch = createTxnWatch({ runner: db.runner, logSize: 2 });
    db.commit([at(1)]);
    const first = await watch.snapshot(["t"]);
    expect(first.tables.get("t")).toEqual({ writerTxn: 1n, sequencerTxn: 1n });
    db.commit([at(2), at(2, 30)]);
    db.commit([at(3)]);
    db.commit([at(4)]);
    const later = await watch.snapshot(["t"]);
    expect(later.touched("t", 3n, 4n)).toEqual([{ from: at(4), to: at(4) + 1n }]);
    expect(later.touched("t", 2n, 4n)).toEqual([
      { from: at(3), to: at(3) + 1n },
      { from: at(4), to: at(4) + 1n },
    ]);
    expect(later.touched("t", 1n, 4n)).toBeNull(); // txn 2 fell out of the log (logSize 2)
    expect(later.touched("t", 3n, 5n)).toBeNull(); // not loaded yet
    expect(later.touched("t", 4n, 4n)).toEqual([]);
  });
});

describe("ordering", () => {
  it("lets a request join a run only when nothing applied since the run's snapshot touched its range", async () => {
    const { db, cache } = setup(false);
    db.commit([at(1)]);
    const first = cache.read(hour(1));
    await db.end("txn.probe"); // the table's first probe: its TTL, no ranges
    await db.end("txn.ttl");
    expect(db.pending()).toEqual(["count.1"]);

    db.commit([at(5)]); // elsewhere: the next request may join the run
    const joiner = cache.read(hour(1));
    await db.end("txn.probe");
    await db.end("txn.ranges");
    expect(db.pending()).toEqual(["count.1"]);
    expect(cache.stats().coalesced).toBe(1);

    db.commit([at(1, 40)]); // into hour 1: the next one must not
    const fresh = cache.read(hour(1));
    await db.end("txn.probe");
    await db.end("txn.ranges");
    expect(db.pending()).toEqual(["count.1", "count.1"]);
    await db.end("count.1");
    await db.end("count.1");
    expect(await first).toBe(1);
    expect(await joiner).toBe(1);
    expect(await fresh).toBe(2);
  });

  it("does not store a value read under a snapshot that a commit into its range has overtaken", async () => {
    const { db, cache } = setup(false);
    db.commit([at(1)]);
    const slow = cache.read(hour(1));
    await db.end("txn.probe");
    await db.end("txn.ttl");
    db.commit([at(1, 20)]);
    const other = cache.read(hour(2)); // its probe processes the commit into hour 1
    await db.end("txn.probe");
    await db.end("txn.ranges");
    await db.end("count.1");
    expect(await slow).toBe(1);
    await db.end("count.2");
    await other;
    expect(cache.stats().entries).toBe(1); // hour 2 only
    const again = cache.read(hour(1));
    await db.until(again);
    expect(await again).toBe(2);
  });

  it("stores a whole response tied to its reads' ranges, and serves it until a commit writes into one", async () => {
    const { db, cache } = setup();
    db.commit([at(1), at(2)]);
    const reads = cache.forRequest();
    expect(await reads.cachedResponse("q")).toBeUndefined();
    await reads.read(hour(1));
    await reads.read(hour(2));
    expect(reads.storeResponse("q", '{"data":1}')).toBe(true);

    db.commit([at(3)]);
    expect(await cache.forRequest().cachedResponse("q")).toBe('{"data":1}');
    db.commit([at(2, 10)]);
    expect(await cache.forRequest().cachedResponse("q")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ responseHits: 1, responseMisses: 2 });
  });

  it("does not store a response when a read was overtaken by a commit into its range", async () => {
    const { db, cache } = setup();
    db.commit([at(1)]);
    await cache.read(hour(2)); // an entry under txn 1
    const reads = cache.forRequest();
    await reads.read(hour(2)); // a hit
    db.commit([at(2, 1)]);
    await cache.read(hour(5)); // another request processes the commit into hour 2
    expect(reads.storeResponse("r", "{}")).toBe(false);
  });

  it("stays within its byte budget", async () => {
    const { db, cache } = setup(true, 600);
    db.commit([at(1)]);
    for (let h = 0; h < 40; h++) {
      await cache.read(hour(h));
      expect(cache.stats().bytes).toBeLessThanOrEqual(600);
    }
    expect(cache.stats().evicted).toBeGreaterThan(0);
  });
});
