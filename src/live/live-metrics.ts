// The poll behind `liveMetrics`: rolling figures over a sliding window, read from the recent
// partitions only (a time predicate on the designated timestamp).
import type { TableNames } from "../questdb/tables.ts";
import { formatIsoMicros, type Micros, nowMicros } from "../time.ts";
import type { LiveQuery } from "./live-queries.ts";

export interface StageLatency {
  stage: string;
  count: number;
  p50Us: number;
  p99Us: number;
}

export interface LiveMetrics {
  windowSeconds: number;
  /** End of the window (whole second). */
  at: Micros;
  trades: number;
  tradesPerSecond: number;
  /** Quote volume. */
  volume: number;
  /** Share of trades with mevStatus PROTECTED. */
  mevProtectedRate: number;
  /** Share of trades SANDWICHED, FRONT_RUN or BACK_RUN. */
  mevAttackedRate: number;
  latency: StageLatency[];
  ingestQueueDepth: number;
}

/** HdrHistogram precision (significant decimal digits) of approx_percentile. */
export const LIVE_PERCENTILE_PRECISION = 3;

export function createLiveMetricsPoll(options: {
  query: LiveQuery;
  tables: TableNames;
  windowSeconds: number;
  strategy: string | null;
  queueDepth: () => number;
}) {
  const { query, tables, windowSeconds, strategy, queueDepth } = options;
  return async (): Promise<LiveMetrics> => {
    // The window slides by whole seconds, so a poll without new commits changes nothing twice.
    const end = (nowMicros() / 1_000_000n) * 1_000_000n;
    const start = formatIsoMicros(end - BigInt(windowSeconds) * 1_000_000n);
    const stop = formatIsoMicros(end);
    const strategyClause = strategy === null ? "" : " AND strategy = $3";
    const params = strategy === null ? [start, stop] : [start, stop, strategy];
    const [trades, latency] = await Promise.all([
      query<{ n: bigint; volume: number | null; protected: bigint; attacked: bigint }>(
        `SELECT count() n, sum(quote_amount) volume,
           sum(CASE WHEN mev_status = 'PROTECTED' THEN 1 ELSE 0 END) protected,
           sum(CASE WHEN mev_status IN ('SANDWICHED', 'FRONT_RUN', 'BACK_RUN') THEN 1 ELSE 0 END) attacked
         FROM ${tables.trades} WHERE timestamp >= $1 AND timestamp < $2${strategyClause}`,
        params,
      ),
      query<{ stage: string; n: bigint; p50: number; p99: number }>(
        `SELECT stage, count() n,
           approx_percentile(latency_us, 0.5, ${LIVE_PERCENTILE_PRECISION}) p50,
           approx_percentile(latency_us, 0.99, ${LIVE_PERCENTILE_PRECISION}) p99
         FROM ${tables.latency_metrics} WHERE timestamp >= $1 AND timestamp < $2${strategyClause}
         GROUP BY stage ORDER BY stage`,
        params,
      ),
    ]);
    const row = trades.rows[0];
    const n = Number(row?.n ?? 0n);
    return {
      windowSeconds,
      at: end,
      trades: n,
      tradesPerSecond: n / windowSeconds,
      volume: row?.volume ?? 0,
      mevProtectedRate: n === 0 ? 0 : Number(row?.protected ?? 0n) / n,
      mevAttackedRate: n === 0 ? 0 : Number(row?.attacked ?? 0n) / n,
      latency: latency.rows.map((r) => ({ stage: r.stage, count: Number(r.n), p50Us: r.p50, p99Us: r.p99 })),
      ingestQueueDepth: queueDepth(),
    };
  };
}
