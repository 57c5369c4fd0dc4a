// What a request may read from each view (analytics/rollup.ts), from its transaction snapshot
// (questdb/txn-watch.ts): a view is usable once it exists and is valid; the hours it does not
// reflect yet are read from the base table:
// - what the base table's transactions since the view's last refresh touched;
// - the open period of a period view (from refresh_period_hi on).
// A view that has committed transactions it has not applied yet is read as of its latest settled
// reading (TxnWatch.settledView: every transaction it had committed applied; that reading's refresh
// state, the base's transactions since then read raw) when it still shows that reading outside the
// hours read raw: it has applied nothing since, or its own transactions since (TxnWatch.viewWrites,
// applied or not) wrote rows only into those hours. Transactions without rows (a period view's
// refresh marks, a full refresh's truncation) change nothing else; a full refresh writes every hour
// of the history again, and while one runs the view's refresh state reads -1 (gone back: not
// used). Otherwise the view is waited for (VIEW_APPLY_WAIT_MS, then everything is read from the
// table). QuestDB 9.3.4 lets an immediate period view commit hundreds of transactions without rows
// in a burst when its base table's apply lags (a refresh loop; fixed upstream after 9.3.4, questdb
// PR #7136): applying them takes the WAL apply workers about a second, during which the wait, then
// 30 days read raw, made bench:query's slowest requests.
// A range QuestDB did not record (an UPDATE, a table made without
// cairo.default.sequencer.part.txn.count) makes the whole range unknown: read from the table.
import type { TableNames } from "../questdb/tables.ts";
import type { TxnRange, TxnSnapshot, TxnWatch, ViewState } from "../questdb/txn-watch.ts";
import { VIEW_GRAIN_US, type ViewNames } from "../questdb/views.ts";
import type { QueryReader } from "./cache.ts";
import type { Coverage, RollupSource } from "./rollup.ts";

/** A time beyond any range a query may ask for. */
const END_OF_TIME = 2n ** 62n;

const UNUSABLE: Coverage = { usable: false, dirty: null };

/** How long a request waits for a view to apply what it has committed before reading raw. */
export const VIEW_APPLY_WAIT_MS = 1_000;

/**
 * The view's coverage in `snapshot`; `viewApplied`: the view has applied (in this snapshot or a
 * later one) every transaction this snapshot saw it commit.
 */
export function coverageOf(
  snapshot: TxnSnapshot,
  view: string,
  base: string,
  viewApplied: boolean,
  state: ViewState | undefined = snapshot.views.get(view),
): Coverage {
  const table = snapshot.tables.get(base);
  const own = snapshot.tables.get(view);
  if (!state?.valid || state.baseTable !== base || !table || !own || state.baseTxn < 0n) return UNUSABLE;
  const behind = state.baseTxn < table.writerTxn ? snapshot.touched(base, state.baseTxn, table.writerTxn) : [];
  if (behind === null || !viewApplied) return { usable: true, dirty: null };
  const open = state.periodHi === null ? [] : [{ from: state.periodHi, to: END_OF_TIME }];
  return { usable: true, dirty: [...behind, ...open] };
}

/** Whether every hour `span` reaches (the view's rows stand at the hour's start) overlaps `dirty`. */
export function hoursWithin(span: TxnRange, dirty: readonly TxnRange[]): boolean {
  const first = span.from - (((span.from % VIEW_GRAIN_US) + VIEW_GRAIN_US) % VIEW_GRAIN_US);
  // A full refresh writes every hour of the history: the first hour outside ends the check.
  for (let hour = first; hour < span.to; hour += VIEW_GRAIN_US) {
    if (!dirty.some((range) => range.from < hour + VIEW_GRAIN_US && range.to > hour)) return false;
  }
  return true;
}

/** The rollup sources of the statistics queries. */
export interface Rollups {
  trades: RollupSource;
  latency: RollupSource;
  mev: RollupSource;
  /** `trades_pnl_1h`, the drawdown's fingerprints (analytics/drawdown-periods.ts). */
  pnl: RollupSource;
}

export function createRollups(
  tables: TableNames,
  views: ViewNames,
  watch: TxnWatch,
  viewApplyWaitMs = VIEW_APPLY_WAIT_MS,
): Rollups {
  const source = (table: string, view: string): RollupSource => ({
    table,
    view,
    coverage: async (reads: QueryReader) => {
      const snapshot = await reads.snapshot([table], [view]);
      const own = snapshot.tables.get(view);
      const pending = own !== undefined && own.writerTxn < own.sequencerTxn;
      if (pending) {
        const settled = watch.settledView(view);
        const current = snapshot.views.get(view);
        // A refresh state gone back (a full refresh running sets it to -1) shows nothing settled.
        if (settled && current?.valid && current.baseTxn >= settled.state.baseTxn) {
          const coverage = coverageOf(snapshot, view, table, true, { ...settled.state, valid: current.valid });
          // Nothing applied since the latest settled reading: the view shows that reading's state.
          if (settled.ownWriterTxn === own.writerTxn) return coverage;
          // Applied since: it still shows that state wherever its own transactions since (applied
          // or not) wrote nothing outside the hours read raw anyway.
          const dirty = coverage.dirty;
          if (dirty !== null) {
            const writes = await watch.viewWrites(view, settled.ownWriterTxn, own.sequencerTxn);
            if (writes?.every((span) => hoursWithin(span, dirty))) return coverage;
          }
        }
      }
      const applied = !pending || (await watch.appliedWithin(snapshot, [view], viewApplyWaitMs)) !== null;
      return coverageOf(snapshot, view, table, applied);
    },
  });
  return {
    trades: source(tables.trades, views.trades),
    latency: source(tables.latency_metrics, views.latency),
    mev: source(tables.mev_metrics, views.mev),
    pnl: source(tables.trades, views.pnl),
  };
}
