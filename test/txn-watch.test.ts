// The transaction watcher against the real QuestDB: what wal_tables(), materialized_views() and
// wal_transactions() report on 9.3.4 with cairo.default.sequencer.part.txn.count set (as
// local-server.ts does), and the wait for the WAL apply of a commit acknowledged over ILP.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { hoursWithin } from "../src/analytics/rollup-coverage.ts";
import { createSqlRunner, type SqlRunner } from "../src/analytics/sql.ts";
import { createTxnWatch } from "../src/questdb/txn-watch.ts";
import { exec, testPool, uniquePrefix, viewsCaughtUp, walApplied } from "./support/questdb.ts";

const pool = testPool();
const runner = createSqlRunner({ pool, log: pino({ level: "silent" }), timeoutMs: 10_000 });
const prefix = uniquePrefix("txnwatch");
const table = `${prefix}t`;
const view = `${prefix}t_1h`;
const H = 3_600_000_000n;
const base = 1_700_000_000_000_000n - (1_700_000_000_000_000n % H);
const iso = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString();

beforeAll(async () => {
  await exec(
    `CREATE TABLE ${table} (ts TIMESTAMP, k SYMBOL, v DOUBLE) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, k)`,
  );
  await exec(`INSERT INTO ${table} VALUES ('${iso(base + H)}', 'a', 1)`);
  await exec(
    `CREATE MATERIALIZED VIEW ${view} AS (SELECT ts, k, sum(v) v FROM ${table} SAMPLE BY 1h) PARTITION BY DAY`,
  );
  await walApplied(table);
});
afterAll(() => pool.end());

/** Writes one ILP row and returns once QuestDB answered 204 (committed to the WAL, maybe not applied). */
async function ilp(micros: bigint, k: string, v: number) {
  const { httpPort } = inject("questdb");
  const response = await fetch(`http://127.0.0.1:${httpPort}/write?precision=u`, {
    method: "POST",
    body: `${table},k=${k} v=${v} ${micros}\n`,
  });
  expect(response.status).toBe(204);
}

describe("the transaction watcher", () => {
  it("reads each table's applied and committed transactions and each view's refresh state in one probe", async () => {
    const watch = createTxnWatch({ runner });
    const snapshot = await watch.snapshot([table]);
    const txn = snapshot.tables.get(table);
    expect(txn?.writerTxn).toBe(txn?.sequencerTxn);
    expect(txn?.writerTxn).toBeGreaterThanOrEqual(1n);
    await eventuallyRefreshed(watch, txn?.writerTxn as bigint);
    expect(runner.stats().byName["txn.probe"]).toBeGreaterThan(0);
  });

  it("reads materialized_views() again only when a view it needs has moved since", async () => {
    await walApplied(table);
    await viewsCaughtUp(prefix); // the view's own table stays still until the next write
    // A long "moving" window: the last step does not depend on how fast this machine is.
    const watch = createTxnWatch({ runner, idleProbeMs: 0, viewMovingMs: 600_000 });
    const first = await watch.snapshot([table], [view]);
    expect(first.views.get(view)?.baseTable).toBe(table);
    expect(watch.stats().viewProbes).toBe(1);
    // Nothing written: the tables alone are probed; the view's state is the one read before.
    const { probes } = watch.stats();
    const quiet = await watch.snapshot([table], [view]);
    expect(watch.stats()).toMatchObject({ probes: probes + 1, viewProbes: 1 });
    expect(quiet.views.get(view)).toEqual(first.views.get(view));
    // A write, refreshed into the view while this watcher looked away (another one waits for it):
    // its next probe reads the tables alone (the view was quiet), sees the view's own table moved,
    // and reads the view's state again.
    await ilp(base + 3n * H, "q", 1);
    const other = createTxnWatch({ runner, idleProbeMs: 0 });
    const written = (await other.snapshot([table])).tables.get(table)?.writerTxn as bigint;
    expect(written).toBeGreaterThan(first.tables.get(table)?.writerTxn as bigint);
    await eventuallyRefreshed(other, written);
    const moved = await watch.snapshot([table], [view]);
    expect(moved.views.get(view)?.baseTxn).toBeGreaterThanOrEqual(written);
    expect(watch.stats()).toMatchObject({ probes: probes + 3, viewProbes: 2 });
    // Now moving: the next probe reads the views at once.
    await watch.snapshot([table], [view]);
    expect(watch.stats()).toMatchObject({ probes: probes + 4, viewProbes: 3 });
  });

  it("knows the time range each new transaction wrote, and none for an UPDATE", async () => {
    const watch = createTxnWatch({ runner });
    const first = await watch.snapshot([table]);
    const from = first.tables.get(table)?.writerTxn as bigint;
    await ilp(base + 5n * H + 7n, "b", 2);
    await ilp(base + 2n * H, "a", 3);
    const second = await watch.snapshot([table]);
    const to = second.tables.get(table)?.writerTxn as bigint;
    expect(to).toBe(from + 2n);
    expect(second.touched(table, from, to)).toEqual([
      { from: base + 5n * H + 7n, to: base + 5n * H + 8n },
      { from: base + 2n * H, to: base + 2n * H + 1n },
    ]);
    expect(second.touched(table, from - 1n, to)).toBeNull(); // before the log began

    await exec(`UPDATE ${table} SET v = 9 WHERE k = 'b'`);
    const third = await watch.snapshot([table]);
    expect(third.touched(table, to, third.tables.get(table)?.writerTxn as bigint)).toBeNull();
  });

  it("retries a failed range load twice before its transactions count as unknown, and counts why", async () => {
    let failures = 0;
    const flaky: SqlRunner = {
      ...runner,
      query: (statement, ...rest) => {
        if (statement.name === "txn.ranges" && failures > 0) {
          failures--;
          return Promise.reject(new Error("connection terminated"));
        }
        return runner.query(statement, ...rest);
      },
    };
    const watch = createTxnWatch({ runner: flaky });
    const first = await watch.snapshot([table]);
    const from = first.tables.get(table)?.writerTxn as bigint;
    // Two failures: the third try loads the range.
    failures = 2;
    await ilp(base + 6n * H, "d", 1);
    const second = await watch.snapshot([table]);
    const to = second.tables.get(table)?.writerTxn as bigint;
    expect(second.touched(table, from, to)).toEqual([{ from: base + 6n * H, to: base + 6n * H + 1n }]);
    expect(watch.stats().unknown).toEqual({ noRange: 0, noRetention: 0, loadFailed: 0, tooMany: 0, purged: 0 });
    // Three: unknown, and counted as such.
    failures = 3;
    await ilp(base + 6n * H + 1n, "d", 2);
    const third = await watch.snapshot([table]);
    expect(third.touched(table, to, third.tables.get(table)?.writerTxn as bigint)).toBeNull();
    expect(watch.stats().unknown).toEqual({ noRange: 0, noRetention: 0, loadFailed: 1, tooMany: 0, purged: 0 });
    await exec(`UPDATE ${table} SET v = 8 WHERE k = 'd'`);
    await watch.snapshot([table]);
    expect(watch.stats().unknown.noRange).toBe(1);
    expect(watch.stats().unknownByTable).toEqual({ [table]: 2 });
  });

  it("waits for the WAL apply: a row acknowledged over ILP is visible to a read made after the snapshot", async () => {
    const watch = createTxnWatch({ runner });
    for (let i = 0; i < 5; i++) {
      await ilp(base + 3n * H + BigInt(i), "c", i);
      await watch.snapshot([table]);
      const rows = await runner.query<{ n: string }>({
        name: "test.count",
        sql: `SELECT count() n FROM ${table} WHERE k = 'c'`,
        params: [],
      });
      expect(Number(rows[0]?.n)).toBe(i + 1);
    }
  });

  it("lists the hours a view's own transactions wrote: those an incremental refresh replaced, every hour for a full refresh", async () => {
    const watch = createTxnWatch({ runner });
    const own = async () => {
      await viewsCaughtUp(prefix);
      const rows = await runner.query<{ txn: string }>({
        name: "test.viewTxn",
        sql: `SELECT sequencerTxn txn FROM wal_tables() WHERE name = '${view}'`,
        params: [],
      });
      return BigInt(rows[0]?.txn as string);
    };
    const hourOf = (micros: bigint) => [{ from: micros, to: micros + 1n }];
    // The UPDATE above left the view invalid: made valid again first.
    await exec(`REFRESH MATERIALIZED VIEW ${view} FULL`);
    const start = await own();
    // A late row into an old hour: the view replaces that hour alone.
    await ilp(base + 7n * H + 5n, "d", 4);
    const afterLate = await own();
    const late = (await watch.viewWrites(view, start, afterLate)) ?? [];
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((span) => hoursWithin(span, hourOf(base + 7n * H)))).toBe(true);
    // A full refresh truncates the view and writes every hour again: it reaches the first hour.
    await exec(`REFRESH MATERIALIZED VIEW ${view} FULL`);
    const afterFull = await eventuallyMoved(own, afterLate);
    const full = (await watch.viewWrites(view, afterLate, afterFull)) ?? [];
    expect(full.some((span) => span.from <= base + H && span.to > base + H)).toBe(true);
    expect(full.every((span) => hoursWithin(span, hourOf(base + 7n * H)))).toBe(false);
    // Read once: the same question again runs no statement.
    const loads = watch.stats().rangeLoads;
    expect(await watch.viewWrites(view, start, afterFull)).toEqual([...late, ...full]);
    expect(watch.stats().rangeLoads).toBe(loads);
    // More than the watch loads at once is unknown.
    const small = createTxnWatch({ runner, viewMaxLoad: 1 });
    expect(await small.viewWrites(view, start, afterFull)).toBeNull();
  });
});

async function eventuallyMoved(own: () => Promise<bigint>, after: bigint): Promise<bigint> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const txn = await own();
    if (txn > after) return txn;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the view committed nothing");
}

async function eventuallyRefreshed(watch: ReturnType<typeof createTxnWatch>, baseTxn: bigint) {
  // What is checked is the state once the view has refreshed, not how fast: QuestDB refreshes the
  // views of every test file's tables in one queue, which under the whole suite's writes once
  // took more than 15 s to reach this one (a CI run of 2026-11-30, 23:20).
  for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
    const state = (await watch.snapshot(undefined, [view])).views.get(view);
    if (state && state.baseTxn >= baseTxn) {
      expect(state).toEqual({ name: view, baseTable: table, baseTxn: state.baseTxn, valid: true, periodHi: null });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${view} did not refresh up to ${baseTxn}`);
}
