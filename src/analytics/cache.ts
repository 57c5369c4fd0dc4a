// The query-result cache in front of the SQL runner (issue 4, point 7).
//
// - Key: statement name + SQL + parameters + the applied transaction number (`wal_tables()`
//   writerTxn) of every table the statement reads. Before a request is answered, QuestDB is asked
//   for those numbers; a table that committed (and applied) a new transaction since the entry was
//   made gives a new key, so an answer is never older than the last applied commit, whichever API
//   instance (or bot) wrote it. Entries of a table whose number moved are dropped at once.
// - The transaction probe is one cheap metadata statement shared by every request that arrives
//   while it is not yet running: a request never joins a probe that started before it arrived.
// - Identical concurrent requests (same key) share one SQL execution (coalescing).
// - Bounded in bytes (approximate: the JSON size of the cached value); least recently used first out.
//
// Cached values are shared between requests: callers treat them as read-only.
import { LRUCache } from "lru-cache";
import type { SqlRunner, SqlStatement } from "./sql.ts";

export interface QueryCacheOptions {
  runner: SqlRunner;
  /** Byte budget; 0 stores nothing (coalescing and the freshness probe still apply). */
  maxBytes: number;
}

export interface CachedQuery<R, T> {
  statement: SqlStatement;
  /** Physical names of every table the SQL reads. */
  tables: readonly string[];
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
  entries: number;
  bytes: number;
  maxBytes: number;
}

export interface QueryCache {
  read<R, T>(query: CachedQuery<R, T>): Promise<T>;
  stats(): QueryCacheStats;
  /** Drops every entry (the benchmark's uncached runs). */
  clear(): void;
}

interface Entry {
  value: unknown;
  tables: readonly string[];
}

/** Transaction number used for a table QuestDB does not list (not created yet). */
const NO_TABLE = -1n;

const bigintSafe = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);

export function createQueryCache(options: QueryCacheOptions): QueryCache {
  const { runner, maxBytes } = options;
  let hits = 0;
  let misses = 0;
  let coalesced = 0;
  let invalidated = 0;
  let evicted = 0;
  let probes = 0;

  /** table → keys of entries that read it, so a new transaction drops them at once. */
  const byTable = new Map<string, Set<string>>();
  const lru =
    maxBytes > 0
      ? new LRUCache<string, Entry>({
          maxSize: maxBytes,
          sizeCalculation: (entry, key) =>
            Math.max(1, key.length + (JSON.stringify(entry.value, bigintSafe)?.length ?? 0)),
          dispose: (entry, key, reason) => {
            if (reason === "evict") evicted++;
            for (const table of entry.tables) byTable.get(table)?.delete(key);
          },
        })
      : undefined;
  const running = new Map<string, Promise<unknown>>();
  const lastTxn = new Map<string, bigint>();

  const runProbe = async (): Promise<Map<string, bigint>> => {
    probes++;
    const rows = await runner.query<{ name: string; writerTxn: bigint }>({
      name: "cache.txn",
      sql: "SELECT name, writerTxn FROM wal_tables()",
      params: [],
    });
    const txns = new Map(rows.map((row) => [row.name, BigInt(row.writerTxn)]));
    for (const [table, keys] of byTable) {
      const txn = txns.get(table) ?? NO_TABLE;
      if (lastTxn.get(table) !== txn && keys.size > 0) {
        for (const key of [...keys]) {
          if (lru?.delete(key)) invalidated++;
        }
      }
    }
    for (const [table, txn] of txns) lastTxn.set(table, txn);
    return txns;
  };

  // One probe at a time, and never one that started before the caller arrived: a caller joins
  // the probe that starts once the running one (if any) has ended, at the earliest after the
  // current tick, so every request arriving meanwhile shares it.
  let probeInFlight: Promise<unknown> | undefined;
  let next: Promise<Map<string, bigint>> | undefined;
  const currentTxns = (): Promise<Map<string, bigint>> => {
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

  return {
    async read<R, T>(query: CachedQuery<R, T>): Promise<T> {
      const txns = await currentTxns();
      const { statement, tables } = query;
      const key = [
        statement.name,
        statement.sql,
        JSON.stringify(statement.params, bigintSafe),
        tables.map((table) => `${table}@${txns.get(table) ?? NO_TABLE}`).join(","),
      ].join("\u0000");

      const cached = lru?.get(key);
      if (cached) {
        hits++;
        return cached.value as T;
      }
      const inFlight = running.get(key);
      if (inFlight) {
        coalesced++;
        return inFlight as Promise<T>;
      }
      misses++;
      const run = runner.query<R>(statement).then((rows) => {
        const value = query.map(rows);
        // Only keep it if no table moved on while the statement ran (it would never be hit).
        const current = tables.every((table) => (lastTxn.get(table) ?? NO_TABLE) === (txns.get(table) ?? NO_TABLE));
        if (lru && current) {
          lru.set(key, { value, tables });
          if (lru.has(key)) {
            for (const table of tables) {
              const keys = byTable.get(table) ?? new Set<string>();
              keys.add(key);
              byTable.set(table, keys);
            }
          }
        }
        return value;
      });
      running.set(key, run);
      const forget = () => running.delete(key);
      run.then(forget, forget);
      return run;
    },

    stats: () => ({
      hits,
      misses,
      coalesced,
      invalidated,
      evicted,
      probes,
      entries: lru?.size ?? 0,
      bytes: lru?.calculatedSize ?? 0,
      maxBytes,
    }),

    clear: () => lru?.clear(),
  };
}
