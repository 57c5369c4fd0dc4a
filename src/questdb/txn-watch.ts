// One watcher of QuestDB's table transactions and materialized-view refresh state (issue 13,
// points 2, 4 and 5), shared by the query cache and the rollup planner.
//
// - A probe is one statement over `wal_tables()` (writerTxn: applied, visible to SELECT;
//   sequencerTxn: committed, acknowledged to the writer, maybe not applied yet) and, when a caller
//   needs it, `materialized_views()` (the base-table transaction each view has refreshed up to):
//   that part is most of a probe's cost (0.39 of 0.45 ms on an idle QuestDB, more under load), so
//   a view's state is read again only when its own table moved since it was read (below). One
//   probe runs at a time; a caller joins the probe that starts after it arrived (shared by every
//   caller arriving before it starts), never one already running: its answer then holds every
//   commit acknowledged before the caller arrived.
// - A view's state stays good while the view's own table (wal_tables() lists views too) has the
//   same applied and committed transactions as when the state was read: the view has refreshed
//   nothing since, so what it holds is what that state describes. Base-table transactions since
//   then are the coverage's business (rollup-coverage.ts: the ranges they touched are read from the
//   table). A caller that needs views (`snapshot(tables, views)`) gets them in a probe that reads
//   materialized_views() when one of them moved lately (viewMovingMs), and in a second probe
//   when one moved although it had been quiet.
// - For the tables callers follow, the probe then loads the timestamp range each new transaction
//   wrote, from `wal_transactions('<table>')` (minTimestamp/maxTimestamp; QuestDB records them only
//   with `cairo.default.sequencer.part.txn.count` > 0, see local-server.ts), into a bounded log per
//   table. A transaction without a range (UPDATE, ALTER, TRUNCATE, or a table created without the
//   setting) makes `touched()` answer null: unknown, so the whole table counts as touched.
// - `snapshot(tables)` waits until QuestDB has applied, for each of those tables, what the probe
//   saw committed (https://questdb.com/docs/reference/function/meta/#wal_tables), polling with
//   short pauses up to `applyWaitMs`, then fails with a retryable OVERLOADED error.
// - The live ticks (live/txn-checks.ts) still read wal_tables() themselves, on a connection of
//   their own: through this probe a poke's check would queue behind the light pool's polls and
//   pages, behind a probe already running, and behind the range loads that follow a commit, which
//   is exactly when a poke checks (issue 13, point 5, not done for them).

import type { SqlRunner } from "../analytics/sql.ts";
import { clientError } from "../errors.ts";

export interface TableTxn {
  writerTxn: bigint;
  sequencerTxn: bigint;
}

export interface ViewState {
  name: string;
  baseTable: string;
  /** The base table's transaction the view has refreshed up to (materialized_views().refresh_base_table_txn). */
  baseTxn: bigint;
  /** view_status is not `invalid` (an invalid view is not refreshed until REFRESH … FULL). */
  valid: boolean;
  /** A period view holds the periods before this (materialized_views().refresh_period_hi); null: no bound. */
  periodHi: bigint | null;
}

export interface TxnRange {
  /** Inclusive, µs since the epoch. */
  from: bigint;
  /** Exclusive, µs since the epoch. */
  to: bigint;
}

export interface TxnSnapshot {
  /** Probes are numbered in the order they started: a larger number is a later reading. */
  readonly probe: number;
  readonly tables: ReadonlyMap<string, TableTxn>;
  readonly views: ReadonlyMap<string, ViewState>;
  /**
   * [from, to) µs ranges touched by `table`'s txns in (afterTxn, uptoTxn]; null when unknown (not
   * recorded by QuestDB, or older than the log). Synchronous: loaded by the probe.
   */
  touched(table: string, afterTxn: bigint, uptoTxn: bigint): readonly TxnRange[] | null;
  /**
   * What the last `count` transactions of `table` known to the log touched, up to `uptoTxn`
   * (fewer when the log holds fewer: the table was quiet since it is followed); null when one of
   * them has no range or the table is not followed. A hint (is a time range being written?), not
   * a guarantee: the cache's invalidation keeps answers exact.
   */
  recentlyTouched(table: string, uptoTxn: bigint, count: number): readonly TxnRange[] | null;
}

export interface TxnWatch {
  /**
   * A snapshot from a probe that started after this call; when `tables` is given, waits (polling,
   * bounded by a deadline → a clear retryable error) until each has applied (writerTxn ≥) the
   * sequencerTxn that probe saw, so an answer includes every row committed before the request
   * arrived. `views`: materialized views whose state (`TxnSnapshot.views`) the caller reads; each
   * that exists is in the snapshot returned. Other views' states are there only when known current.
   */
  snapshot(tables?: readonly string[], views?: readonly string[]): Promise<TxnSnapshot>;
  /**
   * `base` itself when each of `tables` had applied what it saw committed; else a later snapshot in
   * which they have (with the states of `views`, as `snapshot`, when the waits' probes can tell).
   */
  applied(base: TxnSnapshot, tables: readonly string[], views?: readonly string[]): Promise<TxnSnapshot>;
  /**
   * As `applied`, without following `tables` (no ranges loaded for them) and with a wait of its
   * own: null when they have not applied within `waitMs`.
   */
  appliedWithin(base: TxnSnapshot, tables: readonly string[], waitMs: number): Promise<TxnSnapshot | null>;
  /** From the next probe on, load the ranges of these tables' new transactions (snapshot(tables) does it too). */
  follow(tables: readonly string[]): void;
  /**
   * Extends `table`'s range log up to `txn.sequencerTxn` (a reading of wal_tables()), beside any
   * load running for the table (neither waits; each enters the transactions the other has not):
   * the one log the probes extend too (the live checks read it, live/txn-checks.ts). `atLeast`: `txn` is a lower bound, not a reading (never starts the log
   * again); `runner`/`name`/`retryMs`: how the statement runs (default the watch's own, retried).
   * Resolves whether a statement ran.
   */
  loadRanges(
    table: string,
    txn: TableTxn,
    how?: { atLeast?: boolean; runner?: SqlRunner; name?: string; retryMs?: readonly number[] },
  ): Promise<boolean>;
  /**
   * The view's state as read by the latest view probe in which it had applied every transaction
   * it had committed, with its own table's applied transaction then: while that is still its
   * applied transaction, the view shows that state (analytics/rollup-coverage.ts).
   */
  settledView(view: string): { state: ViewState; ownWriterTxn: bigint } | undefined;
  /**
   * What the rows of a view's own transactions in (afterTxn, uptoTxn] span, as wal_transactions()
   * lists them (committed, applied or not): a transaction without rows (a period view's refresh
   * mark, a full refresh's truncation) spans nothing. Null when unknown: no longer listed (purged),
   * more than the watch loads at once, or the statement failed. Each transaction is read once per
   * process (a log per view); analytics/rollup-coverage.ts checks with it that a view still shows
   * its settled reading outside the hours it reads raw.
   */
  viewWrites(view: string, afterTxn: bigint, uptoTxn: bigint): Promise<readonly TxnRange[] | null>;
  /** The last transaction of `table` its range log holds (-1n: none). */
  loadedUpTo(table: string): bigint;
  /**
   * What the rows of `table`'s transactions in (afterTxn, uptoTxn] span (not the partitions a TTL
   * may drop); [] for none; null when unknown (not loaded, purged, no range recorded).
   */
  written(table: string, afterTxn: bigint, uptoTxn: bigint): readonly TxnRange[] | null;
  /** Probes run, range loads (one statement per table that moved), and transactions left without a known range. */
  stats(): TxnWatchStats;
}

export interface TxnWatchStats {
  probes: number;
  /** Of `probes`: those that read materialized_views() too. */
  viewProbes: number;
  rangeLoads: number;
  /**
   * Transactions whose ranges are unknown (touched() answers null over them, so the cache drops a
   * table's every entry), by why: QuestDB recorded no range (an UPDATE, ALTER, TRUNCATE), the TTL
   * was unknown, the range load failed (after its retries), too many to load at once, or no longer
   * listed (purged: wal_transactions() lists the sequencer's recent parts only).
   */
  unknown: { noRange: number; noRetention: number; loadFailed: number; tooMany: number; purged: number };
  /** The same transactions counted by table (any reason). */
  unknownByTable: Record<string, number>;
}

export interface TxnWatchOptions {
  /** Runs the `txn.*` statements (the light pool). */
  runner: SqlRunner;
  /** How long snapshot(tables) waits for QuestDB to apply what it saw committed. Default 5,000 ms. */
  applyWaitMs?: number;
  /** Transactions remembered per followed table; older ones are unknown to touched(). Default 4,096. */
  logSize?: number;
  /** A table that moved by more transactions than this between two probes is not loaded (unknown). Default 1,000. */
  maxLoad?: number;
  /** viewWrites loads no more than this many of a view's transactions at once (else unknown). Default 10 × maxLoad. */
  viewMaxLoad?: number;
  /**
   * While tables are followed, a probe runs when none has for this long (ms), so that their
   * transactions' ranges are loaded before QuestDB purges them from wal_transactions() (it lists
   * the sequencer's recent parts of cairo.default.sequencer.part.txn.count transactions only). 0:
   * never. Default 1,000.
   */
  idleProbeMs?: number;
  /**
   * A view whose own table moved this recently (ms) is read with materialized_views() by the
   * probes of callers that need it, at once. Default 2,000.
   */
  viewMovingMs?: number;
}

interface ProbeRow {
  name: string;
  writerTxn: string | bigint;
  sequencerTxn: string | bigint;
  suspended: boolean;
  base: string | null;
  status: string | null;
  period_hi: bigint | null;
}

interface LogEntry {
  txn: bigint;
  /** What it touched (its rows, the partitions its TTL may drop); null: unknown (no range recorded, or the TTL unknown). */
  ranges: TxnRange[] | null;
  /** What its rows span; null: QuestDB recorded no range (not a plain row write, or not recorded). */
  written: TxnRange | null;
}

/** A table's TTL and partitioning (tables()), for the partitions a commit may drop. */
interface Retention {
  ttl: bigint;
  partition: bigint | undefined;
}

/** What is known of a table's transactions: every one in (from, upto], oldest first. */
interface TxnLog {
  from: bigint;
  upto: bigint;
  entries: LogEntry[];
}

// One round trip for both: a view row carries its refresh_base_table_txn and base_table_txn in
// the txn columns and its base table in `base` (wal_tables() lists views too, with base null).
// The views come first: a refresh that a view commits after they are read shows in its own
// wal_tables() row as not applied yet (writerTxn < sequencerTxn), never as applied when it is not.
const PROBE_VIEWS_SQL = `SELECT view_name name, refresh_base_table_txn writerTxn, base_table_txn sequencerTxn, false suspended, base_table_name base, view_status status, refresh_period_hi period_hi FROM materialized_views()
UNION ALL SELECT name, writerTxn, sequencerTxn, suspended, null::string, null::string, null::timestamp FROM wal_tables()`;
/** The tables alone (and the views' own tables): a view's state is known from an earlier probe. */
const PROBE_TABLES_SQL = "SELECT name, writerTxn, sequencerTxn, suspended, null::string base FROM wal_tables()";

/** wal_transactions() takes a string constant only (no bind variable); names come from wal_tables(). */
const rangesSql = (table: string) =>
  `SELECT sequencerTxn, minTimestamp::long lo, maxTimestamp::long hi FROM wal_transactions('${table.replaceAll("'", "''")}') WHERE sequencerTxn > $1 AND sequencerTxn <= $2`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Pauses before each try of a range load: the first at once, then two retries. */
const LOAD_RETRY_MS = [0, 20, 100];

/** A transaction as wal_transactions() lists it: the µs range its rows span (null when it wrote none it recorded). */
export interface TxnRangeRow {
  sequencerTxn: bigint;
  lo: bigint | null;
  hi: bigint | null;
}

/**
 * The transactions of `table` in (afterTxn, uptoTxn] that wal_transactions() lists (those it purged
 * are missing), each with the timestamp range it wrote; tried once after each pause of `retryMs`
 * (counted by `onTry`), undefined when every try failed.
 */
export async function readTxnRanges(
  runner: SqlRunner,
  table: string,
  afterTxn: bigint,
  uptoTxn: bigint,
  options: { name: string; retryMs?: readonly number[]; onTry?: () => void },
): Promise<TxnRangeRow[] | undefined> {
  const { name, retryMs = [0], onTry } = options;
  for (const pause of retryMs) {
    if (pause > 0) await sleep(pause);
    onTry?.();
    try {
      const rows = await runner.query<{ sequencerTxn: string; lo: string | null; hi: string | null }>({
        name,
        sql: rangesSql(table),
        params: [afterTxn, uptoTxn],
      });
      return rows.map((row) => ({
        sequencerTxn: BigInt(row.sequencerTxn),
        lo: row.lo == null ? null : BigInt(row.lo),
        hi: row.hi == null ? null : BigInt(row.hi),
      }));
    } catch {
      // A statement cut off by a busy QuestDB or a connection dropped under load: tried again.
    }
  }
  return undefined;
}

const HOUR = 3_600_000_000n;
const DAY = 24n * HOUR;
/** Shortest length of each TTL unit: a shorter TTL drops more, so the horizon errs on the safe side. */
const TTL_UNIT: Readonly<Record<string, bigint>> = { HOUR, DAY, WEEK: 7n * DAY, MONTH: 28n * DAY, YEAR: 365n * DAY };
const PARTITION: Readonly<Record<string, bigint>> = { HOUR, DAY };
const MIN_MICROS = -(2n ** 62n);

/**
 * What a commit with rows up to `hi` may drop besides: QuestDB enforces a table's TTL when it
 * applies a commit, dropping the partitions that end before (max timestamp − TTL), with no WAL
 * transaction of their own. The max is taken as the later of `hi` and the clock plus an hour
 * (rows a little in the future), and the horizon floored to the partition (DAY, HOUR; other
 * partitionings unfloored).
 */
function expiredBy(hi: bigint, retention: Retention | undefined, nowMicros: bigint): TxnRange | undefined {
  if (!retention || retention.ttl <= 0n) return undefined;
  const latest = hi > nowMicros + HOUR ? hi : nowMicros + HOUR;
  let horizon = latest - retention.ttl;
  if (retention.partition) horizon -= ((horizon % retention.partition) + retention.partition) % retention.partition;
  return { from: MIN_MICROS, to: horizon };
}

/** The tables of `tables` that had not applied in `current` what `base` saw committed. */
function behind(base: TxnSnapshot, current: TxnSnapshot, tables: readonly string[]): string[] {
  return tables.filter((table) => {
    const seen = base.tables.get(table);
    const now = current.tables.get(table);
    // A table QuestDB does not list (not created yet, or dropped since) has nothing to apply.
    return seen !== undefined && now !== undefined && now.writerTxn < seen.sequencerTxn;
  });
}

/** Whether a view of `views` exists (its own table is listed) but `snapshot` lacks its state. */
export const lacksViews = (snapshot: TxnSnapshot, views: readonly string[]): boolean =>
  views.some((view) => !snapshot.views.has(view) && snapshot.tables.has(view));

export function createTxnWatch(options: TxnWatchOptions): TxnWatch {
  const {
    runner,
    applyWaitMs = 5_000,
    logSize = 4_096,
    maxLoad = 1_000,
    viewMaxLoad = 10 * maxLoad,
    idleProbeMs = 1_000,
    viewMovingMs = 2_000,
  } = options;
  const followed = new Set<string>();
  const logs = new Map<string, TxnLog>();
  /** TTL per followed table; reloaded after a transaction without a range (an ALTER may change it). */
  const retentions = new Map<string, Retention>();
  const loadRetentions = async (on: SqlRunner = runner) => {
    const rows = await on.query<{ table_name: string; ttlValue: number; ttlUnit: string; partitionBy: string }>({
      name: "txn.ttl",
      sql: "SELECT table_name, ttlValue, ttlUnit, partitionBy FROM tables()",
      params: [],
    });
    for (const row of rows) {
      if (!followed.has(row.table_name)) continue;
      const unit = TTL_UNIT[row.ttlUnit] ?? HOUR;
      retentions.set(row.table_name, { ttl: BigInt(row.ttlValue ?? 0) * unit, partition: PARTITION[row.partitionBy] });
    }
  };
  let probes = 0;
  let viewProbes = 0;
  let rangeLoads = 0;
  /** Each view's state as the latest view probe read it, with its own table's numbers then. */
  let knownViews = new Map<string, { state: ViewState; own: TableTxn | undefined }>();
  /** Per view, its latest settled reading (TxnWatch.settledView). */
  const settled = new Map<string, { state: ViewState; ownWriterTxn: bigint }>();
  /** Per view: its own table's numbers at the latest probe, and when they last changed (Date.now()). */
  const viewOwn = new Map<string, { txn: TableTxn; movedAt: number }>();
  /** Whether a view probe is needed for `views`: one is unknown or moved lately. */
  const viewsMoving = (views: readonly string[]) => {
    const now = Date.now();
    return views.some((view) => {
      const own = viewOwn.get(view);
      return !knownViews.has(view) || !own || now - own.movedAt < viewMovingMs;
    });
  };
  const unknown = { noRange: 0, noRetention: 0, loadFailed: 0, tooMany: 0, purged: 0 };
  const unknownByTable = new Map<string, number>();
  const countUnknown = (table: string, reason: keyof typeof unknown, n: number) => {
    unknown[reason] += n;
    unknownByTable.set(table, (unknownByTable.get(table) ?? 0) + n);
  };

  /** Keeps a log's newest logSize entries; what it holds then starts after the last one dropped. */
  const trim = (log: { from: bigint; entries: { txn: bigint }[] }) => {
    if (log.entries.length <= logSize) return;
    const dropped = log.entries.splice(0, log.entries.length - logSize);
    log.from = dropped[dropped.length - 1]?.txn ?? log.from;
  };
  /** The ranges `of` each of `table`'s transactions in (afterTxn, uptoTxn]; null when one is unknown. */
  const rangesOf =
    (of: (entry: LogEntry) => readonly TxnRange[] | null) =>
    (table: string, afterTxn: bigint, uptoTxn: bigint): readonly TxnRange[] | null => {
      if (uptoTxn <= afterTxn) return [];
      const log = logs.get(table);
      if (!log || afterTxn < log.from || uptoTxn > log.upto) return null;
      const ranges: TxnRange[] = [];
      for (const entry of log.entries) {
        if (entry.txn <= afterTxn || entry.txn > uptoTxn) continue;
        const own = of(entry);
        if (!own) return null;
        ranges.push(...own);
      }
      return ranges;
    };
  const touched = rangesOf((entry) => entry.ranges);
  const written = rangesOf((entry) => (entry.written ? [entry.written] : null));

  const recentlyTouched = (table: string, uptoTxn: bigint, count: number): readonly TxnRange[] | null => {
    const log = logs.get(table);
    if (!log) return null;
    const after = uptoTxn - BigInt(count);
    return touched(table, after > log.from ? after : log.from, uptoTxn < log.upto ? uptoTxn : log.upto);
  };

  type How = Parameters<TxnWatch["loadRanges"]>[2];
  /** Extends `table`'s log up to `txn.sequencerTxn` (committed ranges are known before they apply); whether a statement ran. */
  const load = async (table: string, txn: TableTxn, how: How = {}): Promise<boolean> => {
    let log = logs.get(table);
    // A lower bound already reached: nothing to do (read as a reading, its lower numbers would
    // look like a table dropped and created again).
    if (how.atLeast && log && log.upto >= txn.sequencerTxn) return false;
    if (!log || txn.writerTxn < log.from || txn.sequencerTxn < log.upto) {
      // New to the log, or dropped and created again: nothing before its applied state is known.
      log = { from: txn.writerTxn, upto: txn.writerTxn, entries: [] };
      logs.set(table, log);
    }
    const after = log.upto;
    const upto = txn.sequencerTxn;
    if (upto <= after) return false;
    if (upto - after > BigInt(maxLoad)) {
      countUnknown(table, "tooMany", Number(upto - after));
      logs.set(table, { from: upto, upto, entries: [] });
      return false;
    }
    // A failed load makes every cached entry of the table unknown: retried twice first.
    const rows = await readTxnRanges(how.runner ?? runner, table, after, upto, {
      name: how.name ?? "txn.ranges",
      retryMs: how.retryMs ?? LOAD_RETRY_MS,
      onTry: () => rangeLoads++,
    });
    if (!rows) {
      // Unknown from here on; a later probe starts a new log.
      if (logs.get(table) === log) {
        countUnknown(table, "loadFailed", Number(upto - after));
        logs.set(table, { from: upto, upto, entries: [] });
      }
      return true;
    }
    const byTxn = new Map(rows.map((row) => [row.sequencerTxn, row]));
    // The TTL is read before ranges are entered (a load outside a probe, from the live checks,
    // may come first, or right after a transaction without a range made it be read again).
    if (!retentions.has(table) && followed.has(table)) await loadRetentions(how.runner).catch(() => undefined);
    // Loads run side by side (a probe's and a live check's, each on its own connection: neither
    // waits for the other): one that started the log again meanwhile wins; one that went further
    // leaves this one the transactions after it.
    if (logs.get(table) !== log) return true;
    // Bigints: Math.max does not take them.
    let from = after;
    if (log.upto > from) from = log.upto;
    const retention = retentions.get(table);
    const now = BigInt(Date.now()) * 1000n;
    /** The first transaction listed: those before it were purged from the listing. */
    let listed = upto + 1n;
    for (const row of rows) if (row.sequencerTxn < listed) listed = row.sequencerTxn;
    for (let n = from + 1n; n <= upto; n++) {
      const row = byTxn.get(n);
      const span = row?.lo == null || row.hi == null ? null : { from: row.lo, to: row.hi + 1n };
      if (!span || !retention) {
        countUnknown(table, !row && n < listed ? "purged" : retention ? "noRange" : "noRetention", 1);
        log.entries.push({ txn: n, ranges: null, written: span });
        retentions.delete(table);
        continue;
      }
      const expired = expiredBy(span.to - 1n, retention, now);
      log.entries.push({ txn: n, ranges: expired ? [span, expired] : [span], written: span });
    }
    if (upto > log.upto) log.upto = upto;
    trim(log);
    return true;
  };

  /** Per view: the spans of its own transactions in (from, upto] that wrote rows, the newest logSize kept. */
  const viewLogs = new Map<string, { from: bigint; upto: bigint; entries: { txn: bigint; span: TxnRange }[] }>();
  const viewLoads = new Map<string, Promise<boolean>>();
  /** Extends the view's log to uptoTxn; false when what it would hold is unknown. */
  const loadViewWrites = async (view: string, afterTxn: bigint, uptoTxn: bigint): Promise<boolean> => {
    /** Nothing known up to uptoTxn: a later question starts the log again. */
    const unknown = () => {
      viewLogs.set(view, { from: uptoTxn, upto: uptoTxn, entries: [] });
      return false;
    };
    let log = viewLogs.get(view);
    // New, asked from before what it holds (a settled reading older than the log), or from after
    // it (the transactions in between are not needed).
    if (!log || afterTxn < log.from || afterTxn > log.upto) {
      log = { from: afterTxn, upto: afterTxn, entries: [] };
      viewLogs.set(view, log);
    }
    const after = log.upto;
    if (uptoTxn <= after) return true;
    // A period view may commit hundreds of transactions without rows a second (see viewWrites):
    // read in one statement of three numbers a row, only those with rows kept.
    if (uptoTxn - after > BigInt(viewMaxLoad)) return unknown();
    const rows = await readTxnRanges(runner, view, after, uptoTxn, {
      name: "txn.viewRanges",
      onTry: () => rangeLoads++,
    });
    if (viewLogs.get(view) !== log) return true;
    if (!rows) return unknown();
    const byTxn = new Map(rows.map((row) => [row.sequencerTxn, row]));
    for (let n = after + 1n; n <= uptoTxn; n++) {
      const row = byTxn.get(n);
      // Not listed (purged).
      if (!row) return unknown();
      // Only transactions with rows are kept: those without change nothing the check reads.
      if (row.lo != null && row.hi != null) log.entries.push({ txn: n, span: { from: row.lo, to: row.hi + 1n } });
    }
    log.upto = uptoTxn;
    trim(log);
    return true;
  };
  const viewWrites = async (view: string, afterTxn: bigint, uptoTxn: bigint): Promise<readonly TxnRange[] | null> => {
    if (uptoTxn <= afterTxn) return [];
    // One load per view at a time; a request that wants more than the one running loads after it.
    for (let tries = 0; tries < 3; tries++) {
      const log = viewLogs.get(view);
      if (log && afterTxn >= log.from && uptoTxn <= log.upto) {
        const spans: TxnRange[] = [];
        for (const entry of log.entries) if (entry.txn > afterTxn && entry.txn <= uptoTxn) spans.push(entry.span);
        return spans;
      }
      const running = viewLoads.get(view);
      if (running) {
        await running;
        continue;
      }
      const loading = loadViewWrites(view, afterTxn, uptoTxn).finally(() => viewLoads.delete(view));
      viewLoads.set(view, loading);
      if (!(await loading)) return null;
    }
    return null;
  };

  const runProbe = async (withViews: boolean): Promise<TxnSnapshot & { suspended: ReadonlySet<string> }> => {
    const probe = ++probes;
    if (withViews) viewProbes++;
    const sql = withViews ? PROBE_VIEWS_SQL : PROBE_TABLES_SQL;
    const rows = await runner.query<ProbeRow>({ name: "txn.probe", sql, params: [] });
    const tables = new Map<string, TableTxn>();
    const views = new Map<string, ViewState>();
    const suspended = new Set<string>();
    for (const row of rows) {
      const writerTxn = BigInt(row.writerTxn ?? -1);
      const sequencerTxn = BigInt(row.sequencerTxn ?? -1);
      if (row.base == null) {
        tables.set(row.name, { writerTxn, sequencerTxn });
        if (row.suspended) suspended.add(row.name);
      } else {
        views.set(row.name, {
          name: row.name,
          baseTable: row.base,
          baseTxn: writerTxn,
          valid: row.status !== "invalid",
          periodHi: row.period_hi === null ? null : BigInt(row.period_hi),
        });
      }
    }
    const now = Date.now();
    if (withViews) {
      knownViews = new Map([...views].map(([name, state]) => [name, { state, own: tables.get(name) }]));
      for (const [name, state] of views) {
        const own = tables.get(name);
        if (own && own.writerTxn === own.sequencerTxn) settled.set(name, { state, ownWriterTxn: own.writerTxn });
      }
    } else {
      for (const [name, known] of knownViews) {
        const own = tables.get(name);
        if (own && known.own && own.writerTxn === known.own.writerTxn && own.sequencerTxn === known.own.sequencerTxn) {
          views.set(name, known.state);
        }
      }
    }
    for (const name of knownViews.keys()) {
      const own = tables.get(name);
      const before = viewOwn.get(name);
      if (!own) viewOwn.delete(name);
      else if (!before || before.txn.writerTxn !== own.writerTxn || before.txn.sequencerTxn !== own.sequencerTxn) {
        viewOwn.set(name, { txn: own, movedAt: before ? now : 0 });
      }
    }
    for (const table of logs.keys()) if (!tables.has(table)) logs.delete(table);
    // A view gone, or whose numbers went back (dropped and made again): its settled reading is not its.
    for (const [name, reading] of settled) {
      const own = tables.get(name);
      if (!own || own.writerTxn < reading.ownWriterTxn) settled.delete(name);
    }
    // A view's log from before it was dropped and made again (its numbers start again below it). A
    // probe that read a little before a load went further does not (it may finish after the load).
    for (const [name, log] of viewLogs) {
      const own = tables.get(name);
      if (!own || own.sequencerTxn < log.from) viewLogs.delete(name);
    }
    if ([...followed].some((table) => tables.has(table) && !retentions.has(table))) {
      try {
        await loadRetentions();
      } catch {
        // Unknown TTL: the ranges loaded below are unknown too (see load).
      }
    }
    const loads: Promise<void>[] = [];
    for (const table of followed) {
      const txn = tables.get(table);
      if (txn) loads.push(load(table, txn).then(() => undefined));
    }
    await Promise.all(loads);
    return { probe, tables, views, touched, recentlyTouched, suspended };
  };

  // One probe at a time, and never one that started before the caller arrived: a caller joins the
  // probe that starts once the running one (if any) has ended, so every caller arriving meanwhile
  // shares it.
  let probeInFlight: Promise<unknown> | undefined;
  let next: Promise<Awaited<ReturnType<typeof runProbe>>> | undefined;
  /** Whether the probe waiting to start reads materialized_views() too (a caller needs it). */
  let nextWithViews = false;
  /** When the latest probe started (Date.now()), and the idle probe's timer. */
  let lastProbeAt = 0;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const nextProbe = (withViews = false) => {
    if (withViews) nextWithViews = true;
    if (!next) {
      const previous = probeInFlight;
      next = (async () => {
        await previous?.catch(() => undefined);
        next = undefined;
        lastProbeAt = Date.now();
        const probe = runProbe(nextWithViews);
        nextWithViews = false;
        probeInFlight = probe;
        // Every successful probe arms the idle one; a failed one leaves it to the next request.
        probe.then(armIdle, () => undefined);
        return probe;
      })();
    }
    return next;
  };
  /**
   * Between requests nobody probes, and a bot's transactions pile up unloaded: a probe when none
   * ran for idleProbeMs loads their ranges before QuestDB purges them (a purged one is unknown and
   * drops every cached entry of its table: 75 latency_metrics transactions in one bench:query run).
   * Unref'd: it never keeps the process alive.
   */
  const armIdle = () => {
    if (idleProbeMs <= 0 || idleTimer || followed.size === 0) return;
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (Date.now() - lastProbeAt >= idleProbeMs) void nextProbe().catch(() => undefined);
      else armIdle();
    }, idleProbeMs);
    idleTimer.unref?.();
  };

  const follow = (tables: readonly string[]) => {
    for (const table of tables) followed.add(table);
  };

  /** A snapshot in which `tables` have applied what `base` saw committed; null past `waitMs`. */
  const appliedWithin = async (
    base: TxnSnapshot,
    tables: readonly string[],
    waitMs: number,
    views: readonly string[] = [],
  ): Promise<TxnSnapshot | null> => {
    const deadline = Date.now() + waitMs;
    let pause = 5;
    let current = base;
    for (;;) {
      if (behind(base, current, tables).length === 0) return current;
      if (Date.now() + pause > deadline) return null;
      await sleep(pause);
      pause = Math.min(Math.round(pause * 1.5), 50);
      // A caller that reads moving views has them read by the probe it waits with.
      current = await nextProbe(viewsMoving(views));
    }
  };

  const applied = async (
    base: TxnSnapshot,
    tables: readonly string[],
    views: readonly string[] = [],
  ): Promise<TxnSnapshot> => {
    follow(tables);
    const current = await appliedWithin(base, tables, applyWaitMs, views);
    if (current) return current;
    throw clientError(
      "OVERLOADED",
      `QuestDB has not applied the committed rows of ${behind(base, base, tables).join(", ")} within ${applyWaitMs} ms (its WAL apply is behind); retry after 1 s`,
      { retryable: true, retryAfterMs: 1_000 },
    );
  };

  return {
    async snapshot(tables, views = []) {
      if (tables) follow(tables);
      let first = await nextProbe(viewsMoving(views));
      // A view that had been quiet moved: a view probe (later; it holds what the first held).
      if (lacksViews(first, views)) first = await nextProbe(true);
      if (!tables || tables.length === 0) return first;
      const done = await applied(first, tables, views);
      // The waits for the apply probe the tables alone; their transactions only grow, so a later
      // view probe holds what they applied.
      return lacksViews(done, views) ? nextProbe(true) : done;
    },
    applied,
    appliedWithin,
    follow,
    loadRanges: load,
    loadedUpTo: (table) => logs.get(table)?.upto ?? -1n,
    settledView: (view) => settled.get(view),
    viewWrites,
    written,
    stats: () => ({
      probes,
      viewProbes,
      rangeLoads,
      unknown: { ...unknown },
      unknownByTable: Object.fromEntries(unknownByTable),
    }),
  };
}
