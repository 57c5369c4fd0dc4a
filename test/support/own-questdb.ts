// A QuestDB server of a test file's own, for faults that would hurt other files (SIGKILL,
// SIGSTOP, restarts), and a count of a trades table straight from it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { inject } from "vitest";
import { type App, buildApp } from "../../src/app.ts";
import type { QuestDbAddress } from "../../src/config.ts";
import { type LocalQuestDb, startLocalQuestDb } from "../../src/questdb/local-server.ts";
import { testConfig, uniquePrefix } from "./questdb.ts";

export interface OwnQuestDb {
  server: LocalQuestDb;
  /** Its data folder: pass it (and the ports) back to restart the same database. */
  dir: string;
  ports: { httpPort: number; pgPort: number };
}

/**
 * Starts a QuestDB in `root` (a new temporary folder by default) on `ports` (free ones by
 * default); `cleanups` gets its stop and, for a new folder, the folder's removal.
 */
export async function ownQuestDb(
  cleanups: (() => Promise<void>)[],
  root?: string,
  ports?: { httpPort: number; pgPort: number },
): Promise<OwnQuestDb> {
  const dir = root ?? (await mkdtemp(join(tmpdir(), "qdb-own-")));
  if (!root) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const server = await startLocalQuestDb({
    jarDir: inject("questdb").jarDir,
    rootDir: dir,
    httpPort: ports?.httpPort ?? 0,
    pgPort: ports?.pgPort ?? 0,
  });
  cleanups.push(() => server.stop());
  return { server, dir, ports: { httpPort: server.httpPort, pgPort: server.pgPort } };
}

/** The real app (HTTP on a free port) against `questdb`; `cleanups` gets its stop. */
export async function startAppOn(
  cleanups: (() => Promise<void>)[],
  questdb: QuestDbAddress,
  label: string,
  env: Record<string, string> = {},
): Promise<{ app: App; url: string; prefix: string }> {
  const prefix = uniquePrefix(label);
  const deadLetterDir = await mkdtemp(join(tmpdir(), "dlq-"));
  const app = buildApp({
    config: testConfig({ QUESTDB_TABLE_PREFIX: prefix, SYSTEM_METRICS_INTERVAL_MS: "0", ...env }),
    questdb,
    log: pino({ level: "silent" }),
    deadLetterDir,
  });
  cleanups.push(() => app.stop());
  const url = await app.start(0, "127.0.0.1");
  return { app, url, prefix };
}

/** Rows and distinct trade ids in a trades table, once QuestDB has applied its WAL. */
export async function countTrades(server: LocalQuestDb, table: string): Promise<{ rows: number; distinct: number }> {
  const query = async (sql: string) => {
    const r = await fetch(`http://127.0.0.1:${server.httpPort}/exec?query=${encodeURIComponent(sql)}`);
    return ((await r.json()) as { dataset: unknown[][] }).dataset;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const wal = await query(`SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = '${table}'`);
    const [writer, sequencer] = (wal[0] ?? [0, 1]) as number[];
    if (writer === sequencer) break;
    if (Date.now() > deadline) throw new Error(`WAL of ${table} not applied`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const [[rows, distinct]] = (await query(`SELECT count(), count_distinct(trade_id) FROM ${table}`)) as [
    [number, number],
  ];
  return { rows, distinct };
}
