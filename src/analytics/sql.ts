// The one way analytics code runs SQL: parameterised statements over the pg pool, whose
// connections carry QuestDB's per-statement timeout (`-c statement_timeout=QUERY_TIMEOUT_MS` in
// the startup options, questdb/pg-pool.ts). Every statement has a name, its duration is logged at
// debug, and statements are counted per name (tests count them; /metrics can export them). A
// caller that must not wait on a QuestDB that does not answer at all (alert rules, `alerts.*`)
// gives its statement a client-side deadline too (`deadlineMs`).
import type pg from "pg";
import type { Logger } from "pino";
import { clientError } from "../errors.ts";
import { queryWithDeadline } from "../questdb/pg-pool.ts";

export interface SqlStatement {
  /** Stable name for logs and counts, e.g. `tradeStats.totals`. */
  readonly name: string;
  /** Parameterised SQL; identifiers only from closed sets in code. */
  readonly sql: string;
  readonly params: readonly unknown[];
}

export interface SqlRunnerOptions {
  /** Connections for the statistics queries (tradeStats, latencyStats, mevEffectiveness, strategyPerformance, performanceByPeriod). */
  pool: pg.Pool;
  /**
   * Connections for everything else (the cache's transaction probe, trade pages and their links):
   * month-long charts filling `pool` cannot make a one-row query wait. Default `pool`.
   */
  lightPool?: pg.Pool;
  log: Logger;
  /** The pool's statement timeout, for the message of a timed-out query. */
  timeoutMs: number;
  /**
   * Called after every statement, successful or not, with the rows it brought into Node (0 when
   * it failed): the benchmark records them, tests check no statement reads more than the bound.
   * Default none.
   */
  onStatement?: (statement: SqlStatement, ms: number, error: unknown, rows: number) => void;
}

export interface SqlRunnerStats {
  statements: number;
  failed: number;
  /** Statements run, per name. */
  byName: Record<string, number>;
  /** Rows brought into Node, per statement name. */
  rowsByName: Record<string, number>;
}

export interface QueryOptions {
  /**
   * A client-side deadline in ms over the wait for a connection and the statement (for a QuestDB
   * that does not answer at all); past it the statement fails with a StatementDeadlineError and its
   * connection is destroyed (questdb/pg-pool.ts, queryWithDeadline). Default none: only QuestDB's
   * own statement_timeout.
   */
  deadlineMs?: number;
}

export interface SqlRunner {
  query<R>(statement: SqlStatement, options?: QueryOptions): Promise<R[]>;
  stats(): SqlRunnerStats;
}

/** QuestDB aborted the statement at the pool's statement_timeout: a client error without QuestDB's text. */
export const queryTimeoutError = (name: string, timeoutMs: number) =>
  clientError(
    "QUERY_TIMEOUT",
    `The query ${name} took longer than ${timeoutMs} ms (QUERY_TIMEOUT_MS) and was stopped; narrow the time range, choose a larger bucket, or raise QUERY_TIMEOUT_MS`,
    { retryable: false },
  );

/** Statements of the statistics queries: they scan ranges and may run for seconds. */
const HEAVY = /^(tradeStats|latencyStats|mevEffectiveness|strategyPerformance|performanceByPeriod)\b/;

export function createSqlRunner(options: SqlRunnerOptions): SqlRunner {
  const { pool, log, timeoutMs, onStatement } = options;
  const lightPool = options.lightPool ?? pool;
  const byName: Record<string, number> = {};
  const rowsByName: Record<string, number> = {};
  let statements = 0;
  let failed = 0;

  return {
    async query<R>(statement: SqlStatement, queryOptions: QueryOptions = {}): Promise<R[]> {
      statements++;
      byName[statement.name] = (byName[statement.name] ?? 0) + 1;
      const started = performance.now();
      try {
        const target = HEAVY.test(statement.name) ? pool : lightPool;
        const values = statement.params as unknown[];
        const { deadlineMs } = queryOptions;
        const result = await (deadlineMs === undefined
          ? target.query(statement.sql, values)
          : queryWithDeadline(target, { text: statement.sql, values }, deadlineMs));
        const ms = performance.now() - started;
        log.debug({ query: statement.name, ms: Math.round(ms * 1000) / 1000, rows: result.rowCount }, "sql");
        rowsByName[statement.name] = (rowsByName[statement.name] ?? 0) + result.rows.length;
        onStatement?.(statement, ms, undefined, result.rows.length);
        return result.rows as R[];
      } catch (error) {
        failed++;
        const ms = performance.now() - started;
        const message = error instanceof Error ? error.message : String(error);
        log.debug({ query: statement.name, ms: Math.round(ms * 1000) / 1000, err: message }, "sql failed");
        onStatement?.(statement, ms, error, 0);
        // QuestDB's message: "timeout, query aborted [fd=…, runtime=…ms, timeout=…ms]".
        if (/timeout, query aborted/.test(message)) throw queryTimeoutError(statement.name, timeoutMs);
        // pg-pool waited connectionTimeoutMillis for a free connection: every one is busy with
        // other statements. Retryable, not an unexpected error.
        if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(message)) {
          throw clientError(
            "OVERLOADED",
            `Every database connection is busy (${HEAVY.test(statement.name) ? "PG_POOL_SIZE" : "PG_LIGHT_POOL_SIZE"}); the query ${statement.name} was not started; retry after 1 s`,
            { retryable: true, retryAfterMs: 1_000 },
          );
        }
        throw error;
      }
    },
    stats: () => ({ statements, failed, byName: { ...byName }, rowsByName: { ...rowsByName } }),
  };
}
