import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pnlViewName } from "../src/questdb/pnl-view.ts";
import { ensureTables, SchemaConflictError, TABLES, tableNames } from "../src/questdb/tables.ts";
import { ensureViews, VIEWS, viewNames } from "../src/questdb/views.ts";
import { exec, startAgain, testPool, uniquePrefix, walApplied } from "./support/questdb.ts";

// Written out here, from the issue and DESIGN.md, rather than imported from src/.
const EXPECTED: Record<string, [string, string][]> = {
  trades: [
    ["timestamp", "TIMESTAMP"],
    ["trade_id", "VARCHAR"],
    ["signature", "VARCHAR"],
    ["action", "SYMBOL"],
    ["base_token", "SYMBOL"],
    ["quote_token", "SYMBOL"],
    ["base_amount", "DOUBLE"],
    ["quote_amount", "DOUBLE"],
    ["executed_price", "DOUBLE"],
    ["transaction_fee", "LONG"],
    ["priority_fee", "LONG"],
    ["expected_slippage", "DOUBLE"],
    ["actual_slippage", "DOUBLE"],
    ["mev_status", "SYMBOL"],
    ["transfer_fees", "DOUBLE"],
    ["strategy", "SYMBOL"],
    ["venue", "SYMBOL"],
    ["slot", "LONG"],
    ["realized_pnl", "DOUBLE"],
    ["writer", "SYMBOL"],
  ],
  latency_metrics: [
    ["timestamp", "TIMESTAMP"],
    ["metric_id", "VARCHAR"],
    ["stage", "SYMBOL"],
    ["latency_us", "LONG"],
    ["success", "BOOLEAN"],
    ["strategy", "SYMBOL"],
    ["trade_id", "VARCHAR"],
    ["writer", "SYMBOL"],
  ],
  mev_metrics: [
    ["timestamp", "TIMESTAMP"],
    ["metric_id", "VARCHAR"],
    ["trade_id", "VARCHAR"],
    ["protection", "SYMBOL"],
    ["outcome", "SYMBOL"],
    ["tip_lamports", "LONG"],
    ["expected_profit", "DOUBLE"],
    ["realized_profit", "DOUBLE"],
    ["loss_avoided", "DOUBLE"],
    ["attack_detected", "BOOLEAN"],
    ["slots_to_land", "INT"],
    ["strategy", "SYMBOL"],
    ["writer", "SYMBOL"],
    ["venue", "SYMBOL"],
    ["base_token", "SYMBOL"],
    ["quote_token", "SYMBOL"],
    ["tip_floor_lamports", "LONG"],
    ["compute_units", "INT"],
  ],
  drawdown_hours: [
    ["timestamp", "TIMESTAMP"],
    ["scope", "SYMBOL"],
    ["strategy", "SYMBOL"],
    ["base_token", "SYMBOL"],
    ["quote_token", "SYMBOL"],
    ["fingerprint", "VARCHAR"],
    ["n", "LONG"],
    ["total", "DOUBLE"],
    ["top", "DOUBLE"],
    ["top_at", "TIMESTAMP"],
    ["low", "DOUBLE"],
    ["low_n", "LONG"],
    ["low_at", "TIMESTAMP"],
    ["low_high", "DOUBLE"],
    ["low_high_at", "TIMESTAMP"],
    ["low_after", "DOUBLE"],
    ["max_drop", "DOUBLE"],
    ["drop_n", "LONG"],
    ["drop_at", "TIMESTAMP"],
    ["drop_high", "DOUBLE"],
    ["drop_high_at", "TIMESTAMP"],
    ["drop_after", "DOUBLE"],
  ],
};
// The writer (the API key's name) is part of each row's identity: one key never replaces another's row.
const DEDUP_KEYS: Record<string, string[]> = {
  trades: ["timestamp", "trade_id", "writer"],
  latency_metrics: ["timestamp", "metric_id", "writer"],
  mev_metrics: ["timestamp", "metric_id", "writer"],
  // The drawdown's hour summaries: one per hour, scope and group (the last computed wins).
  drawdown_hours: ["timestamp", "scope", "strategy", "base_token", "quote_token"],
};

let pool: pg.Pool;
beforeAll(() => {
  pool = testPool();
});
afterAll(async () => {
  await pool.end();
});

async function describeTable(name: string) {
  const table = await exec(
    `SELECT designatedTimestamp, partitionBy, walEnabled, dedup, ttlValue, ttlUnit FROM tables() WHERE table_name = '${name}'`,
  );
  const columns = await exec(`SELECT "column", type, designated, upsertKey FROM table_columns('${name}')`);
  return { table: table.dataset[0], columns: columns.dataset as [string, string, boolean, boolean][] };
}

describe("tables created at start-up", () => {
  it("have exactly the specified columns, types, designated timestamp, DAY partitions, WAL, 30-day TTL and dedup keys", async () => {
    const names = tableNames(uniquePrefix("create"));
    await ensureTables(pool, { names, retentionDays: 30 });
    for (const [logical, columns] of Object.entries(EXPECTED)) {
      const physical = names[logical as keyof typeof names];
      const { table, columns: actual } = await describeTable(physical);
      expect(table).toEqual(["timestamp", "DAY", true, true, 30, "DAY"]);
      expect(actual.map(([name, type]) => [name, type])).toEqual(columns);
      expect(actual.filter((c) => c[2]).map((c) => c[0])).toEqual(["timestamp"]);
      expect(
        actual
          .filter((c) => c[3])
          .map((c) => c[0])
          .sort(),
      ).toEqual(DEDUP_KEYS[logical]?.sort());
    }
  });

  it("a second start changes nothing", async () => {
    const names = tableNames(uniquePrefix("twice"));
    const first: string[] = [];
    await ensureTables(pool, { names, retentionDays: 30, onChange: (m) => first.push(m) });
    expect(first).toEqual(TABLES.map((spec) => `created table ${names[spec.name]}`));
    const second = await startAgain(pool, names, names.trades);
    expect(second.changes).toEqual([]);
    expect(second.after).toEqual(second.before);
  });

  it("creates the views after the tables with their TTL (the drawdown's PnL view too), and a second start changes nothing", async () => {
    const prefix = uniquePrefix("pnlview");
    const names = tableNames(prefix);
    const views = viewNames(prefix);
    const view = pnlViewName(prefix);
    await ensureTables(pool, { names, retentionDays: 30 });
    const changes: string[] = [];
    const options = { tables: names, views, retentionDays: 30, onChange: (m: string) => changes.push(m) };
    await ensureViews(pool, options);
    await ensureViews(pool, options);
    expect(changes).toEqual(VIEWS.map((spec) => `created materialized view ${views[spec.key]}`));
    const { dataset } = await exec(
      `SELECT base_table_name, refresh_type, period_length_unit FROM materialized_views() WHERE view_name = '${view}'`,
    );
    // A period view: an hour is aggregated once it is over, not again at every commit into it.
    expect(dataset).toEqual([[names.trades, "immediate", "HOUR"]]);
    const ttl = await exec(`SELECT partitionBy, ttlValue, ttlUnit FROM tables() WHERE table_name = '${view}'`);
    expect(ttl.dataset).toEqual([["DAY", 30, "DAY"]]);
  });

  it("adds a missing column to an existing table", async () => {
    const names = tableNames(uniquePrefix("missing"));
    await ensureTables(pool, { names, retentionDays: 30 });
    await pool.query(`ALTER TABLE ${names.trades} DROP COLUMN realized_pnl`);
    await walApplied(names.trades);
    const changes: string[] = [];
    await ensureTables(pool, { names, retentionDays: 30, onChange: (m) => changes.push(m) });
    expect(changes).toEqual([`ALTER TABLE ${names.trades} ADD COLUMN IF NOT EXISTS realized_pnl DOUBLE`]);
    const { columns } = await describeTable(names.trades);
    expect(columns.find((c) => c[0] === "realized_pnl")?.[1]).toBe("DOUBLE");
  });

  it("refuses to start on a type conflict, naming the table and column, and changes nothing", async () => {
    const names = tableNames(uniquePrefix("conflict"));
    await pool.query(
      `CREATE TABLE ${names.trades} (timestamp TIMESTAMP, trade_id VARCHAR, base_amount LONG) TIMESTAMP(timestamp) PARTITION BY DAY WAL`,
    );
    const error = await ensureTables(pool, { names, retentionDays: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaConflictError);
    expect((error as SchemaConflictError).conflicts).toEqual([
      `${names.trades}.base_amount: type is LONG, expected DOUBLE`,
    ]);
    expect((error as Error).message).toContain(`${names.trades}.base_amount: type is LONG, expected DOUBLE`);
    const { columns } = await describeTable(names.trades);
    expect(columns.map((c) => c[0])).toEqual(["timestamp", "trade_id", "base_amount"]);
  });

  it("follows the configured retention: a changed RETENTION_DAYS updates the TTL of existing tables", async () => {
    const names = tableNames(uniquePrefix("ttl"));
    await ensureTables(pool, { names, retentionDays: 30 });
    await ensureTables(pool, { names, retentionDays: 7 });
    expect((await describeTable(names.trades)).table?.slice(4)).toEqual([1, "WEEK"]);
    await ensureTables(pool, { names, retentionDays: 45 });
    expect((await describeTable(names.trades)).table?.slice(4)).toEqual([45, "DAY"]);
    // Alert rules are configuration: no TTL, whatever RETENTION_DAYS says; the heartbeats follow it.
    expect((await describeTable(names.alert_rules)).table?.[4]).toBe(0);
    expect((await describeTable(names.api_instances)).table?.slice(4)).toEqual([45, "DAY"]);
  });
});

describe("retention", () => {
  const DAY = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();

  async function retentionCase(retentionDays: number, ageDaysKept: number, ageDaysDropped: number) {
    const names = tableNames(uniquePrefix(`ret${retentionDays}`));
    await ensureTables(pool, { names, retentionDays });
    const t = names.latency_metrics;
    const newest = Date.UTC(2026, 5, 15, 12);
    const insert = (ms: number, id: string) =>
      pool.query(`INSERT INTO ${t} (timestamp, metric_id, stage, latency_us) VALUES ($1, $2, 'e2e', 1)`, [iso(ms), id]);
    await insert(newest - ageDaysDropped * DAY, "old");
    await insert(newest - ageDaysKept * DAY, "inside");
    await walApplied(t);
    // Before newer data arrives, nothing is old relative to the newest row.
    expect((await exec(`SELECT metric_id FROM ${t} ORDER BY timestamp`)).dataset).toEqual([["old"], ["inside"]]);
    await insert(newest, "newest");
    await walApplied(t);
    return (await exec(`SELECT metric_id FROM ${t} ORDER BY timestamp`)).dataset;
  }

  it("drops rows more than 30 days older than the newest data after the next commit and keeps the rest", async () => {
    expect(await retentionCase(30, 29, 32)).toEqual([["inside"], ["newest"]]);
  });

  it("follows the configured number of days", async () => {
    expect(await retentionCase(3, 2, 5)).toEqual([["inside"], ["newest"]]);
  });
});
