// Live queries multiplexed into cohorts (the way Hasura runs live queries): one poller per
// distinct query and variables, shared by all its subscribers. A poller polls only when a table
// it reads committed a new transaction (QuestDB's per-table WAL transaction numbers) or its
// window slid, sends only when the result changed, gives a new subscriber the current value at
// once, and stops when its last subscriber leaves.
//
// Commits are found by transaction checks (txn-checks.ts): every `intervalMs`, and at once when
// this instance's batch writer announces an acknowledged flush (poke).
import type { Logger } from "pino";
import type { SqlRunner, SqlStatement } from "../analytics/sql.ts";
import type { CommitTiming } from "../ingest/batch-writer.ts";
import { createTxnWatch } from "../questdb/txn-watch.ts";
import { createTxnChecks, type TxnChecksOptions } from "./txn-checks.ts";
import { createUnionBatch, type PartQuery } from "./union-batch.ts";

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
  poll: (state: { previous: T | undefined; txns: PollTxns }) => Promise<T | undefined>;
  /** Have the transaction checks read the time range of each new transaction of `tables` (for `txns.earliestWritten`). */
  ranges?: boolean;
  /** Whether a new result differs from the previous one. Default: JSON comparison. */
  changed?: (previous: T | undefined, next: T) => boolean;
  /** Stream semantics (every result is an event, none is skipped) rather than latest-value. */
  stream?: boolean;
  /** Asked after each poll: true runs the next poll at once (the last one hit its page size). */
  again?: () => boolean;
}

/** What a poll knows of its tables' transactions when it starts. */
export interface PollTxns {
  /** The table's applied transaction as the latest check saw it: the poll's SQL sees at least that. */
  applied(table: string): bigint;
  /** See TxnChecks.earliestWritten (txn-checks.ts); known for the tables of a spec with `ranges`. */
  earliestWritten(table: string, afterTxn: bigint, uptoTxn: bigint): bigint | null | undefined;
  /** See TxnChecks.loadUpTo. */
  loadUpTo(table: string, txn: bigint): Promise<void>;
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
  /** SQL statements run by live queries, including the transaction checks. */
  statements: number;
  /** The polls' statements by name (joined ones under the first one's; checks aside). */
  statementsByName: Record<string, number>;
  /** Commits of this instance announced by poke() while some poller read their table. */
  pokes: number;
  /** Transaction checks (wal_tables()) run by ticks. */
  tickChecks: number;
  /** Transaction checks run for pokes (at once, and again while the commit was not applied). */
  pokeChecks: number;
  /** Statements of the checks that read the time ranges of new transactions (wal_transactions()). */
  rangeLoads: number;
}

/** What live polls run their SQL through: the SqlRunner of live queries (named, timed), counted here too. */
export type LiveQuery = <R>(statement: SqlStatement) => Promise<R[]>;

/**
 * Where the time of an event (a row accepted … the message handed to subscribers' sockets) goes:
 * - batch_wait: row accepted → its flush started; ilp_commit: flush started → QuestDB's 204;
 * - wal_apply: 204 → a transaction check saw the table's writerTxn reach the sequencerTxn it read
 *   after the 204 (applied, visible to SELECT); with LIVE_POKE=off the first check is a tick's;
 * - poll_wait: a check saw the new commit (and the poller was due) → its poll started;
 * - query: the poll's SQL, the wait for a connection of the pool included;
 * - fan_out: the poll's result → the messages written to every subscriber's socket.
 */
export type LiveStage = "batch_wait" | "ilp_commit" | "wal_apply" | "poll_wait" | "query" | "fan_out";

/** What a poll stage is labelled with: stream (every result, tradeRecorded) or latest (latest value). */
export type PollKind = "stream" | "latest";

export interface LiveQueries {
  /** The counted SQL runner polls use. */
  query: LiveQuery;
  /** `query` for statements of `(SELECT <k> part, …)` branches: those sent in one turn run as one (live/union-batch.ts). */
  union: PartQuery;
  /** Joins (or starts) the cohort of `spec.key`; returns a function that leaves it. */
  join<T>(spec: LiveQuerySpec<T>, subscriber: Subscriber<T>): () => void;
  /**
   * This instance's flush of `tables` was acknowledged by QuestDB: with `poke` on, their pollers
   * run as soon as a transaction check sees the commit applied, without waiting for the tick.
   */
  poke(tables: readonly string[], timing?: CommitTiming): void;
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
  /** A commit was seen during the running poll: poll again when it ends (poke on only). */
  rerun: boolean;
  /** When a check first saw a commit this poller has not polled (and it was due). */
  dueSince: number | undefined;
}

const sameJson = (a: unknown, b: unknown) =>
  JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ===
  JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

/**
 * Runs `done` once the deliveries of a result are written: tradeRecorded's are written during the
 * push (ws-server.ts, directEvents), but graphql-ws executes and sends the others in promise
 * continuations, all run before the first immediate; the sockets, corked during that turn
 * (ws-server.ts), are uncorked by immediates queued behind ours, so the second.
 */
const afterDelivery = (done: () => void) => setImmediate(() => setImmediate(done));

export interface LiveQueriesOptions {
  /** Runs the polls' statements. */
  sql: SqlRunner;
  /**
   * Runs transaction checks. Default `sql`; a runner on a pool of its own (one connection) keeps
   * a check from waiting behind the polls it is about to start.
   */
  checkSql?: SqlRunner;
  /**
   * The process's transaction watcher (the query cache's): the checks load the time ranges of the
   * tables tradeRecorded reads into its range log, which its probes extend too. Default one of
   * their own over `checkSql`.
   */
  watch?: TxnChecksOptions["watch"];
  log: Logger;
  /** How often table transaction numbers are checked. Default 250 ms. */
  intervalMs?: number;
  /**
   * false gives every subscriber its own poller: the naive design, kept only so the benchmark
   * can measure the baseline in the same run (LIVE_COHORTS=off). Default true.
   */
  cohorts?: boolean;
  /**
   * Whether poke() runs a transaction check at once (LIVE_POKE). false leaves this instance's
   * commits to the ticks, as other instances' are; poke() then only measures. Default true.
   */
  poke?: boolean;
  /** See TxnChecksOptions (txn-checks.ts). */
  pokeRetryMs?: number;
  pokeGiveUpMs?: number;
  /**
   * Latest-value polls (sliding windows, e.g. liveMetrics: long scans) running at once; more wait
   * for one to end. The rest of the pool stays free for streams, whose every event a subscriber
   * waits for. Default 1.
   */
  maxLatestPolls?: number;
  /** Where an event's time went, per stage (/metrics). Default none; must not throw. */
  observe?: (stage: LiveStage, ms: number, kind?: PollKind) => void;
}

export function createLiveQueries(options: LiveQueriesOptions): LiveQueries {
  const { sql, checkSql = sql, log, intervalMs = 250, cohorts = true, poke: pokeOn = true, observe } = options;
  const { maxLatestPolls = 1 } = options;
  const pollers = new Map<string, Poller>();
  const counts = { polls: 0, skipped: 0, statements: 0, pokes: 0 };
  let solo = 0;
  const byName: Record<string, number> = {};
  const query: LiveQuery = (statement) => {
    counts.statements++;
    byName[statement.name] = (byName[statement.name] ?? 0) + 1;
    return sql.query(statement);
  };

  const deliver = (poller: Poller, next: unknown, resultAt: number, kind: PollKind) => {
    poller.value = next;
    poller.hasValue = true;
    for (const subscriber of poller.subscribers) subscriber.push(next);
    if (observe) afterDelivery(() => observe("fan_out", Date.now() - resultAt, kind));
  };

  /** Latest-value pollers due while maxLatestPolls ran, in the order they became due. */
  const deferred = new Set<Poller>();
  let latestRunning = 0;

  const startDeferred = () => {
    for (const next of deferred) {
      if (latestRunning >= maxLatestPolls) return;
      deferred.delete(next);
      if (pollers.get(next.spec.key) === next) void runPoll(next);
    }
  };

  const runPoll = async (poller: Poller) => {
    if (poller.running) return;
    poller.running = true;
    const kind: PollKind = poller.spec.stream ? "stream" : "latest";
    if (kind === "latest") latestRunning++;
    try {
      do {
        poller.rerun = false;
        const started = Date.now();
        if (poller.dueSince !== undefined) observe?.("poll_wait", started - poller.dueSince, kind);
        poller.dueSince = undefined;
        for (const table of poller.spec.tables) poller.seenTxn.set(table, checks.txn(table));
        poller.lastPollAt = started;
        counts.polls++;
        const seen = new Map(poller.seenTxn);
        const txns: PollTxns = {
          applied: (table) => seen.get(table) ?? -1n,
          earliestWritten: checks.earliestWritten,
          loadUpTo: checks.loadUpTo,
        };
        const next = await poller.spec.poll({ previous: poller.hasValue ? poller.value : undefined, txns });
        const resultAt = Date.now();
        observe?.("query", resultAt - started, kind);
        if (next === undefined) continue;
        const changed = poller.spec.changed ?? ((a, b) => !sameJson(a, b));
        if (!poller.hasValue || poller.spec.stream || changed(poller.value, next)) {
          deliver(poller, next, resultAt, kind);
        }
        // A page-limited poll that filled its page goes again now, not at the next commit; so
        // does one during which a check saw a commit.
      } while ((poller.spec.again?.() || poller.rerun) && pollers.get(poller.spec.key) === poller);
    } catch (error) {
      log.warn(
        { err: error instanceof Error ? error.message : String(error), key: poller.spec.key },
        "live poll failed",
      );
    } finally {
      poller.running = false;
      if (kind === "latest") {
        latestRunning--;
        startDeferred();
      }
    }
  };

  /** Starts the polls a commit or a slide made due; `tick` counts the pollers it left alone. */
  const startDue = (now: number, tick: boolean) => {
    // Polls are started, not awaited: a slow one does not hold back the others. Streams first:
    // the pool serves statements in order, and a stream's subscribers wait for every event, while
    // a latest-value poll (a sliding window) is not expected more than about once a second.
    for (const streams of [true, false]) {
      for (const poller of pollers.values()) {
        if (Boolean(poller.spec.stream) === streams) startIfDue(poller, now, tick);
      }
    }
  };

  const startIfDue = (poller: Poller, now: number, tick: boolean) => {
    const committed = poller.spec.tables.some((t) => checks.txn(t) !== poller.seenTxn.get(t));
    const slid = poller.spec.slideMs > 0 && now - poller.lastPollAt >= poller.spec.slideMs;
    const due = now - poller.lastPollAt >= (poller.spec.minIntervalMs ?? 0);
    if (committed && due) poller.dueSince ??= now;
    if ((committed && due) || slid) {
      // With pokes, a commit seen during a poll is polled when that poll ends, not a tick later.
      if (poller.running && pokeOn && committed && due) poller.rerun = true;
      if (!poller.running && !poller.spec.stream && latestRunning >= maxLatestPolls) deferred.add(poller);
      else void runPoll(poller);
    } else if (tick) counts.skipped++;
  };

  const checks = createTxnChecks({
    sql: checkSql,
    watch: options.watch ?? createTxnWatch({ runner: checkSql, idleProbeMs: 0 }),
    log,
    intervalMs,
    poke: pokeOn,
    ...(options.pokeRetryMs === undefined ? {} : { pokeRetryMs: options.pokeRetryMs }),
    ...(options.pokeGiveUpMs === undefined ? {} : { pokeGiveUpMs: options.pokeGiveUpMs }),
    onChecked: startDue,
    ...(observe ? { onApplied: (ms: number) => observe("wal_apply", ms) } : {}),
  });

  const poke = (tables: readonly string[], timing?: CommitTiming) => {
    if (timing && observe) {
      for (const at of timing.acceptedAt) observe("batch_wait", timing.flushStartedAt - at);
      observe("ilp_commit", timing.ackedAt - timing.flushStartedAt);
    }
    const read = tables.filter((table) => [...pollers.values()].some((p) => p.spec.tables.includes(table)));
    if (read.length === 0) return;
    counts.pokes++;
    checks.poke(read, timing?.ackedAt ?? Date.now());
  };

  const updateTicking = () => checks.ticking(pollers.size > 0);

  // The naive baseline (LIVE_COHORTS=off) keeps one statement per poll.
  const union: PartQuery = cohorts ? createUnionBatch(query) : query;
  return {
    union,
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
          rerun: false,
          dueSince: undefined,
        };
        pollers.set(spec.key, poller);
        if (spec.ranges) checks.follow(spec.tables);
        void runPoll(poller);
      } else if (poller.hasValue && !spec.stream) {
        subscriber.push(poller.value as T);
      }
      poller.subscribers.add(subscriber as Subscriber<unknown>);
      updateTicking();
      const joined = poller;
      return () => {
        joined.subscribers.delete(subscriber as Subscriber<unknown>);
        if (joined.subscribers.size === 0 && pollers.get(spec.key) === joined) {
          pollers.delete(spec.key);
          deferred.delete(joined);
          updateTicking();
        }
      };
    },
    poke,
    stats: () => ({
      pollers: pollers.size,
      subscribers: [...pollers.values()].reduce((n, p) => n + p.subscribers.size, 0),
      polls: counts.polls,
      pollsSkipped: counts.skipped,
      statements: counts.statements + checks.counts().statements,
      statementsByName: { ...byName },
      pokes: counts.pokes,
      tickChecks: checks.counts().tickChecks,
      pokeChecks: checks.counts().pokeChecks,
      rangeLoads: checks.counts().rangeLoads,
    }),
    close: () => {
      pollers.clear();
      deferred.clear();
      updateTicking();
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
  /**
   * Delivers a value without the iterator (live/ws-server.ts writes it to the socket), tried by
   * pushAll while the consumer waits for its next value, so that the value cannot pass one the
   * iterator still holds; false leaves it and the rest of the batch to the iterator.
   */
  direct?: ((value: T) => boolean) | undefined;
}) {
  const { direct } = options;
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
  const iterator: AsyncIterableIterator<T> & { push(value: T): void; pushAll(values: readonly T[]): void } = {
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
    /**
     * Each value in order, directly while `direct` takes them, the rest by push(). A batch that
     * overflows through push() (more than maxQueued after the one the waiting consumer takes)
     * is left to push() whole, so that it overflows as it always did.
     */
    pushAll(values: readonly T[]) {
      let i = 0;
      if (direct && waiting && !options.coalesce && values.length - 1 <= options.maxQueued) {
        while (i < values.length && direct(values[i] as T)) i++;
      }
      for (; i < values.length; i++) iterator.push(values[i] as T);
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
