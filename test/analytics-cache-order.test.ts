// The cache's ordering rules, with a scripted SQL runner whose statements end when the test says
// so: a miss starts without waiting for a transaction probe, and no interleaving of
// statements, probes and commits lets a request see data older than a commit applied before it
// arrived. (analytics-cache.test.ts covers the same paths against the real QuestDB.)
import { describe, expect, it } from "vitest";
import { type CachedQuery, createQueryCache } from "../src/analytics/cache.ts";
import type { SqlRunner, SqlStatement } from "../src/analytics/sql.ts";

/** A database of one table `t`: its applied transaction and the value a statement reads. */
function scriptedDb() {
  let txn = 1n;
  let value = "v1";
  const pending: { name: string; end: () => void }[] = [];
  const started: string[] = [];
  const runner: SqlRunner = {
    query<R>(statement: SqlStatement): Promise<R[]> {
      started.push(statement.name);
      // A statement reads when it starts; a probe reports the number when it ends.
      const read = value;
      return new Promise<R[]>((resolve) => {
        pending.push({
          name: statement.name,
          end: () =>
            resolve(
              (statement.name === "cache.txn" ? [{ name: "t", writerTxn: txn }] : [{ value: read }]) as unknown as R[],
            ),
        });
      });
    },
    stats: () => ({ statements: started.length, failed: 0, byName: {} }),
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    runner,
    started,
    /** Statements and probes not ended yet, by name. */
    pending: () => pending.map((p) => p.name),
    commit(next: string) {
      txn++;
      value = next;
    },
    /** Ends the oldest pending statement called `name`, then lets promises settle. */
    async end(name: string) {
      const index = pending.findIndex((p) => p.name === name);
      if (index < 0) throw new Error(`nothing pending named ${name} (pending: ${pending.map((p) => p.name)})`);
      const [item] = pending.splice(index, 1);
      item?.end();
      await flush();
    },
    flush,
  };
}

const query = (name: string): CachedQuery<{ value: string }, string> => ({
  statement: { name, sql: `SELECT '${name}'`, params: [] },
  tables: ["t"],
  map: (rows) => rows.map((r) => r.value).join(","),
});

/** Reads `name` in a request of its own; the promise and whether it settled. */
function request(cache: ReturnType<typeof createQueryCache>, name: string) {
  const state: { value?: string } = {};
  const promise = cache
    .forRequest()
    .read(query(name))
    .then((v) => {
      state.value = v;
      return v;
    });
  return { promise, state };
}

/** A cache over a scripted database that has answered one probe and one read of `first`. */
async function warmed(first: string) {
  const db = scriptedDb();
  const cache = createQueryCache({ runner: db.runner, maxBytes: 1 << 20 });
  const warm = request(cache, first);
  await db.flush();
  await db.end("cache.txn");
  await db.end(first);
  await warm.promise;
  return { db, cache };
}

describe("query cache ordering", () => {
  it("waits for the first probe, then starts misses without one", async () => {
    const db = scriptedDb();
    const cache = createQueryCache({ runner: db.runner, maxBytes: 1 << 20 });
    const first = request(cache, "a");
    await db.flush();
    expect(db.pending()).toEqual(["cache.txn"]); // nothing known yet: probe first
    await db.end("cache.txn");
    expect(db.pending()).toEqual(["a"]);
    await db.end("a");
    expect(first.state.value).toBe("v1");

    const second = request(cache, "b");
    await db.flush();
    expect(db.pending()).toEqual(["b"]); // nothing to confirm: no probe
    await db.end("b");
    expect(second.state.value).toBe("v1");
    expect(cache.stats()).toMatchObject({ early: 1, misses: 2, probes: 1 });
  });

  it("serves an entry only after a probe confirms its table has not moved", async () => {
    const { db, cache } = await warmed("a");

    const hit = request(cache, "a");
    await db.flush();
    expect(db.pending()).toEqual(["cache.txn"]); // an entry exists: confirm before serving it
    expect(hit.state.value).toBeUndefined();
    await db.end("cache.txn");
    expect(hit.state.value).toBe("v1");
    expect(cache.stats().hits).toBe(1);

    db.commit("v2");
    const after = request(cache, "a");
    await db.flush();
    await db.end("cache.txn");
    expect(db.pending()).toEqual(["a"]); // the probe saw the commit: the entry is not used
    await db.end("a");
    expect(after.state.value).toBe("v2");
    expect(cache.stats().invalidated).toBe(1);
  });

  it("never answers a request with data older than a commit applied before it arrived", async () => {
    // The commit lands while the early statement runs, or before it starts (the cache has not
    // probed since, so it keys that statement by the older number either way).
    for (const commitWhile of [true, false]) {
      const { db, cache } = await warmed("warm");
      if (!commitWhile) db.commit("v2");
      const early = request(cache, "a");
      await db.flush();
      expect(db.pending()).toEqual(["a"]);
      if (commitWhile) db.commit("v2");
      await db.end("a");
      // Fresh for its own request: it started after the request arrived.
      expect(early.state.value).toBe(commitWhile ? "v1" : "v2");

      // It was kept under txn 1, so the next request probes, sees txn 2 and reads again.
      const later = request(cache, "a");
      await db.flush();
      expect(db.pending()).toEqual(["cache.txn"]);
      await db.end("cache.txn");
      expect(db.pending()).toEqual(["a"]);
      await db.end("a");
      expect(later.state.value).toBe("v2");
    }
  });

  it("lets a request join a run only when its own probe shows nothing was applied since the run began", async () => {
    const { db, cache } = await warmed("warm");

    const early = request(cache, "a");
    await db.flush();
    expect(db.pending()).toEqual(["a"]);
    db.commit("v2");
    const joiner = request(cache, "a"); // a run of `a` is going: it must probe first
    await db.flush();
    expect(db.pending()).toEqual(["a", "cache.txn"]);
    await db.end("cache.txn"); // the joiner's probe sees txn 2
    expect(db.pending()).toEqual(["a", "a"]); // so it did not join the run under txn 1
    await db.end("a");
    await db.end("a");
    expect(early.state.value).toBe("v1");
    expect(joiner.state.value).toBe("v2");
  });

  it("stores a whole response only when every read was keyed by the same, still current, numbers", async () => {
    const db = scriptedDb();
    const cache = createQueryCache({ runner: db.runner, maxBytes: 1 << 20 });
    const auto = async <T>(promise: Promise<T>): Promise<T> => {
      let done = false;
      const result = promise.finally(() => {
        done = true;
      });
      while (!done) {
        await db.flush();
        if (db.pending().length > 0) await db.end(db.pending()[0] as string);
      }
      return result;
    };
    const reads = cache.forRequest();
    expect(await auto(reads.cachedResponse("q"))).toBeUndefined();
    await auto(reads.read(query("a")));
    await auto(reads.read(query("b")));
    expect(reads.storeResponse("q", '{"data":1}')).toBe(true);

    const next = cache.forRequest();
    expect(await auto(next.cachedResponse("q"))).toBe('{"data":1}');
    expect(cache.stats().responseHits).toBe(1);

    db.commit("v2");
    const stale = cache.forRequest();
    expect(await auto(stale.cachedResponse("q"))).toBeUndefined();

    // A request whose first read started early under numbers a commit had already overtaken,
    // and whose second read was keyed by its own (newer) probe: not stored.
    await auto(cache.read(query("x"))); // an entry under txn 2
    db.commit("v3");
    const mixed = cache.forRequest();
    await auto(mixed.read(query("c"))); // no entry: early, under the last numbers seen (txn 2)
    await auto(mixed.read(query("x"))); // an entry to confirm: probe, txn 3, read again
    expect(db.started.filter((name) => name === "x")).toHaveLength(2);
    expect(mixed.storeResponse("m", "{}")).toBe(false);
  });
});
