// Start-up migration of tables made by the version before writers: the `writer` column is added,
// the DEDUP keys re-declared with it, old rows stay readable (writer null), and a second start
// changes nothing.
import { Writable } from "node:stream";
import type pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTables, SchemaConflictError, tableNames } from "../src/questdb/tables.ts";
import { VIEWS, viewNames } from "../src/questdb/views.ts";
import { RecordTradeDocument, TradesByWriterDocument } from "./generated/graphql.ts";
import { executeAs, startTestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { exec, startAgain, testPool, uniquePrefix, viewsCaughtUp, walApplied } from "./support/questdb.ts";

// The DDL of the previous version, written out (not derived from src/).
const OLD_DDL = {
  trades:
    "(timestamp TIMESTAMP, trade_id VARCHAR, signature VARCHAR, action SYMBOL, base_token SYMBOL, quote_token SYMBOL, " +
    "base_amount DOUBLE, quote_amount DOUBLE, executed_price DOUBLE, transaction_fee LONG, priority_fee LONG, " +
    "expected_slippage DOUBLE, actual_slippage DOUBLE, mev_status SYMBOL, transfer_fees DOUBLE, strategy SYMBOL, " +
    "venue SYMBOL, slot LONG, realized_pnl DOUBLE) TIMESTAMP(timestamp) PARTITION BY DAY TTL 30 DAYS WAL " +
    "DEDUP UPSERT KEYS(timestamp, trade_id)",
  latency_metrics:
    "(timestamp TIMESTAMP, metric_id VARCHAR, stage SYMBOL, latency_us LONG, success BOOLEAN, strategy SYMBOL, " +
    "trade_id VARCHAR) TIMESTAMP(timestamp) PARTITION BY DAY TTL 30 DAYS WAL DEDUP UPSERT KEYS(timestamp, metric_id)",
  mev_metrics:
    "(timestamp TIMESTAMP, metric_id VARCHAR, trade_id VARCHAR, protection SYMBOL, outcome SYMBOL, tip_lamports LONG, " +
    "expected_profit DOUBLE, realized_profit DOUBLE, loss_avoided DOUBLE, attack_detected BOOLEAN, slots_to_land INT, " +
    "strategy SYMBOL) TIMESTAMP(timestamp) PARTITION BY DAY TTL 30 DAYS WAL DEDUP UPSERT KEYS(timestamp, metric_id)",
};
const KEYS = { trades: "trade_id", latency_metrics: "metric_id", mev_metrics: "metric_id" };
type Migrated = keyof typeof OLD_DDL;
const MIGRATED = Object.keys(OLD_DDL) as Migrated[];

let pool: pg.Pool;
beforeAll(() => {
  pool = testPool();
});
afterAll(async () => {
  await pool.end();
});

async function columns(table: string) {
  return (await exec(`SELECT "column", type, upsertKey FROM table_columns('${table}')`)).dataset as [
    string,
    string,
    boolean,
  ][];
}

/** An app logger that keeps the messages of the tables component (each change start-up makes). */
function tableLog() {
  const changes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        const entry = JSON.parse(line) as { component?: string; msg: string };
        if (entry.component === "tables") changes.push(entry.msg);
      }
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), changes };
}

describe("start-up migration to writers", () => {
  it("adds writer to the tables of the previous version, re-declares their keys, and keeps old rows readable", async () => {
    const prefix = uniquePrefix("migrate");
    const names = tableNames(prefix);
    const at = new Date(Date.now() - 3_600_000).toISOString().replace("Z", "123Z");
    for (const table of MIGRATED) await pool.query(`CREATE TABLE ${names[table]} ${OLD_DDL[table]}`);
    await pool.query(
      `INSERT INTO ${names.trades} (timestamp, trade_id, action, base_token, quote_token, base_amount, quote_amount, ` +
        "executed_price, transaction_fee, priority_fee, expected_slippage, actual_slippage, mev_status, transfer_fees, realized_pnl) " +
        "VALUES ($1, 'old-1', 'BUY', 'SOL', 'USDC', 1, 200, 200, 5000, 100, 0.01, 0.001, 'PROTECTED', 0, 4.5)",
      [at],
    );
    await pool.query(
      `INSERT INTO ${names.latency_metrics} (timestamp, metric_id, stage, latency_us, success, trade_id) VALUES ($1, 'old-1:quote', 'quote', 120, true, 'old-1')`,
      [at],
    );
    await pool.query(
      `INSERT INTO ${names.mev_metrics} (timestamp, metric_id, trade_id, protection, outcome, tip_lamports, attack_detected) VALUES ($1, 'old-1', 'old-1', 'JITO_BUNDLE', 'LANDED', 700, false)`,
      [at],
    );
    for (const table of MIGRATED) await walApplied(names[table]);

    const { log, changes } = tableLog();
    const t = await startTestApp("migrate", { QUESTDB_TABLE_PREFIX: prefix }, { log });
    expect(changes).toEqual([
      `created table ${names.system_metrics}`,
      `created table ${names.alert_events}`,
      `created table ${names.alert_rules}`,
      `created table ${names.api_instances}`,
      `created table ${names.drawdown_hours}`,
      `ALTER TABLE ${names.trades} ADD COLUMN IF NOT EXISTS writer SYMBOL`,
      `ALTER TABLE ${names.trades} DEDUP ENABLE UPSERT KEYS(timestamp, trade_id, writer)`,
      `ALTER TABLE ${names.latency_metrics} ADD COLUMN IF NOT EXISTS writer SYMBOL`,
      `ALTER TABLE ${names.latency_metrics} DEDUP ENABLE UPSERT KEYS(timestamp, metric_id, writer)`,
      `ALTER TABLE ${names.mev_metrics} ADD COLUMN IF NOT EXISTS writer SYMBOL`,
      // Issue 16's MEV columns, added to a table of an older version like writer.
      `ALTER TABLE ${names.mev_metrics} ADD COLUMN IF NOT EXISTS venue SYMBOL`,
      `ALTER TABLE ${names.mev_metrics} ADD COLUMN IF NOT EXISTS base_token SYMBOL`,
      `ALTER TABLE ${names.mev_metrics} ADD COLUMN IF NOT EXISTS quote_token SYMBOL`,
      `ALTER TABLE ${names.mev_metrics} ADD COLUMN IF NOT EXISTS tip_floor_lamports LONG`,
      `ALTER TABLE ${names.mev_metrics} ADD COLUMN IF NOT EXISTS compute_units INT`,
      `ALTER TABLE ${names.mev_metrics} DEDUP ENABLE UPSERT KEYS(timestamp, metric_id, writer)`,
      // After the tables: the views read the migrated tables.
      ...VIEWS.map((spec) => `created materialized view ${viewNames(prefix)[spec.key]}`),
    ]);
    for (const table of MIGRATED) {
      const actual = await columns(names[table]);
      expect(actual.find(([name]) => name === "writer")).toEqual(["writer", "SYMBOL", true]);
      expect(
        actual
          .filter(([, , key]) => key)
          .map(([name]) => name)
          .sort(),
      ).toEqual(["timestamp", KEYS[table], "writer"].sort());
      const dedup = await exec(`SELECT dedup FROM tables() WHERE table_name = '${names[table]}'`);
      expect(dedup.dataset).toEqual([[true]]);
    }

    // The old rows: no writer, values as they were, linked to each other.
    const old = {
      timestamp: at,
      tradeId: "old-1",
      writer: null,
      realizedPnl: 4.5,
      latencyMetrics: [{ metricId: "old-1:quote", stage: "quote", latencyUs: "120", tradeId: "old-1", writer: null }],
      mev: { metricId: "old-1", tradeId: "old-1", tipLamports: "700", writer: null },
    };
    const read = async () => {
      const result = await t.gql(TradesByWriterDocument, { filter: { tradeId: "old-1" } });
      expect(result.errors).toBeUndefined();
      return result.data?.trades.edges.map((e) => e.node);
    };
    expect(await read()).toEqual([old]);

    // A key sending the same timestamp and tradeId now gets a row of its own beside the old one.
    const recorded = await executeAs(t.app, "bot-a", RecordTradeDocument, {
      input: { ...makeTrade("old-1", at), realizedPnl: 9 },
      durability: "COMMITTED",
    });
    expect(recorded.errors).toBeUndefined();
    await walApplied(names.trades);
    expect(await read()).toEqual([
      { timestamp: at, tradeId: "old-1", writer: "bot-a", realizedPnl: 9, latencyMetrics: [], mev: null },
      old,
    ]);

    // A second start changes nothing (once the views have applied the new row).
    await viewsCaughtUp(prefix);
    const again = await startAgain(pool, names, prefix);
    expect(again.changes).toEqual([]);
    expect(again.after).toEqual(again.before);
  });

  it("refuses to start when an existing writer column has another type, naming table and column", async () => {
    const names = tableNames(uniquePrefix("writertype"));
    await pool.query(
      `CREATE TABLE ${names.trades} ${OLD_DDL.trades.replace("realized_pnl DOUBLE)", "realized_pnl DOUBLE, writer VARCHAR)")}`,
    );
    const error = await ensureTables(pool, { names, retentionDays: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaConflictError);
    expect((error as SchemaConflictError).conflicts).toEqual([
      `${names.trades}.writer: type is VARCHAR, expected SYMBOL`,
    ]);
    // Nothing was changed: the old keys are still there.
    const keys = (await columns(names.trades)).filter(([, , key]) => key).map(([name]) => name);
    expect(keys.sort()).toEqual(["timestamp", "trade_id"]);
  });
});
