// Transaction checks: which WAL transaction each table has applied, read with one
// `SELECT … FROM wal_tables()` for every live poller. A check runs every `intervalMs` (a tick,
// which finds other instances' rows), and at once when this instance's batch writer announces an
// acknowledged flush (a poke). QuestDB acknowledges a WAL commit before it applies it (writerTxn
// < sequencerTxn until then; https://questdb.com/docs/reference/function/meta/#wal_tables), so
// for a poke the check runs again after a few ms (5, 8, 12 … up to 50) until the commit is
// applied, for at most `pokeGiveUpMs`; then the ticks find it. One check runs at a time, and pokes
// during it ask for one more: a burst of flushes costs a few checks, not one each.
//
// For the tables it follows (those tradeRecorded reads), a check that sees new committed
// transactions also has the time range each of them wrote loaded (`wal_transactions()`) into the
// range log of the process's one transaction watcher (questdb/txn-watch.ts: the query cache's, which
// its probes extend too), before the pollers run: `earliestWritten` tells a stream whether the
// transactions since its last poll can hold a row behind its watermark.
import type { Logger } from "pino";
import type { SqlRunner } from "../analytics/sql.ts";
import type { TxnWatch } from "../questdb/txn-watch.ts";

/** A row of wal_tables(): writerTxn is applied (visible to SELECT), sequencerTxn committed. */
interface TxnRow {
  name: string;
  writerTxn: bigint;
  sequencerTxn: bigint;
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

/** The longest pause between the checks of a poked commit that is not applied yet. */
const MAX_RETRY_MS = 50;

/** A commit whose application no check saw within this long is forgotten (not measured). */
const FORGET_COMMIT_MS = 30_000;

/** A check's range loads: one try (a retry would hold the pollers), named apart from the cache's. */
const LOAD = { name: "live.txnRanges", retryMs: [0] } as const;

export interface TxnChecksOptions {
  sql: SqlRunner;
  /** The transaction watcher whose range log the checks extend and read (its loads run on `sql`). */
  watch: Pick<TxnWatch, "follow" | "loadRanges" | "loadedUpTo" | "written">;
  log: Logger;
  /** How often a tick checks. Default 250 ms. */
  intervalMs?: number;
  /** Whether poke() checks at once; false leaves pokes to the ticks (poke() then only measures). Default true. */
  poke?: boolean;
  /** The first pause between the checks of a poked commit not applied yet; ×1.5 each time, up to 50 ms. Default 5. */
  pokeRetryMs?: number;
  /**
   * A poked commit is checked for at most this long after its acknowledgement. Default
   * `intervalMs` (a check later than the next tick would repeat its work), from 250 ms to 5 s.
   */
  pokeGiveUpMs?: number;
  /** After each check, with the time its answer came and whether a tick ran it. Must not throw. */
  onChecked: (now: number, tick: boolean) => void;
  /** A poked commit was seen applied `ms` after its acknowledgement. Default none. */
  onApplied?: (ms: number) => void;
}

export interface TxnChecks {
  /** The table's applied transaction as of the latest check; -1n before one saw it. */
  txn(table: string): bigint;
  /** QuestDB acknowledged this instance's commit of `tables` at `ackedAt`. */
  poke(tables: readonly string[], ackedAt: number): void;
  /** Ticks run while `on` (some poller listens); off also forgets pending commits. */
  ticking(on: boolean): void;
  /** From the next check on, read the time ranges of these tables' new transactions. */
  follow(tables: readonly string[]): void;
  /**
   * The earliest timestamp (µs) written by `table`'s transactions in (afterTxn, uptoTxn]:
   * undefined when there are none, null when unknown (not loaded, purged, a transaction without
   * a recorded range such as an UPDATE, or a table not followed).
   */
  earliestWritten(table: string, afterTxn: bigint, uptoTxn: bigint): bigint | null | undefined;
  /** Loads the ranges of a followed table's transactions up to `txn` now (a poll saw it before a check did). */
  loadUpTo(table: string, txn: bigint): Promise<void>;
  counts(): { statements: number; tickChecks: number; pokeChecks: number; rangeLoads: number };
}

export function createTxnChecks(options: TxnChecksOptions): TxnChecks {
  const { sql, watch, log, intervalMs = 250, poke: pokeOn = true, pokeRetryMs = 5, onChecked, onApplied } = options;
  const { pokeGiveUpMs = Math.min(Math.max(intervalMs, 250), 5_000) } = options;
  const txn = new Map<string, bigint>();
  const counts = { statements: 0, tickChecks: 0, pokeChecks: 0, rangeLoads: 0 };
  const followed = new Set<string>();
  let pending: PendingCommit[] = [];
  let checksStarted = 0;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let checkAgain = false;
  let retry: NodeJS.Timeout | undefined;
  let retryMs = pokeRetryMs;

  /** Resolves pending commits against the reading of the `number`th check. */
  const settle = (rows: readonly TxnRow[], number: number, now: number) => {
    if (pending.length === 0) return;
    const byName = new Map(rows.map((row) => [row.name, row]));
    pending = pending.filter((commit) => {
      const row = byName.get(commit.table);
      if (!row || now - commit.ackedAt > FORGET_COMMIT_MS) return false;
      if (commit.target === undefined && number > commit.checksBefore) commit.target = row.sequencerTxn;
      if (commit.target === undefined || row.writerTxn < commit.target) return true;
      onApplied?.(now - commit.ackedAt);
      return false;
    });
  };

  /** Has the watcher's log of each row's table extended up to the committed transactions a check read. */
  const loadRanges = (rows: readonly TxnRow[], atLeast = false): Promise<void> =>
    Promise.all(
      rows.map(async (row) => {
        try {
          if (await watch.loadRanges(row.name, row, { ...LOAD, atLeast, runner: sql })) {
            counts.statements++;
            counts.rangeLoads++;
          }
        } catch (error) {
          log.debug({ err: error instanceof Error ? error.message : String(error) }, "live range load failed");
        }
      }),
    ).then(() => undefined);

  const earliestWritten = (table: string, afterTxn: bigint, uptoTxn: bigint): bigint | null | undefined => {
    if (uptoTxn <= afterTxn) return undefined;
    const ranges = followed.has(table) ? watch.written(table, afterTxn, uptoTxn) : null;
    if (!ranges || ranges.length === 0) return null;
    let earliest = (ranges[0] as { from: bigint }).from;
    for (const range of ranges) if (range.from < earliest) earliest = range.from;
    return earliest;
  };

  /** Whether a poked commit is still worth a check of its own (not applied, young enough). */
  const awaitingApply = (now: number) => pending.some((commit) => now - commit.ackedAt < pokeGiveUpMs);

  const check = async (tick: boolean) => {
    checking = true;
    clearTimeout(retry);
    retry = undefined;
    if (tick) counts.tickChecks++;
    else counts.pokeChecks++;
    counts.statements++;
    const number = ++checksStarted;
    try {
      const rows = await sql.query<TxnRow>({
        name: "live.txnCheck",
        sql: "SELECT name, writerTxn, sequencerTxn FROM wal_tables()",
        params: [],
      });
      const now = Date.now();
      for (const row of rows) txn.set(row.name, row.writerTxn);
      settle(rows, number, now);
      // The ranges of applied transactions, which the pollers about to run may read, first; those
      // only committed (not visible yet: a poke's first check) after, without holding the polls.
      const followedRows = rows.filter((row) => followed.has(row.name));
      const lacks = (row: TxnRow) => row.writerTxn > watch.loadedUpTo(row.name);
      if (followedRows.some(lacks)) await loadRanges(followedRows);
      onChecked(followedRows.length > 0 ? Date.now() : now, tick);
      if (followedRows.length > 0) void loadRanges(followedRows);
    } catch (error) {
      log.debug({ err: error instanceof Error ? error.message : String(error) }, "live transaction check failed");
    } finally {
      checking = false;
    }
    if (!timer || !pokeOn) return;
    if (checkAgain) {
      checkAgain = false;
      void check(false);
    } else if (awaitingApply(Date.now())) {
      // Acknowledged is committed, not yet applied (visible): look again shortly.
      retry = setTimeout(() => void check(false), retryMs);
      retry.unref();
      retryMs = Math.min(Math.round(retryMs * 1.5), MAX_RETRY_MS);
    }
  };

  return {
    txn: (table) => txn.get(table) ?? -1n,
    poke(tables, ackedAt) {
      if (!timer) return;
      for (const table of tables) pending.push({ table, ackedAt, checksBefore: checksStarted, target: undefined });
      if (!pokeOn) return;
      retryMs = pokeRetryMs;
      if (checking) checkAgain = true;
      else void check(false);
    },
    ticking(on) {
      if (on && !timer) {
        timer = setInterval(() => {
          if (!checking) void check(true);
        }, intervalMs);
        timer.unref();
      } else if (!on && timer) {
        clearInterval(timer);
        timer = undefined;
        clearTimeout(retry);
        retry = undefined;
        pending = [];
      }
    },
    follow(tables) {
      for (const table of tables) followed.add(table);
      watch.follow(tables);
    },
    earliestWritten,
    loadUpTo: (table, upto) =>
      followed.has(table) && watch.loadedUpTo(table) < upto
        ? loadRanges([{ name: table, writerTxn: upto, sequencerTxn: upto }], true)
        : Promise.resolve(),
    counts: () => ({ ...counts }),
  };
}
