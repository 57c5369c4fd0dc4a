// tradeRecorded counts its late window only when a transaction since its last poll may have
// written behind the watermark (live/trade-stream.ts), as told by the time ranges the transaction
// checks read from wal_transactions() (live/txn-checks.ts). Against the real QuestDB: the ranges
// the checks report, and a stream driven with scripted knowledge of the transactions (what it
// skips and what it still finds). Through the API, with the ranges QuestDB records:
// test/live.test.ts ("streams every new matching trade once").
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqlRunner, type SqlStatement } from "../src/analytics/sql.ts";
import type { LiveQuery } from "../src/live/live-queries.ts";
import { createTradeStream, type TradeTxns } from "../src/live/trade-stream.ts";
import { createTxnChecks } from "../src/live/txn-checks.ts";
import { ensureTables, type TableNames, tableNames } from "../src/questdb/tables.ts";
import { createTxnWatch } from "../src/questdb/txn-watch.ts";
import { formatIsoMicros, nowMicros } from "../src/time.ts";
import { eventually, exec, testPool, uniquePrefix, walApplied } from "./support/questdb.ts";

const pool = testPool();
const runner = createSqlRunner({ pool, log: pino({ level: "silent" }), timeoutMs: 30_000 });
let names: TableNames;

beforeAll(async () => {
  names = tableNames(uniquePrefix("latecount"));
  await ensureTables(pool, { names, retentionDays: 0 });
});
afterAll(async () => {
  await pool.end();
});

/** Writes the trades in one INSERT (one WAL transaction) and waits until it is applied. */
async function insert(trades: readonly { id: string; us: bigint }[], token = "SOL"): Promise<void> {
  const values = trades.map(
    ({ id, us }) =>
      `('${formatIsoMicros(us)}', '${id}', 'BUY', '${token}', 'USDC', 1.0, 1.0, 1.0, 0, 0, 0.0, 0.0, 'UNKNOWN', 0.0, 'w')`,
  );
  await exec(
    `INSERT INTO ${names.trades} (timestamp, trade_id, action, base_token, quote_token, base_amount, quote_amount, ` +
      `executed_price, transaction_fee, priority_fee, expected_slippage, actual_slippage, mev_status, transfer_fees, writer) ` +
      `VALUES ${values.join(", ")}`,
  );
  await walApplied(names.trades);
}

async function applied(table: string): Promise<bigint> {
  const { dataset } = await exec(`SELECT writerTxn FROM wal_tables() WHERE name = '${table}'`);
  return BigInt(dataset[0]?.[0] as number);
}

/**
 * Transaction checks every 20 ms, following the trades table into a watcher of their own (loads
 * through `sql`); `seen(txn)` waits until a check whose pollers would have run saw `txn` applied.
 */
function followingChecks(sql: typeof runner) {
  let checked = -1n;
  const watch = createTxnWatch({ runner, idleProbeMs: 0 });
  const checks = createTxnChecks({
    sql,
    watch,
    log: pino({ level: "silent" }),
    intervalMs: 20,
    onChecked: () => {
      checked = checks.txn(names.trades);
    },
  });
  checks.follow([names.trades]);
  checks.ticking(true);
  const seen = (txn: bigint) => eventually(async () => (checked >= txn ? true : undefined), `check to see txn ${txn}`);
  return { watch, checks, seen };
}

describe("transaction checks: the time range of each new transaction", () => {
  it("report the earliest timestamp written since a transaction, none for no transaction, and unknown where they cannot tell", async () => {
    const { watch, checks, seen } = followingChecks(runner);
    try {
      await insert([{ id: "seed", us: nowMicros() }]);
      const before = await applied(names.trades);
      await seen(before);
      const t0 = nowMicros() + 10_000_000n;
      await insert([
        { id: "a1", us: t0 + 500n },
        { id: "a2", us: t0 + 900n },
      ]);
      await insert([{ id: "b", us: t0 - 3_000_000n }]);
      await insert([{ id: "c", us: t0 + 2_000n }]);
      const after = await applied(names.trades);
      expect(after).toBe(before + 3n);
      await seen(after);
      expect(checks.earliestWritten(names.trades, before, after)).toBe(t0 - 3_000_000n);
      expect(checks.earliestWritten(names.trades, before, before + 1n)).toBe(t0 + 500n);
      expect(checks.earliestWritten(names.trades, before + 2n, after)).toBe(t0 + 2_000n);
      expect(checks.earliestWritten(names.trades, after, after)).toBeUndefined();
      // Past what the checks have read, before what they followed, or a table not followed.
      expect(checks.earliestWritten(names.trades, before, after + 1n)).toBeNull();
      expect(checks.earliestWritten(names.trades, -5n, after)).toBeNull();
      expect(checks.earliestWritten(names.latency_metrics, -1n, 10n)).toBeNull();
      // One range log: the watcher (the query cache's) has the ranges the checks loaded, TTL
      // included, and its probe reads none of them again.
      const loads = watch.stats().rangeLoads;
      const snapshot = await watch.snapshot([names.trades]);
      expect(watch.stats().rangeLoads).toBe(loads);
      expect(snapshot.touched(names.trades, before, after)).toEqual([
        { from: t0 + 500n, to: t0 + 901n },
        { from: t0 - 3_000_000n, to: t0 - 3_000_000n + 1n },
        { from: t0 + 2_000n, to: t0 + 2_001n },
      ]);
      // An UPDATE writes no range QuestDB records: whatever it changed is unknown.
      await exec(`UPDATE ${names.trades} SET venue = 'x' WHERE trade_id = 'c'`);
      await walApplied(names.trades);
      const updated = await applied(names.trades);
      await seen(updated);
      expect(checks.earliestWritten(names.trades, after, updated)).toBeNull();
      expect(checks.counts().rangeLoads).toBeGreaterThan(0);
    } finally {
      checks.ticking(false);
    }
  });

  it("keep one entry per transaction when a check's load and a load up to an earlier transaction run side by side", async () => {
    // A check's range load held until released: loadUpTo asks for less while it is in flight.
    let hold: Promise<void> | undefined;
    let release = () => {};
    let held = 0;
    const gated = {
      ...runner,
      query: async <R>(statement: SqlStatement, options?: Parameters<typeof runner.query>[1]) => {
        if (hold && statement.name === "live.txnRanges") {
          held++;
          await hold;
        }
        return runner.query<R>(statement, options);
      },
    };
    const { watch, checks, seen } = followingChecks(gated);
    try {
      await insert([{ id: "race-seed", us: nowMicros() }]);
      const before = await applied(names.trades);
      await seen(before);
      // Two transactions the checks have not seen; then one check loads both, held.
      checks.ticking(false);
      const t0 = nowMicros() + 10_000_000n;
      await insert([{ id: "race-1", us: t0 + 1n }]);
      await insert([{ id: "race-2", us: t0 + 2n }]);
      const after = await applied(names.trades);
      expect(after).toBe(before + 2n);
      hold = new Promise((done) => {
        release = done;
      });
      checks.ticking(true);
      await eventually(async () => (held > 0 ? true : undefined), "a check's range load in flight");
      const upTo = checks.loadUpTo(names.trades, before + 1n);
      hold = undefined;
      release();
      await upTo;
      await seen(after);
      expect(checks.earliestWritten(names.trades, before, after)).toBe(t0 + 1n);
      expect(watch.written(names.trades, before, after)).toEqual([
        { from: t0 + 1n, to: t0 + 2n },
        { from: t0 + 2n, to: t0 + 3n },
      ]);
    } finally {
      hold = undefined;
      release();
      checks.ticking(false);
    }
  });
});

describe("tradeRecorded's poll with scripted transaction ranges (real QuestDB)", () => {
  it("reads the rows after the watermark alone when every new transaction wrote after it, and counts the late window otherwise", async () => {
    const sent: string[] = [];
    const query = (async (statement: SqlStatement) => {
      sent.push(statement.name);
      return runner.query(statement);
    }) as LiveQuery;
    const stream = createTradeStream({ query, table: names.trades, filter: { baseToken: "JUP" }, lateMs: 5_000 });
    const txns = (earliest: bigint | null | undefined): Promise<TradeTxns> =>
      applied(names.trades).then((txn) => ({ applied: txn, earliestWritten: () => earliest }));
    const poll = async (earliest: bigint | null | undefined) => {
      sent.length = 0;
      const page = await stream(await txns(earliest));
      return page.trades.map((trade) => trade.tradeId);
    };

    expect(await poll(null)).toEqual([]); // the first poll marks "now"
    const t0 = nowMicros() + 1_000_000n;
    await insert(
      [
        { id: "r2", us: t0 + 200n },
        { id: "r1", us: t0 + 100n },
      ],
      "JUP",
    );
    // Both rows after the watermark, as the ranges say: no count.
    expect(await poll(t0 + 100n)).toEqual(["r1", "r2"]);
    expect(sent).toEqual(["tradeRecorded.fresh"]);
    expect(stream.countsSkipped()).toBe(1);

    // A transaction that wrote at or before the watermark: counted, and its late row sent.
    await insert([{ id: "late1", us: t0 + 150n }], "JUP");
    expect(await poll(t0 + 150n)).toEqual(["late1"]);
    expect(sent).toEqual(["tradeRecorded.poll", "tradeRecorded.late"]);

    // Told (wrongly) that nothing was written: the count is skipped, and the late row not seen;
    // then unknown: counted, found and sent.
    await insert([{ id: "late2", us: t0 + 160n }], "JUP");
    expect(await poll(undefined)).toEqual([]);
    expect(sent).toEqual(["tradeRecorded.fresh"]);
    await insert([{ id: "late3", us: t0 + 170n }], "JUP");
    expect(await poll(null)).toEqual(["late2", "late3"]);
    expect(sent).toEqual(["tradeRecorded.poll", "tradeRecorded.late"]);

    // A row at the watermark's very timestamp may sort before it (a smaller trade id): counted.
    await insert([{ id: "r0", us: t0 + 200n }], "JUP");
    expect(await poll(t0 + 200n)).toEqual(["r0"]);
    expect(sent).toEqual(["tradeRecorded.poll", "tradeRecorded.late"]);
    // Later rows only: no count again; and without knowledge of the transactions, always a count.
    await insert([{ id: "r3", us: t0 + 300n }], "JUP");
    expect(await poll(t0 + 300n)).toEqual(["r3"]);
    expect(sent).toEqual(["tradeRecorded.fresh"]);
    await insert([{ id: "r4", us: t0 + 400n }], "JUP");
    sent.length = 0;
    expect((await stream()).trades.map((trade) => trade.tradeId)).toEqual(["r4"]);
    expect(sent).toEqual(["tradeRecorded.poll"]);
    expect(stream.countsSkipped()).toBe(3);

    // A transaction applied after the check (the poll is told of the one before) that holds a
    // late row beside newer rows: the poll's statement sees it, and its rows come in order, the
    // late one first, from one view (the poll again with the count), not the newer ones now and
    // it later.
    const checked = await applied(names.trades);
    await insert(
      [
        { id: "r6", us: t0 + 600n },
        { id: "late4", us: t0 + 350n },
        { id: "r5", us: t0 + 500n },
      ],
      "JUP",
    );
    sent.length = 0;
    const racing: TradeTxns = {
      applied: checked,
      earliestWritten: (_after, upto) => (upto <= checked ? undefined : t0 + 350n),
    };
    expect((await stream(racing)).trades.map((trade) => trade.tradeId)).toEqual(["late4", "r5", "r6"]);
    expect(sent).toEqual(["tradeRecorded.fresh", "tradeRecorded.poll", "tradeRecorded.late"]);
    // The same race with only newer rows: the first statement's rows stand.
    const checkedAgain = await applied(names.trades);
    await insert([{ id: "r7", us: t0 + 700n }], "JUP");
    sent.length = 0;
    const newer: TradeTxns = {
      applied: checkedAgain,
      earliestWritten: (_after, upto) => (upto <= checkedAgain ? undefined : t0 + 700n),
    };
    expect((await stream(newer)).trades.map((trade) => trade.tradeId)).toEqual(["r7"]);
    expect(sent).toEqual(["tradeRecorded.fresh"]);
    // …and when that newer transaction's range is not loaded yet, it is loaded, not the rows read again.
    const before = await applied(names.trades);
    await insert([{ id: "r8", us: t0 + 800n }], "JUP");
    sent.length = 0;
    let loaded = false;
    const unloaded: TradeTxns = {
      applied: before,
      earliestWritten: (_after, upto) => (upto <= before ? undefined : loaded ? t0 + 800n : null),
      loadUpTo: async () => {
        loaded = true;
      },
    };
    expect((await stream(unloaded)).trades.map((trade) => trade.tradeId)).toEqual(["r8"]);
    expect(loaded).toBe(true);
    expect(sent).toEqual(["tradeRecorded.fresh"]);
    expect(stream.countsSkipped()).toBe(5);
  });

  it("proves again, at the next poll, a transaction applied after the check that the rows' view may not hold", async () => {
    // The statement's view is taken when its rows' cursor opens, its transaction branch after:
    // a transaction applied in between is counted in the branch but its rows are not in the
    // view. Emulated by dropping that transaction's row from what the statement returns.
    let hidden: string | undefined;
    const query = (async (statement: SqlStatement) => {
      const rows = await runner.query<{ trade_id: string; part: number }>(statement);
      return statement.name === "tradeRecorded.fresh" ? rows.filter((r) => r.trade_id !== hidden) : rows;
    }) as LiveQuery;
    const stream = createTradeStream({ query, table: names.trades, filter: { baseToken: "RAY" }, lateMs: 5_000 });
    const earliest = new Map<bigint, bigint>();
    const txns = (upto: bigint): TradeTxns => ({
      applied: upto,
      earliestWritten: (after, last) => {
        let min: bigint | undefined;
        for (const [txn, us] of earliest) if (txn > after && txn <= last && (min === undefined || us < min)) min = us;
        return min;
      },
    });
    const write = async (id: string, us: bigint) => {
      await insert([{ id, us }], "RAY");
      const txn = await applied(names.trades);
      earliest.set(txn, us);
      return txn;
    };
    expect((await stream(txns(await applied(names.trades)))).trades).toEqual([]);
    const t2 = nowMicros() + 1_000_000n;
    const a = await write("c150", t2 + 150n);
    await write("c100", t2 + 100n);
    hidden = "c100";
    // The check saw `a`; the statement's branch sees the next one, whose row the view lacks.
    expect((await stream(txns(a))).trades.map((trade) => trade.tradeId)).toEqual(["c150"]);
    hidden = undefined;
    const z = await write("c200", t2 + 200n);
    const ids = (await stream(txns(z))).trades.map((trade) => trade.tradeId);
    // c100 is late (behind c150, streamed first), but comes before the newer c200.
    expect(ids).toEqual(["c100", "c200"]);
  });

  it("sends every late row of such a transaction, more than a page of them, in order", async () => {
    const query = ((statement: SqlStatement) => runner.query(statement)) as LiveQuery;
    const stream = createTradeStream({
      query,
      table: names.trades,
      filter: { baseToken: "BONK" },
      lateMs: 5_000,
      maxRows: 3,
    });
    const known = async (): Promise<TradeTxns> => ({
      applied: await applied(names.trades),
      earliestWritten: () => null,
    });
    expect((await stream(await known())).trades).toEqual([]);
    const t1 = nowMicros() + 1_000_000n;
    await insert(
      [
        { id: "b1", us: t1 + 100n },
        { id: "b2", us: t1 + 200n },
      ],
      "BONK",
    );
    expect((await stream(await known())).trades.map((trade) => trade.tradeId)).toEqual(["b1", "b2"]);
    const checked = await applied(names.trades);
    const late = [1, 2, 3, 4, 5].map((i) => ({ id: `l${i}`, us: t1 + BigInt(i * 10) }));
    await insert([{ id: "b4", us: t1 + 400n }, ...late, { id: "b3", us: t1 + 300n }], "BONK");
    const racing: TradeTxns = {
      applied: checked,
      earliestWritten: (after, upto) => (upto <= checked ? undefined : after < upto ? t1 + 10n : undefined),
    };
    const got: string[] = [];
    let page = await stream(racing);
    got.push(...page.trades.map((trade) => trade.tradeId));
    while (page.more) {
      page = await stream(await known());
      got.push(...page.trades.map((trade) => trade.tradeId));
    }
    expect(got).toEqual(["l1", "l2", "l3", "l4", "l5", "b3", "b4"]);
  });
});
