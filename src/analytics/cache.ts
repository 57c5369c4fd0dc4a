// The query-result cache in front of the SQL runner (issue 4, point 7; range-aware since issue
// 13, point 4).
//
// - Key: statement name + SQL + parameters. An entry remembers what it read: each table of the
//   statement with the designated-timestamp range it reads (`CachedQuery.range`; none: the whole
//   table). A response entry remembers the union of its reads.
// - Freshness comes from the shared transaction watcher (questdb/txn-watch.ts). A request takes
//   one snapshot from a probe that started after it arrived, and waits until QuestDB has applied
//   what that probe saw committed for the tables it reads (issue 13, point 2: an answer includes
//   every row acknowledged COMMITTED before the request arrived, by any instance).
// - Every snapshot is processed once, in probe order: for each table whose applied transaction
//   moved, exactly the entries whose range overlaps a range those transactions wrote are dropped
//   (every entry of the table when QuestDB recorded no range, or the entry has none). A write
//   into today keeps yesterday's entries; a late row into an old hour drops the entries over it.
// - A value computed under an older snapshot is stored only if no transaction processed since
//   touched its range; a request joins a running identical statement (coalescing) only if no
//   transaction applied between that run's snapshot and its own touched the range.
// - Bounded in bytes (approximate: about the JSON size of the cached value); least recently used
//   first out.
//
// Cached values are shared between requests: callers treat them as read-only.
import { LRUCache } from "lru-cache";
import {
  createTxnWatch,
  lacksViews,
  type TableTxn,
  type TxnRange,
  type TxnSnapshot,
  type TxnWatch,
  type TxnWatchStats,
} from "../questdb/txn-watch.ts";
import { approximateBytes } from "./approximate-bytes.ts";
import type { SqlRunner, SqlStatement } from "./sql.ts";

export { approximateBytes };

export interface QueryCacheOptions {
  runner: SqlRunner;
  /** Byte budget; 0 stores nothing (coalescing and the freshness probe still apply). */
  maxBytes: number;
  /** The transaction watcher shared with the rest of the app. Default: one of its own over `runner`. */
  watch?: TxnWatch;
}

/** What analytics code reads through: the cache itself, or one request's view of it. */
export interface QueryReader {
  read<R, T>(query: CachedQuery<R, T>): Promise<T>;
  /**
   * The snapshot this request's reads of `tables` are checked against (one probe per request;
   * `tables` applied what it saw committed): what the rollup planner reads the views' state from.
   * `views`: the views whose state the caller reads (in the snapshot when they exist).
   */
  snapshot(tables: readonly string[], views?: readonly string[]): Promise<TxnSnapshot>;
  /**
   * A value made from `base` (a value this cache returned: e.g. a closed day's rows → their JSON)
   * and kept under `key` by keepDerived, while `base` is still the cached value of its read;
   * undefined otherwise (or when the cache keeps nothing).
   */
  derived?(base: object, key: string): unknown;
  /**
   * Keeps `value`, made from `base` alone, under `key` beside `base`'s entry: dropped with it (the
   * same reads, so the same invalidation) and counted in the byte budget. Nothing is kept when
   * `base` is no longer the cached value of its read.
   */
  keepDerived?(base: object, key: string, value: unknown): void;
}

export interface CachedQuery<R, T> {
  statement: SqlStatement;
  /**
   * Physical names of every table the SQL reads. A statement over a materialized view names the
   * view's base table (the rollup planner guarantees the answer equals the base table's).
   */
  tables: readonly string[];
  /**
   * The designated-timestamp range [from, to) in µs the statement reads of every table in
   * `tables`: only writes into it drop the entry. Default: the whole table.
   */
  range?: { from: bigint; to: bigint };
  /**
   * The range the value depends on, once its rows are known, when narrower than `range` (a keyset
   * page depends on the rows up to its last one, not on every later row): the entry is stored with
   * it, so writes past it keep the entry. Undefined from the function: `range`.
   */
  rangeOf?: (rows: R[]) => { from: bigint; to: bigint } | undefined;
  /** Rows → the value that is cached and returned. */
  map: (rows: R[]) => T;
}

export interface QueryCacheStats {
  hits: number;
  misses: number;
  /** Requests that joined an identical statement already running. */
  coalesced: number;
  /** Entries dropped because a transaction applied since touched what they read. */
  invalidated: number;
  /** Of `invalidated`: dropped whole-table (no range on the entry, or none recorded for the transactions). */
  invalidatedWhole: number;
  /** Of `invalidatedWhole`: dropped because QuestDB recorded no range for a transaction (an UPDATE, a TTL drop). */
  invalidatedUnknownRange: number;
  /**
   * Transactions the watcher could not tie to a range (questdb/txn-watch.ts, stats().unknown): what
   * made `invalidatedUnknownRange` happen: none recorded by QuestDB, the TTL unknown, the range load
   * failed, too many at once.
   */
  unknownTxns: TxnWatchStats["unknown"];
  /** The same transactions by table (physical name). */
  unknownTxnsByTable: TxnWatchStats["unknownByTable"];
  /** The watcher's probes that read materialized_views() too (questdb/txn-watch.ts, stats().viewProbes). */
  viewProbes: number;
  /** Entries of a table that moved, kept because no range its new transactions wrote overlaps theirs. */
  keptByRange: number;
  /** Entries dropped to stay within the byte budget. */
  evicted: number;
  /** Transaction snapshots requested (one per request, plus waits for the WAL apply). */
  probes: number;
  /** Always 0 since issue 13: every read waits for its request's snapshot (COMMITTED rows included). */
  early: number;
  /** Values derived from cached values (QueryReader.derived: a closed day's JSON text) found, and kept. */
  derivedHits: number;
  derivedKept: number;
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

/** One request's reads: one snapshot, every read checked against it. */
export interface RequestReads extends QueryReader {
  /** A stored response for `key`, if nothing applied since it was stored touched what it read. */
  cachedResponse(key: string): Promise<string | readonly Uint8Array[] | undefined>;
  /**
   * Stores this request's response under `key` when no transaction applied since any of its reads
   * touched what that read. Returns whether it was stored.
   */
  storeResponse(key: string, body: string | readonly Uint8Array[]): boolean;
}

export interface QueryCache extends QueryReader {
  /** A view for one request (or one subscription event): see RequestReads. */
  forRequest(): RequestReads;
  stats(): QueryCacheStats;
  /** Drops every entry (the benchmark's uncached runs). */
  clear(): void;
}

/** A table read over a range (undefined: the whole table). */
interface Read {
  table: string;
  range: TxnRange | undefined;
}

interface Entry {
  value: unknown;
  reads: readonly Read[];
  /** A derived entry's base value (QueryReader.derived): the entry is its only while that value is cached. */
  of?: object;
}

/** A read and the applied transactions its value reflects (at least). */
interface Based extends Read {
  basis: ReadonlyMap<string, TableTxn>;
}

/** Transaction number used for a table QuestDB does not list (not created yet). */
const NO_TABLE = -1n;
const EMPTY: ReadonlyMap<string, TableTxn> = new Map();

const bigintSafe = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);
const txnOf = (tables: ReadonlyMap<string, TableTxn>, table: string) => tables.get(table)?.writerTxn ?? NO_TABLE;
const overlaps = (range: TxnRange | undefined, ranges: readonly TxnRange[]) =>
  range === undefined ? ranges.length > 0 : ranges.some((r) => r.from < range.to && range.from < r.to);
const RESPONSE = "response\u0000";
const DERIVED = "derived\u0000";

export function createQueryCache(options: QueryCacheOptions): QueryCache {
  const { runner, maxBytes } = options;
  const watch = options.watch ?? createTxnWatch({ runner });
  const counts = {
    hits: 0,
    misses: 0,
    coalesced: 0,
    invalidated: 0,
    invalidatedWhole: 0,
    invalidatedUnknownRange: 0,
    keptByRange: 0,
    evicted: 0,
    probes: 0,
    responseHits: 0,
    responseMisses: 0,
    derivedHits: 0,
    derivedKept: 0,
  };
  const byQuery: Record<string, QueryCounts> = {};
  const countsOf = (statement: SqlStatement) => {
    let c = byQuery[statement.name];
    if (!c) {
      c = { hits: 0, misses: 0, coalesced: 0 };
      byQuery[statement.name] = c;
    }
    return c;
  };

  /** table → keys of entries that read it. */
  const byTable = new Map<string, Set<string>>();
  const lru =
    maxBytes > 0
      ? new LRUCache<string, Entry>({
          maxSize: maxBytes,
          sizeCalculation: (entry, key) => Math.max(1, key.length + approximateBytes(entry.value)),
          dispose: (entry, key, reason) => {
            if (reason === "evict") counts.evicted++;
            for (const read of entry.reads) byTable.get(read.table)?.delete(key);
          },
        })
      : undefined;
  /** A statement running under a key: its value and the reads the value depends on. */
  const running = new Map<
    string,
    { run: Promise<Entry>; reads: readonly Read[]; basis: ReadonlyMap<string, TableTxn> }
  >();

  /** The latest snapshot processed: entries hold what QuestDB had applied as of its numbers. */
  let processed: TxnSnapshot | undefined;
  const processedTables = () => processed?.tables ?? EMPTY;

  /**
   * Whether every read's value, as of `basis`, is still what QuestDB holds as of `upto`: no
   * transaction applied in between touched its range.
   */
  const unchanged = (
    reads: readonly Read[],
    basis: ReadonlyMap<string, TableTxn>,
    upto: ReadonlyMap<string, TableTxn>,
  ) => {
    for (const read of reads) {
      const from = txnOf(basis, read.table);
      const to = txnOf(upto, read.table);
      if (to === from) continue;
      if (from === NO_TABLE || to < from || !processed) return false;
      const ranges = processed.touched(read.table, from, to);
      if (ranges === null || overlaps(read.range, ranges)) return false;
    }
    return true;
  };

  /** Applies one snapshot to the entries (once each, in probe order). */
  const process = (snapshot: TxnSnapshot) => {
    if (processed && snapshot.probe <= processed.probe) return;
    const before = processedTables();
    processed = snapshot;
    if (!lru) return;
    for (const [table, keys] of byTable) {
      const from = txnOf(before, table);
      const to = txnOf(snapshot.tables, table);
      if (from === to || keys.size === 0) continue;
      const ranges = from === NO_TABLE || to < from ? null : snapshot.touched(table, from, to);
      for (const key of [...keys]) {
        const entry = lru.peek(key);
        if (!entry) continue;
        const own = entry.reads.filter((read) => read.table === table);
        const whole = ranges === null || own.some((read) => read.range === undefined);
        if (whole || own.some((read) => overlaps(read.range, ranges))) {
          if (lru.delete(key)) {
            counts.invalidated++;
            if (whole) counts.invalidatedWhole++;
            if (ranges === null) counts.invalidatedUnknownRange++;
          }
        } else counts.keptByRange++;
      }
    }
  };

  /** The key of the entry holding each cached value (for the values derived from it). */
  const entryOf = new WeakMap<object, string>();

  const store = (key: string, entry: Entry) => {
    if (!lru) return;
    lru.set(key, entry);
    if (!lru.has(key)) return; // larger than the whole budget
    if (typeof entry.value === "object" && entry.value !== null && !entry.of) entryOf.set(entry.value, key);
    for (const read of entry.reads) {
      const keys = byTable.get(read.table) ?? new Set<string>();
      keys.add(key);
      byTable.set(read.table, keys);
    }
  };

  const keyOf = (statement: SqlStatement) =>
    [statement.name, statement.sql, JSON.stringify(statement.params, bigintSafe)].join("\u0000");
  const readsOf = (query: Pick<CachedQuery<unknown, unknown>, "tables" | "range">): Read[] =>
    query.tables.map((table) => ({ table, range: query.range }));

  /**
   * Runs the statement under `key` (joinable meanwhile) and keeps the value if still current; the
   * reads the value depends on are narrowed by `rangeOf` once its rows are known.
   */
  const start = <R, T>(key: string, query: CachedQuery<R, T>, reads: Read[], basis: ReadonlyMap<string, TableTxn>) => {
    counts.misses++;
    countsOf(query.statement).misses++;
    const run = runner.query<R>(query.statement).then((rows): Entry => {
      const value = query.map(rows);
      const narrowed = query.rangeOf?.(rows);
      const used = narrowed ? reads.map((read) => ({ table: read.table, range: narrowed })) : reads;
      if (unchanged(used, basis, processedTables())) store(key, { value, reads: used });
      return { value, reads: used };
    });
    const item = { run, reads, basis };
    running.set(key, item);
    const forget = () => {
      if (running.get(key) === item) running.delete(key);
    };
    run.then(forget, forget);
    return run;
  };

  const forRequest = (): RequestReads => {
    let base: Promise<TxnSnapshot> | undefined;
    /**
     * Per table, the wait for it to apply what the request's probe saw committed: waited once per
     * request, not once per read (a month read in 30 pieces waited for the WAL apply 30 times,
     * ~6 ms each, while a bot wrote). A table's transaction numbers only grow, so a snapshot in
     * which it has applied them holds for every later read.
     */
    const waits = new Map<string, Promise<TxnSnapshot>>();
    /** A snapshot in which `tables` have applied what this request's probe saw committed. */
    const snapshotFor = async (tables: readonly string[], views: readonly string[] = []) => {
      watch.follow(tables);
      if (!base) {
        counts.probes++;
        base = watch.snapshot(undefined, views);
      }
      const first = await base;
      const applied = tables.map((table) => {
        let wait = waits.get(table);
        if (!wait) {
          wait = watch.applied(first, [table], views);
          waits.set(table, wait);
        }
        return wait;
      });
      let snapshot = first;
      for (const each of await Promise.all(applied)) if (each.probe > snapshot.probe) snapshot = each;
      // The request's probe, or a wait for the apply, read the tables alone while a view it needs
      // moved: a later probe that reads the views (its tables have applied at least as much).
      if (lacksViews(snapshot, views)) {
        counts.probes++;
        snapshot = await watch.snapshot(undefined, views);
      }
      process(snapshot);
      return snapshot;
    };
    /** What every read of this request reflects, for storeResponse. */
    const done: Based[] = [];

    return {
      snapshot: snapshotFor,
      derived,
      keepDerived,
      async read<R, T>(query: CachedQuery<R, T>): Promise<T> {
        const { statement } = query;
        const snapshot = await snapshotFor(query.tables);
        const key = keyOf(statement);
        const cached = lru?.get(key);
        if (cached) {
          counts.hits++;
          countsOf(statement).hits++;
          for (const read of cached.reads) done.push({ ...read, basis: processedTables() });
          return cached.value as T;
        }
        // A running statement is joined on the reads it was started with (before its rows could
        // narrow them); the response remembers the reads its value depends on.
        const inFlight = running.get(key);
        const joined = inFlight && unchanged(inFlight.reads, inFlight.basis, snapshot.tables);
        if (joined) {
          counts.coalesced++;
          countsOf(statement).coalesced++;
        }
        const basis = joined ? inFlight.basis : snapshot.tables;
        const computed = await (joined ? inFlight.run : start(key, query, readsOf(query), basis));
        for (const read of computed.reads) done.push({ ...read, basis });
        return computed.value as T;
      },

      async cachedResponse(key: string): Promise<string | readonly Uint8Array[] | undefined> {
        const entry = lru?.peek(RESPONSE + key);
        if (!entry) {
          counts.responseMisses++;
          return undefined;
        }
        await snapshotFor([...new Set(entry.reads.map((read) => read.table))]);
        const fresh = lru?.get(RESPONSE + key); // dropped meanwhile if a transaction touched it
        if (fresh) {
          counts.responseHits++;
          return fresh.value as string | readonly Uint8Array[];
        }
        counts.responseMisses++;
        return undefined;
      },

      storeResponse(key: string, body: string | readonly Uint8Array[]): boolean {
        if (!lru || done.length === 0) return false;
        const upto = processedTables();
        if (!done.every((read) => unchanged([read], read.basis, upto))) return false;
        const reads = new Map<string, Read>();
        for (const { table, range } of done)
          reads.set(`${table}\u0000${range?.from}\u0000${range?.to}`, { table, range });
        store(RESPONSE + key, { value: body, reads: [...reads.values()] });
        return lru.has(RESPONSE + key);
      },
    };
  };

  /** The derived entry's key for `base` and `key`, while `base` is the value of its entry. */
  const derivedKey = (base: object, key: string): string | undefined => {
    const baseKey = entryOf.get(base);
    return baseKey !== undefined && lru?.peek(baseKey)?.value === base ? `${DERIVED}${baseKey}\u0000${key}` : undefined;
  };
  const derived = (base: object, key: string): unknown => {
    const at = derivedKey(base, key);
    const entry = at === undefined ? undefined : lru?.get(at);
    if (entry?.of !== base) return undefined;
    counts.derivedHits++;
    return entry.value;
  };
  const keepDerived = (base: object, key: string, value: unknown): void => {
    const at = derivedKey(base, key);
    const reads = at === undefined ? undefined : lru?.peek(entryOf.get(base) as string)?.reads;
    if (at === undefined || !reads) return;
    store(at, { value, reads, of: base });
    if (lru?.has(at)) counts.derivedKept++;
  };

  return {
    // Outside a request (tests, tools): a view of its own per read.
    read: (query) => forRequest().read(query),
    snapshot: (tables, views) => forRequest().snapshot(tables, views),
    derived,
    keepDerived,
    forRequest,
    stats: () => ({
      ...counts,
      unknownTxns: watch.stats().unknown,
      unknownTxnsByTable: watch.stats().unknownByTable,
      viewProbes: watch.stats().viewProbes,
      early: 0,
      entries: lru?.size ?? 0,
      bytes: lru?.calculatedSize ?? 0,
      maxBytes,
      byQuery: Object.fromEntries(Object.entries(byQuery).map(([name, c]) => [name, { ...c }])),
    }),
    clear: () => lru?.clear(),
  };
}
