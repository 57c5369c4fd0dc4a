// What the benchmarks share: how the API is started, and where results are recorded.
import { mkdtempSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { type LocalQuestDb, startLocalQuestDb } from "../src/questdb/local-server.ts";
import { createPgPool } from "../src/questdb/pg-pool.ts";

/** A QuestDB of the benchmark's own (temporary folder, free ports) and a pg pool on it. */
export async function startBenchQuestDb(
  name: string,
  log: (line: string) => void,
): Promise<{ questdb: LocalQuestDb; pool: pg.Pool; close(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  const questdb = await startLocalQuestDb({ jarDir: ".questdb", rootDir: root, httpPort: 0, pgPort: 0, log });
  const pool = createPgPool({
    host: "127.0.0.1",
    port: questdb.pgPort,
    user: "admin",
    password: "quest",
    database: "qdb",
  });
  return {
    questdb,
    pool,
    close: async () => {
      await pool.end();
      await questdb.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The p-th percentile (0–100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** A process's resident set size in bytes (VmRSS), 0 when it is gone. */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** The node arguments of `npm start` (package.json), so the benchmarks run the API as users do. */
export const API_NODE_ARGS: string[] = (() => {
  const start = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts.start;
  const match = /exec node (.*)$/.exec(start);
  if (!match?.[1]) throw new Error(`cannot read the node arguments from the start script: ${start}`);
  // Shell defaults such as ${MAX_HEAP_MB:-256} are expanded as sh would.
  return match[1]
    .trim()
    .split(/\s+/)
    .map((arg) =>
      arg.replace(/\$\{(\w+):-([^}]*)\}/g, (_all, name: string, fallback: string) => process.env[name] ?? fallback),
    );
})();

/** Records a benchmark's table in docs/benchmarks.md, replacing the previous run's section. */
export async function recordInDocs(name: string, heading: string, table: string): Promise<void> {
  const file = "docs/benchmarks.md";
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text = await readFile(file, "utf8").catch(() => "# Benchmarks\n");
  const section = `${begin}\n${table}\n${end}`;
  if (text.includes(begin)) text = text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section);
  else text = `${text.trimEnd()}\n\n## ${heading}\n\n${section}\n`;
  await writeFile(file, text);
  console.log(`[bench:${name}] recorded in ${file}`);
}

const fmtInt = (n: number) => n.toLocaleString("en-US");

/** A progress bar for loading `total` rows (one line per 10 % when stdout is not a terminal). */
function progress(bench: string, label: string, total: number): (done: number) => void {
  const started = performance.now();
  let lastLine = -1;
  const tty = process.stdout.isTTY;
  return (done: number) => {
    const fraction = total === 0 ? 1 : done / total;
    const seconds = (performance.now() - started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    const eta = rate > 0 ? (total - done) / rate : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `[bench:${bench}] ${label.padEnd(16)} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${(fraction * 100).toFixed(0).padStart(3)}% ${fmtInt(done)}/${fmtInt(total)} · ${fmtInt(Math.round(rate))} rows/s · eta ${eta.toFixed(0)} s`;
    if (tty) process.stdout.write(`\r${line}${done >= total ? "\n" : ""}`);
    else if (Math.floor(fraction * 10) > lastLine || done >= total) {
      lastLine = Math.floor(fraction * 10);
      console.log(line);
    }
  };
}

/**
 * Loads rows `0 … total - 1` in batches of `batchRows` through `send(from, to)`, two batches in
 * flight (one is encoded while QuestDB takes the other), with a progress bar.
 */
export async function loadInBatches(
  bench: string,
  label: string,
  total: number,
  batchRows: number,
  send: (from: number, to: number) => Promise<void>,
): Promise<void> {
  const show = progress(bench, label, total);
  let next = 0;
  let done = 0;
  show(0);
  const worker = async () => {
    while (next < total) {
      const from = next;
      const to = Math.min(total, from + batchRows);
      next = to;
      await send(from, to);
      done += to - from;
      show(done);
    }
  };
  await Promise.all([worker(), worker()]);
}

/**
 * The environment of an API process run by a benchmark: production mode as `npm start` runs it,
 * Node flags from BENCH_API_NODE_OPTIONS for the API alone (the load generator keeps its own
 * heap), the given port and QuestDB, then `extra`.
 */
export function apiEnv(
  port: number,
  questdb: { httpPort: number; pgPort: number },
  extra: Record<string, string>,
): NodeJS.ProcessEnv {
  return {
    NODE_ENV: "production",
    ...process.env,
    NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS ?? "",
    PORT: String(port),
    QUESTDB_HTTP_ADDR: `127.0.0.1:${questdb.httpPort}`,
    QUESTDB_PG_ADDR: `127.0.0.1:${questdb.pgPort}`,
    // Each API its own spool (two must not share one).
    SPOOL_DIR: mkdtempSync(join(tmpdir(), "bench-spool-")),
    ...extra,
  };
}
