// Live queries multiplexed into cohorts (the way Hasura runs live queries): one poller per
// distinct query and variables, shared by all its subscribers. A poller polls only when a table
// it reads committed a new transaction (QuestDB's per-table WAL transaction numbers) or its
// window slid, sends only when the result changed, gives a new subscriber the current value at
// once, and stops when its last subscriber leaves.
//
// Commits are found by transaction checks (`SELECT … FROM wal_tables()`, one for all pollers):
// every `intervalMs` (a tick, which finds other instances' rows), and at once when this
// instance's batch writer announces an acknowledged flush (poke). QuestDB acknowledges a WAL
// commit before it applies it (writerTxn < sequencerTxn until then), so a poke checks again after
// a few ms (5, 8, 12 … up to 50) until the commit is applied, for at most `pokeGiveUpMs`; one check
// runs at a time, and pokes during it ask for one more, so a burst of flushes costs a few checks,
// not one each.
import type pg from "pg";
import type { Logger } from "pino";
import type { CommitTiming } from "../ingest/batch-writer.ts";

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
  /** SQL statements run by live queries, including the transaction checks. */
  statements: number;
  /** Commits of this instance announced by poke() while some poller read their table. */
  pokes: number;
  /** Transaction checks (wal_tables()) run by ticks. */
  tickChecks: number;
  /** Transaction checks run for pokes (at once, and again while the commit was not applied). */
  pokeChecks: number;
}

/** What live polls run their SQL through (counted). */
export type LiveQuery = <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

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

/** A commit acknowledged to this instance whose application a check has not seen yet. */
interface PendingCommit {
  table: string;
  ackedAt: number;
  /** Checks started before the acknowledgement was known: they cannot tell the commit's number. */
  checksBefore: number;
  /** The sequencerTxn a check started after the acknowledgement read: the commit is at most that. */
  target: bigint | undefined;
}

const sameJson = (a: unknown, b: unknown) =>
  JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ===
  JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? v.toString() : v));

/**
 * Runs `done` once the deliveries of a result are written: graphql-ws executes and sends each
 * pushed value in promise continuations, all run before the first immediate; the sockets, corked
 * during that turn (ws-server.ts), are uncorked by immediates queued behind ours, so the second.
 */
const afterDelivery = (done: () => void) => setImmediate(() => setImmediate(done));

/** The longest pause between the checks of a poked commit that is not applied yet. */
const MAX_RETRY_MS = 50;

/** A commit whose application nobody saw within this long is forgotten (not measured). */
const FORGET_COMMIT_MS = 30_000;

export interface LiveQueriesOptions {
  pool: pg.Pool;
  /**
   * Where transaction checks run. Default `pool`; a pool of its own (one connection) keeps a
   * check from waiting behind the polls it is about to start.
   */
  checkPool?: pg.Pool;
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
  /**
   * While a poked commit is not applied yet, the check runs again after this many ms, then after
   * 1.5 times longer each time, up to 50 ms. Default 5.
   */
  pokeRetryMs?: number;
  /**
   * …for at most this long after the acknowledgement; then the ticks find it. Default
   * `intervalMs` (a check later than the next tick would repeat its work), from 250 ms to 1 s.
   */
  pokeGiveUpMs?: number;
  /** Where an event's time went, per stage (/metrics). Default none; must not throw. */
  observe?: (stage: LiveStage, ms: number, kind?: PollKind) => void;
}

export function createLiveQueries(options: LiveQueriesOptions): LiveQueries {
  const {
    pool,
    checkPool = pool,
    log,
    intervalMs = 250,
    cohorts = true,
    poke: pokeOn = true,
    pokeRetryMs = 5,
    pokeGiveUpMs = Math.min(Math.max(intervalMs, 250), 1_000),
    observe,
  } = options;
  const pollers = new Map<string, Poller>();
  const txn = new Map<string, bigint>();
  const counts = { polls: 0, skipped: 0, statements: 0, pokes: 0, tickChecks: 0, pokeChecks: 0 };
  let solo = 0;
  const query: LiveQuery = (text, params) => {
    counts.statements++;
    return pool.query(text, params);
  };
  let timer: NodeJS.Timeout | undefined;

  const deliver = (poller: Poller, next: unknown, resultAt: number, kind: PollKind) => {
    poller.value = next;
    poller.hasValue = true;
    for (const subscriber of poller.subscribers) subscriber.push(next);
    if (observe) afterDelivery(() => observe("fan_out", Date.now() - resultAt, kind));
  };

  const runPoll = async (poller: Poller) => {
    if (poller.running) return;
    poller.running = true;
    const kind: PollKind = poller.spec.stream ? "stream" : "latest";
    try {
      do {
        poller.rerun = false;
        const started = Date.now();
        if (poller.dueSince !== undefined) observe?.("poll_wait", started - poller.dueSince, kind);
        poller.dueSince = undefined;
        for (const table of poller.spec.tables) poller.seenTxn.set(table, txn.get(table) ?? -1n);
        poller.lastPollAt = started;
        counts.polls++;
        const next = await poller.spec.poll({ previous: poller.hasValue ? poller.value : undefined });
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
    }
  };

  /** Starts the polls a commit or a slide made due; `tick` counts the pollers it left alone. */
  const startDue = (now: number, tick: boolean) => {
    // Polls are started, not awaited: a slow one does not hold back the others. Streams first:
    // the pool serves statements in order, and a stream's subscribers wait for every event, while
    // a latest-value poll (a sliding window) is not expected more than about once a second.
    for (const poller of [...pollers.values()].sort((a, b) => Number(!a.spec.stream) - Number(!b.spec.stream))) {
      const committed = poller.spec.tables.some((t) => (txn.get(t) ?? -1n) !== poller.seenTxn.get(t));
      const slid = poller.spec.slideMs > 0 && now - poller.lastPollAt >= poller.spec.slideMs;
      const due = now - poller.lastPollAt >= (poller.spec.minIntervalMs ?? 0);
      if (committed && due) poller.dueSince ??= now;
      if ((committed && due) || slid) {
        // With pokes, a commit seen during a poll is polled when that poll ends, not a tick later.
        if (poller.running && pokeOn && committed && due) poller.rerun = true;
        void runPoll(poller);
      } else if (tick) counts.skipped++;
    }
  };

  // Commits acknowledged to this instance, until a check sees them applied.
  let pending: PendingCommit[] = [];
  let checksStarted = 0;

  /** Resolves pending commits against one wal_tables() reading (the `number`th check). */
  const settleCommits = (rows: readonly TxnRow[], number: number, now: number) => {
    if (pending.length === 0) return;
    const byName = new Map(rows.map((row) => [row.name, row]));
    pending = pending.filter((commit) => {
      const row = byName.get(commit.table);
      if (!row || now - commit.ackedAt > FORGET_COMMIT_MS) return false;
      if (commit.target === undefined && number > commit.checksBefore) commit.target = row.sequencerTxn;
      if (commit.target === undefined || row.writerTxn < commit.target) return true;
      observe?.("wal_apply", now - commit.ackedAt);
      return false;
    });
  };

  /** A poked commit still worth a check of its own (not applied, younger than pokeGiveUpMs). */
  const awaitingApply = (now: number) => pending.some((commit) => now - commit.ackedAt < pokeGiveUpMs);

  // At most one check in flight: a poke during one asks for one more after it, however many come.
  let checking = false;
  let checkAgain = false;
  let retry: NodeJS.Timeout | undefined;
  let retryMs = pokeRetryMs;

  const check = async (tick: boolean) => {
    checking = true;
    if (retry) clearTimeout(retry);
    retry = undefined;
    if (tick) counts.tickChecks++;
    else counts.pokeChecks++;
    const number = ++checksStarted;
    try {
      // One metadata statement per check, whatever the number of pollers and subscribers.
      counts.statements++;
      const result = await checkPool.query<TxnRow>("SELECT name, writerTxn, sequencerTxn FROM wal_tables()");
      const now = Date.now();
      for (const row of result.rows) txn.set(row.name, row.writerTxn);
      settleCommits(result.rows, number, now);
      startDue(now, tick);
    } catch (error) {
      log.debug({ err: error instanceof Error ? error.message : String(error) }, "live transaction check failed");
    } finally {
      checking = false;
    }
    if (pollers.size === 0 || !pokeOn) return;
    if (checkAgain) {
      checkAgain = false;
      void check(false);
    } else if (awaitingApply(Date.now())) {
      // Acknowledged is committed, not yet applied (visible): look again shortly.
      retry = setTimeout(() => void check(false), retryMs);
      retryMs = Math.min(Math.round(retryMs * 1.5), MAX_RETRY_MS);
      retry.unref();
    }
  };

  const tick = () => {
    if (!checking && pollers.size > 0) void check(true);
  };

  const poke = (tables: readonly string[], timing?: CommitTiming) => {
    if (timing && observe) {
      for (const at of timing.acceptedAt) observe("batch_wait", timing.flushStartedAt - at);
      observe("ilp_commit", timing.ackedAt - timing.flushStartedAt);
    }
    const read = tables.filter((table) => [...pollers.values()].some((p) => p.spec.tables.includes(table)));
    if (read.length === 0) return;
    counts.pokes++;
    const ackedAt = timing?.ackedAt ?? Date.now();
    for (const table of read) {
      pending.push({ table, ackedAt, checksBefore: checksStarted, target: undefined });
    }
    if (!pokeOn) return;
    retryMs = pokeRetryMs;
    if (checking) checkAgain = true;
    else void check(false);
  };

  const ensureTimer = () => {
    if (!timer && pollers.size > 0) {
      timer = setInterval(tick, intervalMs);
      timer.unref();
    } else if (timer && pollers.size === 0) {
      clearInterval(timer);
      timer = undefined;
      clearTimeout(retry);
      retry = undefined;
      pending = [];
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
          rerun: false,
          dueSince: undefined,
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
    poke,
    stats: () => ({
      pollers: pollers.size,
      subscribers: [...pollers.values()].reduce((n, p) => n + p.subscribers.size, 0),
      polls: counts.polls,
      pollsSkipped: counts.skipped,
      statements: counts.statements,
      pokes: counts.pokes,
      tickChecks: counts.tickChecks,
      pokeChecks: counts.pokeChecks,
    }),
    close: () => {
      pollers.clear();
      ensureTimer();
    },
  };
}

/** A row of wal_tables(): writerTxn is applied (visible to SELECT), sequencerTxn committed. */
interface TxnRow {
  name: string;
  writerTxn: bigint;
  sequencerTxn: bigint;
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
