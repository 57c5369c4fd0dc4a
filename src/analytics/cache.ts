// The query-result cache in front of the SQL runner (issue 4, point 7).
//
// - Key: statement name + SQL + parameters + the applied transaction number (`wal_tables()`
//   writerTxn) of every table the statement reads. Before an entry is served, QuestDB is asked
//   for those numbers; a table that committed (and applied) a new transaction since the entry was
//   made gives a new key, so an answer is never older than the last applied commit, whichever API
//   instance (or bot) wrote it. Entries of a table whose number moved are dropped at once.
// - The transaction probe is one cheap metadata statement shared by every request that arrives
//   while it is not yet running: a request never joins a probe that started before it arrived.
//   A request probes once and keys every read it makes by that one answer.
// - A statement with no entry and no run under the last numbers seen starts at once, without
//   waiting for a probe (an answer that is not cached costs no probe round trip). It is
//   stored under those last numbers: it started after they were applied, so it holds at least
//   that data, and a later request only hits it once a probe shows nothing was applied since.
//   It started after its request arrived, so its answer holds every commit applied before then.
// - Identical concurrent requests (same key) share one SQL execution (coalescing).
// - Whole answers: a request whose reads were all keyed by the same numbers can store its
//   serialised response (the HTTP fast path does, for analytics queries); a later identical
//   request gets it back, bytes for bytes, when a probe shows the same numbers for every table
//   it read. It skips the SQL and the GraphQL execution.
// - Bounded in bytes (approximate: about the JSON size of the cached value); least recently used
//   first out.
//
// Cached values are shared between requests: callers treat them as read-only.
import { LRUCache } from "lru-cache";
import type { TimeRange } from "./range.ts";
import type { SqlRunner, SqlStatement } from "./sql.ts";

export interface QueryCacheOptions {
  runner: SqlRunner;
  /** Byte budget; 0 stores nothing (coalescing and the freshness probe still apply). */
  maxBytes: number;
}

/** What analytics code reads through: the cache itself, or one request's view of it. */
export interface QueryReader {
  read<R, T>(query: CachedQuery<R, T>): Promise<T>;
}

export interface CachedQuery<R, T> {
  statement: SqlStatement;
  /** Physical names of every table the SQL reads (for a view: its base table). */
  tables: readonly string[];
  /** The designated-timestamp range the SQL reads of those tables; absent: all of it. */
  range?: TimeRange;
  /** Rows → the value that is cached and returned. */
  map: (rows: R[]) => T;
}

export interface QueryCacheStats {
  hits: number;
  misses: number;
  /** Requests that joined an identical statement already running. */
  coalesced: number;
  /** Entries dropped because a table they read committed a new transaction. */
  invalidated: number;
  /** Entries dropped to stay within the byte budget. */
  evicted: number;
  /** Transaction probes run. */
  probes: number;
  /** Statements started beside the probe instead of after it (counted in misses too). */
  early: number;
  /** Whole responses served from the cache, and lookups that found none (or a stale one). */
  responseHits: number;
  responseMisses: number;
  entries: number;
  bytes: number;
  maxBytes: number;
  /** hits, misses and coalesced reads per statement name (a closed set in code). */
  byQuery: Record<string, QueryCounts>;
}

export interface QueryCounts {
  hits: number;
  misses: number;
  coalesced: number;
}

/** One request's reads: probed once, every read keyed by that answer. */
export interface RequestReads extends QueryReader {
  /** A stored response for `key`, if every table it read is still at the same transaction. */
  cachedResponse(key: string): Promise<string | undefined>;
  /**
   * Stores this request's response under `key` when all its reads were keyed by the same
   * transaction numbers and those are still the latest known. Returns whether it was stored.
   */
  storeResponse(key: string, body: string): boolean;
}

export interface QueryCache extends QueryReader {
  /** A view for one request (or one subscription event): see RequestReads. */
  forRequest(): RequestReads;
  stats(): QueryCacheStats;
  /** Drops every entry (the benchmark's uncached runs). */
  clear(): void;
}

type Txns = ReadonlyMap<string, bigint>;

interface Entry {
  value: unknown;
  tables: readonly string[];
  /** For a stored response: the transaction of every table it read. */
  txns?: Txns;
}

/** Transaction number used for a table QuestDB does not list (not created yet). */
const NO_TABLE = -1n;

const bigintSafe = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);
/**
 * About the JSON length of a value (strings by length, numbers and bigints as 8 and 16, 8 per
 * key or element for punctuation), without serialising it: JSON.stringify with a bigint replacer
 * cost ~0.2 ms for a page of 100 trades, more than the rest of a cache hit.
 */
export function approximateBytes(value: unknown): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    switch (typeof item) {
      case "string":
        bytes += item.length + 2;
        break;
      case "number":
      case "boolean":
        bytes += 8;
        break;
      case "bigint":
        bytes += 16;
        break;
      case "object":
        if (item === null) bytes += 4;
        else if (Array.isArray(item)) {
          bytes += 2 + item.length;
          for (const element of item) stack.push(element);
        } else if (item instanceof Map) {
          bytes += 2;
          for (const [k, v] of item) stack.push(k, v);
        } else {
          bytes += 2;
          for (const k in item) {
            bytes += k.length + 4;
            stack.push((item as Record<string, unknown>)[k]);
          }
        }
        break;
      default:
        bytes += 4;
    }
  }
  return bytes;
}

const txnOf = (txns: Txns, table: string) => txns.get(table) ?? NO_TABLE;
const RESPONSE = "response\u0000";

export function createQueryCache(options: QueryCacheOptions): QueryCache {
  const { runner, maxBytes } = options;
  let hits = 0;
  let misses = 0;
  let coalesced = 0;
  let invalidated = 0;
  let evicted = 0;
  let probes = 0;
  let early = 0;
  let responseHits = 0;
  let responseMisses = 0;
  const byQuery: Record<string, QueryCounts> = {};
  const countsOf = (statement: SqlStatement) => {
    let counts = byQuery[statement.name];
    if (!counts) {
      counts = { hits: 0, misses: 0, coalesced: 0 };
      byQuery[statement.name] = counts;
    }
    return counts;
  };

  /** table → keys of entries that read it, so a new transaction drops them at once. */
  const byTable = new Map<string, Set<string>>();
  const lru =
    maxBytes > 0
      ? new LRUCache<string, Entry>({
          maxSize: maxBytes,
          sizeCalculation: (entry, key) => Math.max(1, key.length + approximateBytes(entry.value)),
          dispose: (entry, key, reason) => {
            if (reason === "evict") evicted++;
            for (const table of entry.tables) byTable.get(table)?.delete(key);
          },
        })
      : undefined;
  const running = new Map<string, Promise<unknown>>();
  /** The numbers of the latest probe that ended; empty until one has. */
  const lastTxn = new Map<string, bigint>();
  let probed = false;

  const runProbe = async (): Promise<Txns> => {
    probes++;
    const rows = await runner.query<{ name: string; writerTxn: bigint }>({
      name: "cache.txn",
      sql: "SELECT name, writerTxn FROM wal_tables()",
      params: [],
    });
    const txns = new Map(rows.map((row) => [row.name, BigInt(row.writerTxn)]));
    for (const [table, keys] of byTable) {
      if (txnOf(lastTxn, table) !== txnOf(txns, table) && keys.size > 0) {
        for (const key of [...keys]) {
          if (lru?.delete(key)) invalidated++;
        }
      }
    }
    lastTxn.clear();
    for (const [table, txn] of txns) lastTxn.set(table, txn);
    probed = true;
    return txns;
  };

  // One probe at a time, and never one that started before the caller arrived: a caller joins
  // the probe that starts once the running one (if any) has ended, so every request arriving
  // meanwhile shares it.
  let probeInFlight: Promise<unknown> | undefined;
  let next: Promise<Txns> | undefined;
  const currentTxns = (): Promise<Txns> => {
    if (!next) {
      const previous = probeInFlight;
      next = (async () => {
        await previous?.catch(() => undefined);
        next = undefined;
        const probe = runProbe();
        probeInFlight = probe;
        return probe;
      })();
    }
    return next;
  };

  const keyOf = (statement: SqlStatement, tables: readonly string[], txns: Txns) =>
    [
      statement.name,
      statement.sql,
      JSON.stringify(statement.params, bigintSafe),
      tables.map((table) => `${table}@${txnOf(txns, table)}`).join(","),
    ].join("\u0000");

  /** Still the latest numbers known for every table: an entry made now can be hit. */
  const current = (tables: Iterable<string>, txns: Txns) => {
    for (const table of tables) if (txnOf(lastTxn, table) !== txnOf(txns, table)) return false;
    return true;
  };

  const store = (key: string, entry: Entry) => {
    if (!lru) return;
    lru.set(key, entry);
    if (!lru.has(key)) return; // larger than the whole budget
    for (const table of entry.tables) {
      const keys = byTable.get(table) ?? new Set<string>();
      keys.add(key);
      byTable.set(table, keys);
    }
  };

  /** Runs the statement under `key` (joinable meanwhile) and keeps the value if still current. */
  const start = <R, T>(key: string, query: CachedQuery<R, T>, txns: Txns): Promise<T> => {
    misses++;
    countsOf(query.statement).misses++;
    const run = runner.query<R>(query.statement).then((rows) => {
      const value = query.map(rows);
      // Only keep it if no table moved on while the statement ran (it would never be hit).
      if (current(query.tables, txns)) store(key, { value, tables: query.tables });
      return value;
    });
    running.set(key, run);
    const forget = () => running.delete(key);
    run.then(forget, forget);
    return run;
  };

  /** A cached or running value under `key`, if any. */
  const lookup = (key: string, statement: SqlStatement): { value: unknown } | undefined => {
    const cached = lru?.get(key);
    if (cached) {
      hits++;
      countsOf(statement).hits++;
      return { value: cached.value };
    }
    const inFlight = running.get(key);
    if (inFlight) {
      coalesced++;
      countsOf(statement).coalesced++;
      return { value: inFlight };
    }
    return undefined;
  };

  const forRequest = (): RequestReads => {
    let probe: Promise<Txns> | undefined;
    let settled: Txns | undefined;
    const txns = () => {
      probe ??= currentTxns().then((t) => {
        settled = t;
        return t;
      });
      return probe;
    };
    /** table → the transaction every read of it was keyed by; `mixed` once two differ. */
    const seen = new Map<string, bigint>();
    let mixed = false;
    const note = (tables: readonly string[], t: Txns) => {
      for (const table of tables) {
        const txn = txnOf(t, table);
        const before = seen.get(table);
        if (before === undefined) seen.set(table, txn);
        else if (before !== txn) mixed = true;
      }
    };

    return {
      async read<R, T>(query: CachedQuery<R, T>): Promise<T> {
        const { statement, tables } = query;
        if (lru && !settled && probed) {
          // Nothing cached or running under the last numbers seen: a probe could only confirm a
          // miss, so start now, without one. (Not without a cache: a request arriving meanwhile
          // could then only share the run if it were still going.)
          const last = new Map(tables.map((table) => [table, txnOf(lastTxn, table)]));
          const key = keyOf(statement, tables, last);
          if (!lru.has(key) && !running.has(key)) {
            early++;
            note(tables, last);
            // No probe at all: it would only compete with the statement in QuestDB (two cores,
            // measured: +2–4 ms on a 15 ms query). The numbers move on with the next request
            // that finds an entry to confirm.
            return start(key, query, last);
          }
        }
        const t = settled ?? (await txns());
        note(tables, t);
        const key = keyOf(statement, tables, t);
        const found = lookup(key, statement);
        if (found) return found.value as T;
        return start(key, query, t);
      },

      async cachedResponse(key: string): Promise<string | undefined> {
        const entry = lru?.get(RESPONSE + key);
        if (!entry?.txns) {
          responseMisses++;
          return undefined;
        }
        const t = settled ?? (await txns());
        const { txns: stored } = entry;
        if (entry.tables.every((table) => txnOf(t, table) === txnOf(stored, table))) {
          responseHits++;
          return entry.value as string;
        }
        responseMisses++;
        return undefined;
      },

      storeResponse(key: string, body: string): boolean {
        if (!lru || mixed || seen.size === 0 || !current(seen.keys(), seen)) return false;
        store(RESPONSE + key, { value: body, tables: [...seen.keys()], txns: new Map(seen) });
        return lru.has(RESPONSE + key);
      },
    };
  };

  return {
    // Outside a request (tests, tools): a view of its own per read.
    read: (query) => forRequest().read(query),
    forRequest,
    stats: () => ({
      hits,
      misses,
      coalesced,
      invalidated,
      evicted,
      probes,
      early,
      responseHits,
      responseMisses,
      entries: lru?.size ?? 0,
      bytes: lru?.calculatedSize ?? 0,
      maxBytes,
      byQuery: Object.fromEntries(Object.entries(byQuery).map(([name, counts]) => [name, { ...counts }])),
    }),
    clear: () => lru?.clear(),
  };
}
