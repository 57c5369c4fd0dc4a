// What a request may read from each view (analytics/rollup.ts): a view is usable once it exists
// and is valid; the hours it does not reflect yet are read from the base table. Without the time
// ranges of the transactions since the view's last refresh, a view that lags is not read at all.
import type { TableNames } from "../questdb/tables.ts";
import type { ViewNames } from "../questdb/views.ts";
import type { Coverage, RollupSource } from "./rollup.ts";
import type { SqlRunner } from "./sql.ts";

interface ViewRow {
  view_name: string;
  view_status: string;
  refresh_base_table_txn: bigint | null;
  /** End of the hours the view holds (a period view leaves the open hour out); null: no bound. */
  refresh_period_hi: bigint | null;
}

/** A time beyond any range a query may ask for. */
const END_OF_TIME = 2n ** 62n;

interface WalRow {
  name: string;
  writerTxn: bigint;
  sequencerTxn: bigint;
}

/** Coverage of `view` over `base`, from a probe that starts after the call. */
export type CoverageOf = (view: string, base: string) => Promise<Coverage>;

export function createViewCoverage(runner: SqlRunner): CoverageOf {
  return async (view, base) => {
    // Views first: a refresh that ends between the two statements only makes the view look
    // older than it is.
    const views = await runner.query<ViewRow>({
      name: "rollup.views",
      sql: "SELECT view_name, view_status, refresh_base_table_txn, refresh_period_hi FROM materialized_views() WHERE view_name = $1",
      params: [view],
    });
    const found = views[0];
    if (found?.view_status !== "valid" || found.refresh_base_table_txn === null) {
      return { usable: false, dirty: null };
    }
    const wal = await runner.query<WalRow>({
      name: "rollup.txn",
      sql: "SELECT name, writerTxn, sequencerTxn FROM wal_tables() WHERE name = $1 OR name = $2",
      params: [view, base],
    });
    const of = (name: string) => wal.find((row) => row.name === name);
    const viewTxn = of(view);
    const baseTxn = of(base);
    if (!viewTxn || !baseTxn) return { usable: false, dirty: null };
    const caughtUp =
      BigInt(viewTxn.writerTxn) === BigInt(viewTxn.sequencerTxn) &&
      BigInt(found.refresh_base_table_txn) >= BigInt(baseTxn.writerTxn);
    if (!caughtUp) return { usable: true, dirty: null };
    const hi = found.refresh_period_hi;
    return { usable: true, dirty: hi === null ? [] : [{ from: BigInt(hi), to: END_OF_TIME }] };
  };
}

/** The rollup sources of the statistics queries. */
export interface Rollups {
  trades: RollupSource;
  latency: RollupSource;
  mev: RollupSource;
}

export function createRollups(tables: TableNames, views: ViewNames, coverage: CoverageOf): Rollups {
  const source = (table: string, view: string): RollupSource => ({
    table,
    view,
    coverage: () => coverage(view, table),
  });
  return {
    trades: source(tables.trades, views.trades),
    latency: source(tables.latency_metrics, views.latency),
    mev: source(tables.mev_metrics, views.mev),
  };
}
