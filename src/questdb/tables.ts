// The tables this service owns: created at start-up (never by ILP auto-create), verified on
// every start, missing columns added, type conflicts refused with the column named.
import type pg from "pg";
import { type TableKey, type TableSpec, TIMESTAMP_COLUMN } from "./descriptor.ts";
import { DRAWDOWN_HOURS } from "./drawdown-table.ts";
import { LATENCY_METRICS } from "./latency-table.ts";
import { MEV_METRICS } from "./mev-table.ts";
import { ALERT_EVENTS, ALERT_RULES, API_INSTANCES, SYSTEM_METRICS } from "./service-tables.ts";
import { TRADES } from "./trade-table.ts";

export type TableNames = Readonly<Record<TableKey, string>>;

export const TABLES: readonly TableSpec[] = [
  TRADES,
  LATENCY_METRICS,
  MEV_METRICS,
  SYSTEM_METRICS,
  ALERT_EVENTS,
  ALERT_RULES,
  API_INSTANCES,
  DRAWDOWN_HOURS,
];

export function tableNames(prefix: string): TableNames {
  return {
    trades: `${prefix}trades`,
    latency_metrics: `${prefix}latency_metrics`,
    mev_metrics: `${prefix}mev_metrics`,
    system_metrics: `${prefix}system_metrics`,
    alert_events: `${prefix}alert_events`,
    alert_rules: `${prefix}alert_rules`,
    api_instances: `${prefix}api_instances`,
    drawdown_hours: `${prefix}drawdown_hours`,
  };
}

export class SchemaConflictError extends Error {
  constructor(readonly conflicts: string[]) {
    super(
      `QuestDB tables do not match what this version expects; refusing to start:\n${conflicts
        .map((c) => `  - ${c}`)
        .join("\n")}\nRename or drop the conflicting column (or table), or point QUESTDB_TABLE_PREFIX at new tables.`,
    );
    this.name = "SchemaConflictError";
  }
}

export interface EnsureTablesOptions {
  names: TableNames;
  retentionDays: number;
  /** Called for each change made (create, add column, TTL, dedup). */
  onChange?: (message: string) => void;
}

interface TableRow {
  designatedTimestamp: string | null;
  partitionBy: string;
  walEnabled: boolean;
  dedup: boolean;
  ttlValue: number;
  ttlUnit: string;
}

const TTL_UNIT_HOURS: Record<string, number> = { HOUR: 1, DAY: 24, WEEK: 24 * 7 };

const upsertKeys = (spec: TableSpec): string[] => [TIMESTAMP_COLUMN, ...spec.dedupKeys];

/** The table's TTL in days: RETENTION_DAYS, or 0 (none) for a table kept whatever it says. */
const ttlDays = (spec: TableSpec, retentionDays: number): number => (spec.retention === false ? 0 : retentionDays);

function createStatement(physical: string, spec: TableSpec, retentionDays: number): string {
  const columns = spec.columns.map((c) => `${c.name} ${c.type}`).join(", ");
  const days = ttlDays(spec, retentionDays);
  return (
    `CREATE TABLE IF NOT EXISTS ${physical} (${columns}) TIMESTAMP(${TIMESTAMP_COLUMN}) ` +
    `PARTITION BY DAY ${days > 0 ? `TTL ${days} DAYS ` : ""}WAL DEDUP UPSERT KEYS(${upsertKeys(spec).join(", ")})`
  );
}

/**
 * Creates missing tables, adds missing columns, applies the configured TTL and dedup keys.
 * Throws SchemaConflictError naming every column whose type (or table whose layout) differs.
 * Running it twice changes nothing the second time.
 */
export async function ensureTables(pool: pg.Pool, options: EnsureTablesOptions): Promise<void> {
  const { names, retentionDays, onChange = () => {} } = options;
  const conflicts: string[] = [];
  const changes: string[] = [];
  for (const spec of TABLES) {
    const physical = names[spec.name];
    const existing = await pool.query<TableRow>(
      `SELECT designatedTimestamp, partitionBy, walEnabled, dedup, ttlValue, ttlUnit FROM tables() WHERE table_name = $1`,
      [physical],
    );
    const table = existing.rows[0];
    if (!table) {
      await pool.query(createStatement(physical, spec, retentionDays));
      onChange(`created table ${physical}`);
      continue;
    }
    if (table.designatedTimestamp !== TIMESTAMP_COLUMN) {
      conflicts.push(
        `${physical}: designated timestamp is ${table.designatedTimestamp ?? "none"}, expected ${TIMESTAMP_COLUMN}`,
      );
    }
    if (table.partitionBy !== "DAY") conflicts.push(`${physical}: partitioned by ${table.partitionBy}, expected DAY`);
    if (!table.walEnabled) conflicts.push(`${physical}: not a WAL table, expected WAL`);

    const columns = await pool.query<{ column: string; type: string; upsertKey: boolean }>(
      // table_columns() takes no bind parameters; `physical` comes from a validated prefix.
      `SELECT "column", type, upsertKey FROM table_columns('${physical}')`,
    );
    const actual = new Map(columns.rows.map((row) => [row.column, row]));
    for (const column of spec.columns) {
      const found = actual.get(column.name);
      if (!found) {
        changes.push(`ALTER TABLE ${physical} ADD COLUMN IF NOT EXISTS ${column.name} ${column.type}`);
      } else if (found.type !== column.type) {
        conflicts.push(`${physical}.${column.name}: type is ${found.type}, expected ${column.type}`);
      }
    }
    const keys = columns.rows
      .filter((row) => row.upsertKey)
      .map((row) => row.column)
      .sort();
    const expectedKeys = upsertKeys(spec).sort();
    const keysMatch = table.dedup && keys.join() === expectedKeys.join();

    const ttlHours = table.ttlValue === 0 ? 0 : table.ttlValue * (TTL_UNIT_HOURS[table.ttlUnit] ?? Number.NaN);
    const days = ttlDays(spec, retentionDays);
    if (ttlHours !== days * 24) changes.push(`ALTER TABLE ${physical} SET TTL ${days} DAYS`);
    // Re-declares the keys of a table from an older version (before `writer` joined them); it
    // comes after that table's ADD COLUMNs, since QuestDB requires the key columns to exist.
    // https://questdb.com/docs/query/sql/alter-table-enable-deduplication/ (it replaces the key list; existing rows stay)
    if (!keysMatch) {
      changes.push(`ALTER TABLE ${physical} DEDUP ENABLE UPSERT KEYS(${upsertKeys(spec).join(", ")})`);
    }
  }
  if (conflicts.length > 0) throw new SchemaConflictError(conflicts);
  // Only alter once nothing conflicts, so a refused start leaves the tables as they were.
  for (const statement of changes) {
    await pool.query(statement);
    onChange(statement);
  }
  // ALTERs on WAL tables are applied asynchronously; start-up is done when they are visible.
  if (changes.length > 0) await waitForWalApply(pool, Object.values(names));
}

/** Polls wal_tables() until every listed table has applied all its WAL transactions. */
export async function waitForWalApply(pool: pg.Pool, tables: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await pool.query<{ name: string; writerTxn: bigint; sequencerTxn: bigint; suspended: boolean }>(
      "SELECT name, writerTxn, sequencerTxn, suspended FROM wal_tables()",
    );
    const pending = result.rows.filter((row) => tables.includes(row.name) && row.writerTxn < row.sequencerTxn);
    const suspended = result.rows.find((row) => tables.includes(row.name) && row.suspended);
    if (suspended) throw new Error(`QuestDB suspended table ${suspended.name}; see its log`);
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `QuestDB did not apply the WAL of ${pending.map((r) => r.name).join(", ")} within ${timeoutMs} ms`,
      );
    }
    await new Promise((done) => setTimeout(done, 20));
  }
}
