// The PGWire pool for queries. QuestDB speaks PostgreSQL's wire protocol on :8812.
import pg from "pg";
import { parsePgTimestamp } from "../time.ts";

export interface PgPoolOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Default 5. */
  max?: number;
  /** Server-side statement timeout in ms, sent in the startup options. Default 10 s. */
  statementTimeoutMs?: number;
  /** How long a query waits for a free connection (or a new one) before it fails. Default 5 s. */
  connectionWaitMs?: number;
}

const OID_INT8 = 20;
const OID_TIMESTAMP = 1114;
const OID_TIMESTAMPTZ = 1184;

// Parsers are per pool, not pg's global registry, so nothing else in the process is affected.
// TIMESTAMP → bigint microseconds (a Date would drop microseconds); LONG → bigint (a number
// would silently round above 2^53).
const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (format !== "binary") {
      if (oid === OID_INT8) return (text: string) => BigInt(text);
      if (oid === OID_TIMESTAMP || oid === OID_TIMESTAMPTZ) return parsePgTimestamp;
    }
    return pg.types.getTypeParser(oid, format as "text");
  },
} as unknown as pg.CustomTypesConfig;

export function createPgPool(options: PgPoolOptions): pg.Pool {
  const { max = 5, statementTimeoutMs = 10_000, connectionWaitMs = 5_000 } = options;
  const pool = new pg.Pool({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: connectionWaitMs,
    options: `-c statement_timeout=${statementTimeoutMs}`,
    types: TYPES,
  });
  // An idle client's socket error (QuestDB restarted) must not crash the process; the pool
  // drops that client and the next query opens a new one.
  pool.on("error", () => {});
  return pool;
}

/** A statement that got no answer (nor a connection to run on) before its client-side deadline. */
export class StatementDeadlineError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer from QuestDB within ${timeoutMs} ms (client-side timeout); the connection was closed`);
    this.name = "StatementDeadlineError";
  }
}

/**
 * Runs one statement with a client-side deadline that covers the wait for a connection and the
 * statement. QuestDB's own `statement_timeout` only stops a statement it is running; a QuestDB
 * that does not answer at all (frozen, host or network gone) would hold the caller forever. Past
 * the deadline the promise rejects with a StatementDeadlineError and the connection is destroyed,
 * never returned to the pool, whose next statement would otherwise read this one's late answer:
 * `release(true)` makes pg-pool end it, and pg's `end()` destroys the socket of a connection with
 * a statement in flight rather than wait for the silent peer (test/alerts.test.ts checks both). A
 * connection the pool hands over after the deadline goes straight back.
 */
export async function queryWithDeadline<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  query: { text: string; values: unknown[] },
  timeoutMs: number,
): Promise<pg.QueryResult<R>> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  let client: pg.PoolClient | undefined;
  let failed: Error | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      client?.release(true);
      reject(new StatementDeadlineError(timeoutMs));
    }, timeoutMs);
  });
  const run = async () => {
    const connected = await pool.connect();
    if (expired) {
      connected.release();
      throw new StatementDeadlineError(timeoutMs);
    }
    client = connected;
    // A checked-out client's 'error' (QuestDB killed, the socket reset) has no listener of the
    // pool's: unheard, it would be an uncaught exception that ends the process. Heard here, the
    // connection is not trusted again.
    const onError = (error: Error) => {
      failed = error;
    };
    connected.on("error", onError);
    try {
      return await connected.query<R>(query.text, query.values);
    } catch (error) {
      // As pool.query does: after an error the connection is not trusted again.
      failed = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client = undefined;
      if (!expired) connected.release(failed);
      // A connection back in the pool has the pool's listener again; one that is being destroyed
      // keeps this one, for an 'error' it may still emit.
      if (!expired && !failed) connected.off("error", onError);
    }
  };
  const running = run();
  // The loser of the race must not surface as an unhandled rejection.
  running.catch(() => {});
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A pool's connections as /metrics shows them (src/http/metrics.ts). */
export interface PoolStats {
  /** Connections running a statement. */
  inUse: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

export const poolStats = (pool: pg.Pool): PoolStats => ({
  inUse: pool.totalCount - pool.idleCount,
  idle: pool.idleCount,
  waiting: pool.waitingCount,
  max: pool.options.max ?? 10,
});
