// Live queries multiplexed into cohorts (the way Hasura runs live queries): one poller per
// distinct query and variables, shared by all its subscribers. A poller polls only when a table
// it reads committed a new transaction (QuestDB's per-table WAL transaction numbers) or its
// window slid, sends only when the result changed, gives a new subscriber the current value at
// once, and stops when its last subscriber leaves.
import type pg from "pg";
import type { Logger } from "pino";

export interface LiveQuerySpec<T> {
  /** Identifies the cohort: the subscription field and its variables. */
  key: string;
  /** Physical tables the poll reads; a new transaction in any of them triggers a poll. */
  tables: readonly string[];
  /** Re-poll this often even without commits (a sliding window); 0: only on commits. */
  slideMs: number;
  /** At most one poll per this many ms, however often the tables commit. Default 0. */
  minIntervalMs?: number;
  /** Runs the SQL (through `query`, which counts statements); undefined: nothing to send. */
  poll: (state: { previous: T | undefined }) => Promise<T | undefined>;
  /** Whether a new result differs from the previous one. Default: JSON comparison. */
  changed?: (previous: T | undefined, next: T) => boolean;
  /** Stream semantics (every result is an event, none is skipped) rather than latest-value. */
  stream?: boolean;
  /** Asked after each poll: true runs the next poll at once (the last one hit its page size). */
  again?: () => boolean;
}

export interface Subscriber<T> {
  push(value: T): void;
}

export interface LiveQueryStats {
  pollers: number;
  subscribers: number;
  polls: number;
  /** Ticks at which a poller had no new commit and no slide, so it ran nothing. */
  pollsSkipped: number;
  /** SQL statements run by live queries, including the per-tick transaction check. */
  statements: number;
}

/** What live polls run their SQL through (counted). */
export type LiveQuery = <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

export interface LiveQueries {
  /** The counted SQL runner polls use. */
  query: LiveQuery;
  /** Joins (or starts) the cohort of `spec.key`; returns a function that leaves it. */
  join<T>(spec: LiveQuerySpec<T>, subscriber: Subscriber<T>): () => void;
  stats(): LiveQueryStats;
  close(): void;
}

interface Poller {
  spec: LiveQuerySpec<unknown>;
  subscribers: Set<Subscriber<unknown>>;
  value: unknown;
  hasValue: boolean;
  seenTxn: Map<string, bigint>;
  lastPollAt: number;
  running: boolean;
}

const sameJson = (a: unknown, b: unknown) =>
  JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ===
  JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

export interface LiveQueriesOptions {
  pool: pg.Pool;
  log: Logger;
  /** How often table transaction numbers are checked. Default 250 ms. */
  intervalMs?: number;
  /**
   * false gives every subscriber its own poller: the naive design, kept only so the benchmark
   * can measure the baseline in the same run (LIVE_COHORTS=off). Default true.
   */
  cohorts?: boolean;
}

export function createLiveQueries(options: LiveQueriesOptions): LiveQueries {
  const { pool, log, intervalMs = 250, cohorts = true } = options;
  const pollers = new Map<string, Poller>();
  const txn = new Map<string, bigint>();
  let polls = 0;
  let skipped = 0;
  let statements = 0;
  let solo = 0;
  const query: LiveQuery = (text, params) => {
    statements++;
    return pool.query(text, params);
  };
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;

  const runPoll = async (poller: Poller) => {
    if (poller.running) return;
    poller.running = true;
    try {
      do {
        for (const table of poller.spec.tables) poller.seenTxn.set(table, txn.get(table) ?? -1n);
        poller.lastPollAt = Date.now();
        polls++;
        const next = await poller.spec.poll({ previous: poller.hasValue ? poller.value : undefined });
        if (next === undefined) continue;
        const changed = poller.spec.changed ?? ((a, b) => !sameJson(a, b));
        if (!poller.hasValue || poller.spec.stream || changed(poller.value, next)) {
          poller.value = next;
          poller.hasValue = true;
          for (const subscriber of poller.subscribers) subscriber.push(next);
        }
        // A page-limited poll that filled its page goes again now, not at the next commit.
      } while (poller.spec.again?.() && pollers.get(poller.spec.key) === poller);
    } catch (error) {
      log.warn(
        { err: error instanceof Error ? error.message : String(error), key: poller.spec.key },
        "live poll failed",
      );
    } finally {
      poller.running = false;
    }
  };

  const tick = async () => {
    if (ticking || pollers.size === 0) return;
    ticking = true;
    try {
      // One metadata statement per tick, whatever the number of pollers and subscribers.
      const result = await query<{ name: string; writerTxn: bigint }>("SELECT name, writerTxn FROM wal_tables()");
      for (const row of result.rows) txn.set(row.name, row.writerTxn);
      const now = Date.now();
      // Polls are started, not awaited: a slow one does not hold back the others' next tick.
      for (const poller of pollers.values()) {
        const committed = poller.spec.tables.some((t) => (txn.get(t) ?? -1n) !== poller.seenTxn.get(t));
        const slid = poller.spec.slideMs > 0 && now - poller.lastPollAt >= poller.spec.slideMs;
        const due = now - poller.lastPollAt >= (poller.spec.minIntervalMs ?? 0);
        if ((committed && due) || slid) void runPoll(poller);
        else skipped++;
      }
    } catch (error) {
      log.debug({ err: error instanceof Error ? error.message : String(error) }, "live tick failed");
    } finally {
      ticking = false;
    }
  };

  const ensureTimer = () => {
    if (!timer && pollers.size > 0) {
      timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
    } else if (timer && pollers.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    query,
    join<T>(shared: LiveQuerySpec<T>, subscriber: Subscriber<T>) {
      const spec = cohorts ? shared : { ...shared, key: `${shared.key}#${solo++}` };
      let poller = pollers.get(spec.key);
      if (!poller) {
        poller = {
          spec: spec as LiveQuerySpec<unknown>,
          subscribers: new Set(),
          value: undefined,
          hasValue: false,
          seenTxn: new Map(),
          lastPollAt: 0,
          running: false,
        };
        pollers.set(spec.key, poller);
        void runPoll(poller);
      } else if (poller.hasValue && !spec.stream) {
        subscriber.push(poller.value as T);
      }
      poller.subscribers.add(subscriber as Subscriber<unknown>);
      ensureTimer();
      const joined = poller;
      return () => {
        joined.subscribers.delete(subscriber as Subscriber<unknown>);
        if (joined.subscribers.size === 0 && pollers.get(spec.key) === joined) {
          pollers.delete(spec.key);
          ensureTimer();
        }
      };
    },
    stats: () => ({
      pollers: pollers.size,
      subscribers: [...pollers.values()].reduce((n, p) => n + p.subscribers.size, 0),
      polls,
      pollsSkipped: skipped,
      statements,
    }),
    close: () => {
      pollers.clear();
      ensureTimer();
    },
  };
}

/**
 * An async iterator fed by push(): a latest-value channel (a slow consumer gets only the newest
 * value) or a bounded queue that calls `onOverflow` when a consumer falls too far behind.
 */
export function createChannel<T>(options: {
  coalesce: boolean;
  maxQueued: number;
  onOverflow: () => void;
  onClose: () => void;
}) {
  const queue: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    options.onClose();
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };
  const iterator: AsyncIterableIterator<T> & { push(value: T): void } = {
    push(value: T) {
      if (done) return;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value, done: false });
      } else if (options.coalesce) {
        queue.length = 0;
        queue.push(value);
      } else if (queue.length >= options.maxQueued) {
        options.onOverflow();
        finish();
      } else queue.push(value);
    },
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift() as T, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return() {
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
