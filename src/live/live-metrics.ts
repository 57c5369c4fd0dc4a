// The poll behind `liveMetrics`: rolling figures over a sliding window, read from the recent
// partitions only (a time predicate on the designated timestamp).
import { attackedSql } from "../analytics/mev-vocabulary.ts";
import type { TableNames } from "../questdb/tables.ts";
import { formatIsoMicros, type Micros, nowMicros } from "../time.ts";
import type { LiveQueries } from "./live-queries.ts";
import type { PartQuery } from "./union-batch.ts";

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
  /** Share of trades attacked: mevStatus SANDWICHED, FRONT_RUN or BACK_RUN (analytics/mev-vocabulary.ts). */
  mevAttackedRate: number;
  latency: StageLatency[];
  ingestQueueDepth: number;
  /** Duration of this instance's latest flush, ms. */
  ingestFlushMs: number;
  /** Rows this instance dead-lettered since it started. */
  ingestRejectedRows: number;
}

/** This instance's ingest figures, read at each poll. */
export interface IngestFigures {
  queueDepth: number;
  flushMs: number;
  rejectedRows: number;
}

/** HdrHistogram precision (significant decimal digits) of approx_percentile. */
export const LIVE_PERCENTILE_PRECISION = 3;

export function createLiveMetricsPoll(options: {
  /** Runs the poll's statement; the polls of several cohorts due in one turn run as one (live/union-batch.ts). */
  query: PartQuery;
  tables: TableNames;
  windowSeconds: number;
  strategy: string | null;
  /** Only the rows this API key (by name) recorded; null: every key's. */
  writer: string | null;
  ingest: () => IngestFigures;
}) {
  const { query, tables, windowSeconds, strategy, writer, ingest } = options;
  return async (): Promise<LiveMetrics> => {
    // The window slides by whole seconds, so a poll without new commits changes nothing twice.
    const end = (nowMicros() / 1_000_000n) * 1_000_000n;
    const start = formatIsoMicros(end - BigInt(windowSeconds) * 1_000_000n);
    const stop = formatIsoMicros(end);
    const params: unknown[] = [start, stop];
    let filterClause = "";
    for (const [column, value] of [
      ["strategy", strategy],
      ["writer", writer],
    ] as const) {
      if (value === null) continue;
      params.push(value);
      filterClause += ` AND ${column} = $${params.length}`;
    }
    // One statement: the trades aggregate (kind 'trades') and one row per stage ('latency'), as
    // the branches (parts) that live/union-batch.ts joins with other cohorts' polls.
    const result = await query<{
      part: number;
      kind: string;
      stage: string | null;
      n: bigint;
      a: number | null;
      b: number | null;
      c: number | null;
    }>({
      name: "liveMetrics.poll",
      sql: `(SELECT 0 part, 'trades' kind, cast(NULL AS SYMBOL) stage, count() n, sum(quote_amount) a,
         cast(sum(CASE WHEN mev_status = 'PROTECTED' THEN 1 ELSE 0 END) AS DOUBLE) b,
         cast(sum(CASE WHEN ${attackedSql("mev_status")} THEN 1 ELSE 0 END) AS DOUBLE) c
       FROM ${tables.trades} WHERE timestamp >= $1 AND timestamp < $2${filterClause})
       UNION ALL
       (SELECT 1 part, 'latency' kind, stage, count() n,
         approx_percentile(latency_us, 0.5, ${LIVE_PERCENTILE_PRECISION}) a,
         approx_percentile(latency_us, 0.99, ${LIVE_PERCENTILE_PRECISION}) b, cast(NULL AS DOUBLE) c
       FROM ${tables.latency_metrics} WHERE timestamp >= $1 AND timestamp < $2${filterClause}
       GROUP BY stage)`,
      params,
    });
    const row = result.find((r) => r.kind === "trades");
    const n = Number(row?.n ?? 0n);
    const figures = ingest();
    return {
      windowSeconds,
      at: end,
      trades: n,
      tradesPerSecond: n / windowSeconds,
      volume: row?.a ?? 0,
      mevProtectedRate: n === 0 ? 0 : (row?.b ?? 0) / n,
      mevAttackedRate: n === 0 ? 0 : (row?.c ?? 0) / n,
      latency: result
        .filter((r) => r.kind === "latency")
        .map((r) => ({ stage: r.stage ?? "", count: Number(r.n), p50Us: r.a ?? 0, p99Us: r.b ?? 0 }))
        .sort((x, y) => (x.stage < y.stage ? -1 : x.stage > y.stage ? 1 : 0)),
      ingestQueueDepth: figures.queueDepth,
      ingestFlushMs: figures.flushMs,
      ingestRejectedRows: figures.rejectedRows,
    };
  };
}

/**
 * Joins the cohort of liveMetrics(windowSeconds, strategy, writer): polled at most once a second,
 * when the tables committed or the window slid; sent only when a figure changed. Returns the
 * function that leaves it.
 */
export function joinLiveMetrics(
  options: { live: LiveQueries } & Omit<Parameters<typeof createLiveMetricsPoll>[0], "query">,
  push: (metrics: LiveMetrics) => void,
): () => void {
  const { live, ...pollOptions } = options;
  const { tables, windowSeconds, strategy, writer } = options;
  const poll = createLiveMetricsPoll({ ...pollOptions, query: live.union });
  return live.join<LiveMetrics>(
    {
      key: JSON.stringify(["liveMetrics", windowSeconds, strategy, writer]),
      tables: [tables.trades, tables.latency_metrics],
      slideMs: 1000,
      minIntervalMs: 1000,
      poll: () => poll(),
      // `at` moves every second; a message goes out only when a figure changed.
      changed: (a, b) => !a || JSON.stringify({ ...a, at: 0 }) !== JSON.stringify({ ...b, at: 0 }),
    },
    { push },
  );
}
