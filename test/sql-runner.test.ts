// The SQL runner sends the statistics queries' statements to their pool and everything else
// (pages, links, the cache's probe) to the light pool; a pool with no free connection is a
// retryable OVERLOADED, not an unexpected error. Fake pools: the routing is all there is here;
// bench:overload measures the effect on the real server.
import type pg from "pg";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createSqlRunner } from "../src/analytics/sql.ts";

function fakePool(name: string, calls: string[], fail?: Error): pg.Pool {
  return {
    query: async () => {
      calls.push(name);
      if (fail) throw fail;
      return { rows: [], rowCount: 0 };
    },
  } as unknown as pg.Pool;
}

describe("the SQL runner", () => {
  it("routes statistics statements to the main pool and the rest to the light pool", async () => {
    const calls: string[] = [];
    const runner = createSqlRunner({
      pool: fakePool("main", calls),
      lightPool: fakePool("light", calls),
      log: pino({ level: "silent" }),
      timeoutMs: 1_000,
    });
    for (const name of [
      "tradeStats.buckets",
      "latencyStats.buckets.run",
      "mevEffectiveness.totals",
      "strategyPerformance.drawdown",
      "performanceByPeriod",
      "txn.probe",
      "trades",
      "trade.latencyMetrics",
      "trade.mev",
    ]) {
      await runner.query({ name, sql: "SELECT 1", params: [] });
    }
    expect(calls).toEqual(["main", "main", "main", "main", "main", "light", "light", "light", "light"]);
  });

  it("answers a pool with no free connection with OVERLOADED", async () => {
    const runner = createSqlRunner({
      pool: fakePool("main", [], new Error("timeout exceeded when trying to connect")),
      log: pino({ level: "silent" }),
      timeoutMs: 1_000,
    });
    await expect(runner.query({ name: "tradeStats.totals", sql: "SELECT 1", params: [] })).rejects.toMatchObject({
      message:
        "Every database connection is busy (PG_POOL_SIZE); the query tradeStats.totals was not started; retry after 1 s",
      extensions: { code: "OVERLOADED", retryable: true, retryAfterMs: 1_000, http: { status: 503 } },
    });
  });
});
