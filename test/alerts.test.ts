// Alert rules are independent (issue 12, point 2): each rule on a timer of its own, and a
// statement that gets no answer fails at its client-side deadline with its connection destroyed.
// In-process tier: the engine with a SQL runner whose statements answer when the test says so,
// and a real pg pool against a PGWire peer that accepts a connection and then falls silent.
import { createServer, type Socket } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { SqlRunner, SqlStatement } from "../src/analytics/sql.ts";
import type { BatchWriter } from "../src/ingest/batch-writer.ts";
import type { QueuedRow } from "../src/ingest/encoded-rows.ts";
import { type AlertEvent, type AlertRule, createAlertEngine } from "../src/live/alerts.ts";
import { createPgPool, queryWithDeadline, StatementDeadlineError } from "../src/questdb/pg-pool.ts";
import type { TableNames } from "../src/questdb/tables.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const rule = (id: string, kind: AlertRule["kind"], threshold: number): AlertRule => ({
  id,
  kind,
  stage: kind === "LATENCY_P99" ? "submit" : null,
  windowSeconds: 60,
  threshold,
  hysteresis: 0.1,
});

/** A promise with its resolve, to answer a statement when the test decides. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe("alert rules are evaluated independently", () => {
  it("a rule whose statement hangs delays neither a rule with SQL nor the queue-depth rule; it fires itself once its statement answers", async () => {
    const hung = deferred<unknown[]>();
    const calls: string[] = [];
    const sql = {
      query: async <R>(statement: SqlStatement, options?: { deadlineMs?: number }): Promise<R[]> => {
        calls.push(`${statement.name} ${options?.deadlineMs}`);
        if (statement.name === "alerts.latencyP99") return (await hung.promise) as R[];
        if (statement.name === "alerts.sandwichRate") return [{ n: 10n, s: 5n }] as R[];
        throw new Error(`unexpected statement ${statement.name}`);
      },
      stats: () => ({ statements: 0, failed: 0, byName: {} }),
    } satisfies SqlRunner;
    const stored: QueuedRow[] = [];
    const writer = {
      enqueue: (rows: readonly QueuedRow[]) => {
        stored.push(...rows);
        return { rows: rows.length, committed: Promise.resolve(0) };
      },
      stats: () => ({ queuedRows: 1_200, inFlightRows: 300 }),
    } as unknown as BatchWriter;
    const intervalMs = 100;
    const engine = createAlertEngine({
      sql,
      tables: { alert_events: "alert_events", latency_metrics: "latency_metrics", trades: "trades" } as TableNames,
      writer,
      instance: "test",
      rules: [
        rule("p99", "LATENCY_P99", 250),
        rule("sandwiched", "SANDWICH_RATE", 2),
        rule("queue", "QUEUE_DEPTH", 1_000),
      ],
      intervalMs,
      statementTimeoutMs: 60_000,
      log: pino({ level: "silent" }),
    });
    cleanups.push(() => engine.stop());
    const events: { event: AlertEvent; ms: number }[] = [];
    const started = performance.now();
    const twoFired = deferred<void>();
    const p99Fired = deferred<void>();
    engine.listen((event) => {
      events.push({ event, ms: performance.now() - started });
      if (events.length === 2) twoFired.resolve();
      if (event.ruleId === "p99") p99Fired.resolve();
    });

    await twoFired.promise;
    expect(events.map(({ event }) => [event.ruleId, event.state, event.value])).toEqual([
      ["sandwiched", "FIRING", 50],
      ["queue", "FIRING", 1_500],
    ]);
    // Both at their first turn, one interval after the start (timers may run a little late).
    for (const { ms } of events) expect(ms).toBeLessThan(intervalMs + 50);
    // Three more turns of the others while the p99 statement still hangs: it is not started again.
    await new Promise((done) => setTimeout(done, 3 * intervalMs + 20));
    expect(calls.filter((c) => c.startsWith("alerts.latencyP99"))).toEqual(["alerts.latencyP99 60000"]);
    expect(calls.filter((c) => c.startsWith("alerts.sandwichRate")).length).toBeGreaterThanOrEqual(4);
    expect(events).toHaveLength(2); // hysteresis: the firing rules raise nothing more

    hung.resolve([{ n: 3n, p99: 400_000 }]);
    await p99Fired.promise;
    expect(events.map(({ event }) => [event.ruleId, event.state, event.value])).toEqual([
      ["sandwiched", "FIRING", 50],
      ["queue", "FIRING", 1_500],
      ["p99", "FIRING", 400],
    ]);
    expect(events[2]?.event.message).toBe("p99 latency of submit is 400.00 (threshold 250): firing");
    expect(stored.map((row) => row.table)).toEqual(["alert_events", "alert_events", "alert_events"]);
    // Its own schedule goes on: it is evaluated again at its next turn.
    const before = calls.length;
    await new Promise((done) => setTimeout(done, 2 * intervalMs + 20));
    expect(calls.slice(before).filter((c) => c.startsWith("alerts.latencyP99")).length).toBeGreaterThanOrEqual(1);
  });
});

/**
 * A PGWire peer that answers the start-up (AuthenticationOk, ReadyForQuery) and then nothing, not
 * even a FIN after the client's: a QuestDB that froze after the connection was made.
 */
async function silentPgServer() {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", () => {
      const ok = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]); // 'R', length 8, AuthenticationOk
      const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z', length 5, idle
      socket.write(Buffer.concat([ok, ready]));
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as { port: number }).port;
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  );
  return { port };
}

/** A pool on the silent peer, and the client side of every socket it opened. */
function poolOn(port: number) {
  const pool = createPgPool({ host: "127.0.0.1", port, user: "admin", password: "quest", database: "qdb", max: 1 });
  const sockets: { closed: boolean }[] = [];
  pool.on("connect", (client) => {
    const socket = { closed: false };
    client.connection.stream.on("close", () => {
      socket.closed = true;
    });
    sockets.push(socket);
  });
  cleanups.push(() => pool.end());
  return { pool, sockets };
}

describe("client-side statement deadline", () => {
  it("a statement that gets no answer fails at its deadline and its connection is destroyed, not returned to the pool", async () => {
    const { pool, sockets } = poolOn((await silentPgServer()).port);
    const started = performance.now();
    const failure = await queryWithDeadline(pool, { text: "SELECT 1", values: [] }, 300).catch((e: unknown) => e);
    const ms = performance.now() - started;
    expect(failure).toBeInstanceOf(StatementDeadlineError);
    expect((failure as Error).message).toBe(
      "no answer from QuestDB within 300 ms (client-side timeout); the connection was closed",
    );
    expect(ms).toBeGreaterThanOrEqual(295);
    expect(ms).toBeLessThan(600);
    expect(pool.totalCount).toBe(0);
    // Its socket is closed although the peer never answers nor closes (no half-closed socket left).
    await new Promise((done) => setTimeout(done, 50));
    expect(sockets).toEqual([{ closed: true }]);
  });

  it("the wait for a connection counts: with the only connection held, a statement fails at its deadline and the connection handed over later goes back to the pool", async () => {
    const { pool } = poolOn((await silentPgServer()).port);
    const held = await pool.connect();
    const failure = await queryWithDeadline(pool, { text: "SELECT 1", values: [] }, 200).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StatementDeadlineError);
    expect(pool.waitingCount).toBe(1);
    held.release();
    // The late hand-over is released at once: the connection is idle again, not leaked.
    const deadline = Date.now() + 2_000;
    while (pool.idleCount !== 1 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 10));
    expect({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }).toEqual({
      total: 1,
      idle: 1,
      waiting: 0,
    });
  });
});
