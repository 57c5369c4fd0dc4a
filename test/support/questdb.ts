// Helpers for tests that talk to the shared QuestDB server.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { inject } from "vitest";
import type { Config, QuestDbAddress } from "../../src/config.ts";
import { loadConfig } from "../../src/config.ts";
import { localAddress } from "../../src/questdb/embedded.ts";
import { createPgPool } from "../../src/questdb/pg-pool.ts";
import { ensureTables, type TableNames } from "../../src/questdb/tables.ts";

export function questdbAddress(): QuestDbAddress {
  const { httpPort, pgPort } = inject("questdb");
  return localAddress(httpPort, pgPort);
}

/** A table prefix no other test uses, so files can share one server. */
export function uniquePrefix(label: string): string {
  return `t${label.replace(/[^a-z0-9]/g, "").slice(0, 12)}_${randomBytes(3).toString("hex")}_`;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  const { httpPort, pgPort } = inject("questdb");
  return loadConfig({
    QUESTDB_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    QUESTDB_PG_ADDR: `127.0.0.1:${pgPort}`,
    LOG_LEVEL: "silent",
    PORT: "0",
    // A worker thread per app would cost each test file seconds of CPU: the tests that exercise
    // the workers (write-workers, overload) ask for them.
    WRITE_WORKERS: "0",
    ANALYTICS_WORKERS: "0",
    // Each app its own spool: two apps must not share one (the second would refuse to start).
    SPOOL_DIR: mkdtempSync(join(tmpdir(), "spool-")),
    ...overrides,
  });
}

export function testPool(): pg.Pool {
  const address = questdbAddress();
  return createPgPool({
    host: address.pgHost,
    port: address.pgPort,
    user: address.pgUser,
    password: address.pgPassword,
    database: address.pgDatabase,
    max: 2,
  });
}

/** Runs SQL through QuestDB's HTTP /exec, independent of the app's pg pool. */
export async function exec(sql: string): Promise<{ columns: { name: string; type: string }[]; dataset: unknown[][] }> {
  const { httpPort } = inject("questdb");
  const response = await fetch(`http://127.0.0.1:${httpPort}/exec?query=${encodeURIComponent(sql)}`);
  const body = (await response.json()) as {
    columns?: { name: string; type: string }[];
    dataset?: unknown[][];
    error?: string;
  };
  if (!response.ok || body.error) throw new Error(`QuestDB /exec failed: ${body.error ?? response.status} for ${sql}`);
  return { columns: body.columns ?? [], dataset: body.dataset ?? [] };
}

/** Polls until `check` returns a value that is not undefined, or fails after the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until every committed WAL transaction of `table` is applied (visible to SQL). */
export async function walApplied(table: string): Promise<void> {
  await eventually(async () => {
    const { dataset } = await exec(
      `SELECT writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name = '${table}'`,
    );
    const row = dataset[0] as [number, number, boolean] | undefined;
    if (row?.[2]) throw new Error(`table ${table} is suspended`);
    return row && row[0] === row[1] ? true : undefined;
  }, `WAL apply on ${table}`);
}

/**
 * Waits until every materialized view whose name starts with `prefix` reflects every applied
 * transaction of its base table (so statistics read whole hours from the views).
 */
export async function viewsCaughtUp(prefix: string): Promise<void> {
  let last = "";
  await eventually(async () => {
    const views = (
      await exec(
        `SELECT view_name, base_table_name, view_status, refresh_base_table_txn FROM materialized_views() WHERE view_name LIKE '${prefix}%'`,
      )
    ).dataset as [string, string, string, number][];
    const wal = new Map(
      (
        (await exec("SELECT name, writerTxn, sequencerTxn FROM wal_tables()")).dataset as [string, number, number][]
      ).map((row) => [row[0], row]),
    );
    const ready = views.every(([view, base, status, txn]) => {
      const own = wal.get(view);
      return status !== "invalid" && own && own[1] === own[2] && txn >= (wal.get(base)?.[1] ?? 0);
    });
    if (views.length > 0 && ready) return true;
    last = JSON.stringify(
      views.map(([view, base, status, txn]) => ({ view, status, txn, own: wal.get(view), base: wal.get(base) })),
    );
    return undefined;
  }, `materialized views of ${prefix}`).catch((error: Error) => {
    throw new Error(`${error.message}: ${last}`);
  });
}

/**
 * Runs start-up's table check once more (30-day retention); returns the changes it reported and
 * the transaction numbers of the tables named `${like}%` before and after.
 */
export async function startAgain(pool: pg.Pool, names: TableNames, like: string) {
  const txns = async () =>
    (await exec(`SELECT table_name, table_txn FROM tables() WHERE table_name LIKE '${like}%' AND NOT matView`)).dataset;
  const before = await txns();
  const changes: string[] = [];
  await ensureTables(pool, { names, retentionDays: 30, onChange: (m) => changes.push(m) });
  return { changes, before, after: await txns() };
}
