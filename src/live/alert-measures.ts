// What each alert rule measures: its SQL next to the code that maps its row (STYLE, habit 8).
// Statements run through the SQL runner, named `alerts.<kind>`, each with a client-side deadline
// (alerts.ts); QUEUE_DEPTH reads the batch writer and needs no SQL at all.
import { attackedSql, attackPartSql } from "../analytics/mev-vocabulary.ts";
import type { SqlRunner } from "../analytics/sql.ts";
import type { BatchWriter } from "../ingest/batch-writer.ts";
import type { TableNames } from "../questdb/tables.ts";
import { formatIsoMicros, type Micros } from "../time.ts";
import type { AlertRule } from "./alerts.ts";

export interface MeasureContext {
  sql: SqlRunner;
  tables: TableNames;
  writer: BatchWriter;
  /** Client-side deadline of each statement, in ms. */
  deadlineMs: number;
}

/**
 * The rule's current value in its kind's unit (alerts.ts, UNIT_OF), or null when there is nothing
 * to judge (no rows in the window).
 */
export async function measureRule(rule: AlertRule, now: Micros, ctx: MeasureContext): Promise<number | null> {
  const { sql, tables, writer, deadlineMs } = ctx;
  const since = formatIsoMicros(now - BigInt(rule.windowSeconds) * 1_000_000n);
  const run = <R>(name: string, text: string, params: unknown[]) =>
    sql.query<R>({ name: `alerts.${name}`, sql: text, params }, { deadlineMs });
  switch (rule.kind) {
    case "LATENCY_P99": {
      const [row] = await run<{ p99: number | null; n: bigint }>(
        "latencyP99",
        `SELECT count() n, approx_percentile(latency_us, 0.99, 3) p99 FROM ${tables.latency_metrics} WHERE timestamp >= $1 AND stage = $2`,
        [since, rule.stage],
      );
      return row && row.n > 0n && row.p99 !== null ? row.p99 : null;
    }
    case "SANDWICH_RATE": {
      const [row] = await run<{ n: bigint; s: bigint }>(
        "sandwichRate",
        `SELECT count() n, sum(CASE WHEN ${attackPartSql("sandwiched", "mev_status")} THEN 1 ELSE 0 END) s FROM ${tables.trades} WHERE timestamp >= $1`,
        [since],
      );
      return row && row.n > 0n ? Number(row.s) / Number(row.n) : null;
    }
    // Issue 16: the share of trades attacked (SANDWICHED, FRONT_RUN or BACK_RUN, as
    // mevEffectiveness and liveMetrics count them), a fraction 0–1 like SANDWICH_RATE.
    case "ATTACK_RATE": {
      const [row] = await run<{ n: bigint; s: bigint }>(
        "attackRate",
        `SELECT count() n, sum(CASE WHEN ${attackedSql("mev_status")} THEN 1 ELSE 0 END) s FROM ${tables.trades} WHERE timestamp >= $1`,
        [since],
      );
      return row && row.n > 0n ? Number(row.s) / Number(row.n) : null;
    }
    case "NO_TRADES": {
      const [row] = await run<{ last: bigint | null }>(
        "noTrades",
        `SELECT max(timestamp) last FROM ${tables.trades} WHERE timestamp >= $1`,
        [formatIsoMicros(now - 86_400_000_000n)],
      );
      const last = row?.last ?? null;
      return last === null ? 86_400 : Number(now - last) / 1_000_000;
    }
    case "QUEUE_DEPTH": {
      const s = writer.stats();
      return s.queuedRows + s.inFlightRows;
    }
  }
}
