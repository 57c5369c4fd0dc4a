// `npm run bench:overload` (issue 10, point 5): does the API stay up and answer its probes when
// dashboards and bots overload it? On its own QuestDB holding a month of history (BENCH_DAYS ×
// BENCH_TRADES_PER_DAY trades and BENCH_LATENCY_PER_DAY latency rows, loaded through ILP), three
// phases of BENCH_DURATION_S each, side by side in one run, each with a fresh API process (as
// `npm start` runs it; never restarted within a phase: a crash is recorded and ends the phase):
//   (a) BENCH_DASHBOARDS dashboard clients alone, month-long hourly latency and trade charts;
//   (b) BENCH_BOTS bots alone, recordTrades batches of BENCH_BATCH_ROWS rows, retrying the
//       retryable refusals (QUEUE_FULL, OVERLOADED, SHUTTING_DOWN; HTTP 429/503) as a bot would
//       (each bot starts at a random moment of the first second);
//   (c) both together;
//   (d) the bots of (b) sending `Expect: 100-continue`, as the README advises bots with big
//       batches (a refused batch is then never uploaded);
//   (e) the bots of (b) while QuestDB is frozen (SIGSTOP, SIGCONT at the end): the queue fills
//       and writers meet QUEUE_FULL; /ready must say 503, fast.
// Throughout, a probe every BENCH_PROBE_MS times /health, /ready and a one-row query, and the
// API's RSS (/proc/<pid>/status) and acknowledged rows (/metrics) are sampled. Only the public
// surface is used: GraphQL, /metrics, /health, /ready.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadConfig, memoryBoundMb } from "../src/config.ts";
import { freePort } from "../src/questdb/local-server.ts";
import { ensureTables, tableNames, waitForWalApply } from "../src/questdb/tables.ts";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { API_NODE_ARGS, apiEnv, recordInDocs, rssOf, startBenchQuestDb } from "./docs.ts";
import {
  type BotFigures,
  bot,
  DASHBOARD_QUERIES,
  dashboard,
  newBotFigures,
  Timings,
  tradesBody,
} from "./overload-clients.ts";
import { loadHistory } from "./overload-load.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DAYS = env("BENCH_DAYS", 30);
const TRADES_PER_DAY = env("BENCH_TRADES_PER_DAY", 100_000);
const LATENCY_PER_DAY = env("BENCH_LATENCY_PER_DAY", 500_000);
const DURATION_S = env("BENCH_DURATION_S", 30);
const BOTS = env("BENCH_BOTS", 100);
const BATCH_ROWS = env("BENCH_BATCH_ROWS", 2000);
const DASHBOARDS = env("BENCH_DASHBOARDS", 4);
const PROBE_MS = env("BENCH_PROBE_MS", 50);
const HEAP_MB = Number(process.env.MAX_HEAP_MB ?? 256);
/** Which phases to run (a to e), e.g. BENCH_PHASES=b while working on the write path. */
const PHASES = process.env.BENCH_PHASES ?? "abcde";

const log = (line: string) => console.log(`[bench:overload] ${line}`);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// Keys in the documented `name:role:key` format (docs/security.md): bots write, dashboards read.
const WRITER = { name: "bench", key: "bench-writer-key-0123456789" };
const READER = { name: "dashboard", key: "bench-reader-key-0123456789" };

interface Api {
  /** The RSS bound the README states for this configuration (src/config.ts memoryBoundMb). */
  memoryBoundMb: number;
  url: string;
  pid: number;
  /** Set when the process exited by itself: its exit code or signal, and its last stderr lines. */
  crash?: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

async function startApi(questdb: { httpPort: number; pgPort: number }, deadLetterDir: string): Promise<Api> {
  const port = await freePort();
  // BENCH_API_NODE_ARGS: node flags NODE_OPTIONS refuses, e.g. --cpu-prof to profile the API.
  const env = apiEnv(port, questdb, {
    API_KEYS: `${WRITER.name}:writer:${WRITER.key},${READER.name}:reader:${READER.key}`,
    RATE_LIMIT_PER_SECOND: "0", // the per-key limit would otherwise be what is measured
    DEAD_LETTER_DIR: deadLetterDir,
    LOG_LEVEL: "error",
  });
  const config = loadConfig(env);
  const extraArgs = (process.env.BENCH_API_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...extraArgs, ...API_NODE_ARGS], {
    env,
    stdio: ["ignore", "inherit", "pipe"],
  });
  let stopping = false;
  let tail = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString()).slice(-8000);
  });
  const api: Api = {
    memoryBoundMb: memoryBoundMb(config, HEAP_MB),
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    exited: new Promise((done) =>
      child.once("exit", (code, signal) => {
        if (!stopping) {
          // V8's own verdict (an out-of-memory names the heap) rather than its native stack.
          const lines = tail.trim().split("\n");
          const reason = lines.find((line) => /FATAL ERROR|Error:/.test(line)) ?? lines.at(-1) ?? "";
          api.crash = `exit ${signal ?? code}${reason ? `: ${reason.trim().slice(0, 160)}` : ""}`;
        }
        done();
      }),
    ),
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await api.exited;
      clearTimeout(killer);
    },
  };
  for (let i = 0; ; i++) {
    const ok = await fetch(`${api.url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return api;
    if (api.crash || i > 600) {
      await api.stop();
      throw new Error(`the API did not become ready (${api.crash ?? "60 s"})`);
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------- phases

interface PhaseResult {
  name: string;
  title: string;
  /** QuestDB was frozen for the phase. */
  frozen: boolean;
  seconds: number;
  rowsAcknowledgedPerS?: number;
  bots?: BotFigures;
  dashboards?: Map<string, Timings>;
  health: Timings;
  ready: Timings;
  oneRow: Timings;
  /** The probe process's own bot (phases with bots): its refused and its accepted batches. */
  botRefused: Timings;
  botAccepted: Timings;
  maxRssMb: number;
  /** The README's RSS bound for the phase's API. */
  memoryBoundMb: number;
  /** The API's CPU use over the phase (1 = one core busy). */
  apiCpu: number;
  /** The load generator's own event-loop delay p99 (ms): its timings include this much of its own lag. */
  clientLagP99Ms: number;
  /** The probes' process's own event-loop delay p99 (ms). */
  probeLagP99Ms: number;
  /** The largest of the API's own event-loop delay p99s (/metrics, each since the previous scrape), ms. */
  apiLagMaxMs: number;
  crash?: string;
}

/** A process's CPU time (user + system) in seconds, from /proc/<pid>/stat. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** Reads figures from /metrics (undefined for those missing or when it does not answer). */
async function metrics(url: string, names: readonly string[]): Promise<(number | undefined)[]> {
  const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) }).then(
    (r) => r.text(),
    () => "",
  );
  return names.map((name) => {
    const value = new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  });
}

interface PhaseDef {
  name: string;
  title: string;
  dashboards: boolean;
  bots: boolean;
  /** The bots send `Expect: 100-continue` (README: bots with big batches). */
  expectContinue: boolean;
  /** QuestDB is frozen (SIGSTOP) for the phase: the queue fills and writers meet QUEUE_FULL. */
  freezeQuestDb?: boolean;
}

const PHASE_DEFS: PhaseDef[] = [
  { name: "a", title: `(a) ${DASHBOARDS} dashboards alone`, dashboards: true, bots: false, expectContinue: false },
  { name: "b", title: `(b) ${BOTS} bots alone`, dashboards: false, bots: true, expectContinue: false },
  { name: "c", title: "(c) both", dashboards: true, bots: true, expectContinue: false },
  {
    name: "d",
    title: `(d) ${BOTS} bots alone, with \`Expect: 100-continue\``,
    dashboards: false,
    bots: true,
    expectContinue: true,
  },
  {
    name: "e",
    title: `(e) ${BOTS} bots alone, QuestDB frozen (SIGSTOP) for the phase`,
    dashboards: false,
    bots: true,
    expectContinue: false,
    freezeQuestDb: true,
  },
];

async function phase(
  def: PhaseDef,
  questdb: { httpPort: number; pgPort: number; pid: number },
  deadLetterDir: string,
): Promise<PhaseResult> {
  const { name, dashboards: withDashboards, bots: withBots } = def;
  const result: PhaseResult = {
    name,
    title: def.title,
    frozen: def.freezeQuestDb === true,
    seconds: 0,
    health: new Timings(),
    ready: new Timings(),
    oneRow: new Timings(),
    botRefused: new Timings(),
    botAccepted: new Timings(),
    maxRssMb: 0,
    memoryBoundMb: 0,
    apiCpu: 0,
    clientLagP99Ms: 0,
    apiLagMaxMs: 0,
    probeLagP99Ms: 0,
  };
  let api: Api;
  try {
    api = await startApi(questdb, deadLetterDir);
  } catch (e) {
    result.crash = e instanceof Error ? e.message : String(e);
    log(`(${name}) ${result.crash}`);
    return result;
  }
  result.memoryBoundMb = api.memoryBoundMb;
  const stop = new AbortController();
  const { signal } = stop;
  void api.exited.then(() => stop.abort());
  const rssTimer = setInterval(
    () => void rssOf(api.pid).then((rss) => (result.maxRssMb = Math.max(result.maxRssMb, rss / 1024 / 1024))),
    200,
  );
  // Acknowledged rows: the first and the latest reading of the counter (a crash keeps the last one).
  // The bots' first bodies, built before the clock starts.
  const firstBodies = withBots ? Array.from({ length: BOTS }, (_, n) => tradesBody(n, 0, BATCH_ROWS)) : [];
  const t0 = performance.now();
  const cpu0 = await cpuSecondsOf(api.pid);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const written0 = (await metrics(api.url, ["ingest_rows_written_total"]))[0] ?? 0;
  let written = { at: t0, value: written0 };
  const metricsTimer = setInterval(() => {
    const at = performance.now();
    void metrics(api.url, ["ingest_rows_written_total", "nodejs_eventloop_lag_p99_seconds"]).then(([value, lagS]) => {
      if (value !== undefined && at > written.at) written = { at, value };
      // Less the monitor's 10 ms resolution, as the figures recorded before prom-client were.
      if (lagS !== undefined) result.apiLagMaxMs = Math.max(result.apiLagMaxMs, lagS * 1000 - 10);
    });
  }, 1000);

  const probes = runProbes(api.url, result, withBots, def.expectContinue);
  const tasks: Promise<void>[] = [];
  if (withBots) {
    result.bots = newBotFigures();
    const figures = result.bots;
    for (let n = 0; n < BOTS; n++)
      tasks.push(
        bot(
          { url: api.url, key: WRITER.key, batchRows: BATCH_ROWS, expectContinue: def.expectContinue },
          n,
          figures,
          signal,
          firstBodies[n],
        ),
      );
  }
  if (withDashboards) {
    const figures = new Map(DASHBOARD_QUERIES.map((q) => [q.name, new Timings()]));
    result.dashboards = figures;
    for (let n = 0; n < DASHBOARDS; n++) tasks.push(dashboard({ url: api.url, key: READER.key }, n, figures, signal));
  }
  const ticker = setInterval(() => {
    const s = Math.round((performance.now() - t0) / 1000);
    const bots = result.bots ? `, ${fmt(result.bots.rowsAccepted)} rows accepted` : "";
    const charts = result.dashboards
      ? `, ${[...result.dashboards.values()].reduce((n, t) => n + t.ms.length, 0)} charts`
      : "";
    log(`(${name}) ${s}/${DURATION_S} s: RSS max ${result.maxRssMb.toFixed(0)} MB${bots}${charts}`);
  }, 5000);
  if (def.freezeQuestDb) process.kill(questdb.pid, "SIGSTOP");
  try {
    await Promise.race([sleep(DURATION_S * 1000), api.exited]);
  } finally {
    if (def.freezeQuestDb) process.kill(questdb.pid, "SIGCONT");
  }
  result.seconds = (performance.now() - t0) / 1000;
  result.apiCpu = ((await cpuSecondsOf(api.pid)) - cpu0) / result.seconds;
  lag.disable();
  result.clientLagP99Ms = lag.percentile(99) / 1e6;
  stop.abort();
  clearInterval(ticker);
  await Promise.all([...tasks, probes]);
  clearInterval(metricsTimer);
  clearInterval(rssTimer);
  if (withBots) result.rowsAcknowledgedPerS = (written.value - written0) / ((written.at - t0) / 1000);
  await api.stop();
  if (api.crash) {
    result.crash = api.crash;
    log(`(${name}) the API died after ${result.seconds.toFixed(1)} s: ${api.crash}`);
  }
  return result;
}

/** Runs the probes in a process of their own (bench/overload-probe.ts) for the phase's duration. */
async function runProbes(url: string, result: PhaseResult, withBot: boolean, expectContinue: boolean): Promise<void> {
  const bot = withBot ? [WRITER.key, String(BATCH_ROWS), expectContinue ? "1" : "0"] : [];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/overload-probe.ts", url, READER.key, String(PROBE_MS), String(DURATION_S), ...bot],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise((done) => child.once("exit", done));
  const figures = JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as Record<
    "health" | "ready" | "oneRow" | "botRefused" | "botAccepted",
    { ms: number[]; failures: [string, number][] }
  > & { lagP99Ms: number };
  for (const name of ["health", "ready", "oneRow", "botRefused", "botAccepted"] as const) {
    result[name].ms.push(...figures[name].ms);
    for (const [reason, n] of figures[name].failures) result[name].failures.set(reason, n);
  }
  result.probeLagP99Ms = figures.lagP99Ms;
}

// ---------------------------------------------------------------- the table

function table(results: PhaseResult[]): string[] {
  const cells = (f: (r: PhaseResult) => string) => results.map(f).join(" | ");
  /** "yes", or "no" with the phases that missed, over the phases that have the figure. */
  const met = (ok: (r: PhaseResult) => boolean | undefined) => {
    const missed = results.filter((r) => ok(r) === false).map((r) => r.name);
    return missed.length === 0 ? "yes" : `no (${missed.join(", ")})`;
  };
  const withFailures = (t: Timings) => `${t.summary()}${t.failed ? ` (${t.failed} failed: ${t.reasons()})` : ""}`;
  const dash = (name: string) => (r: PhaseResult) => {
    const t = r.dashboards?.get(name);
    return t
      ? `${t.summary()} (${t.ms.length} ok${t.failed ? `, ${t.reasons()}` : ""}${t.cut ? `, ${t.cut} still open at the end, the oldest for ${(t.oldestCutMs / 1000).toFixed(0)} s` : ""})`
      : "–";
  };
  const p99Under = (t: Timings | undefined, ms: number) => (t && t.ms.length > 0 ? t.p99() <= ms : undefined);
  return [
    `| Figure | ${results.map((r) => r.title).join(" | ")} | Target | Met |`,
    `|---|${results.map(() => "---|").join("")}---|---|`,
    `| rows/s acknowledged by QuestDB (/metrics ingest_rows_written_total) | ${cells((r) => (r.rowsAcknowledgedPerS === undefined ? "–" : fmt(r.rowsAcknowledgedPerS)))} | | |`,
    `| recordTrades (${fmt(BATCH_ROWS)} rows) accepted: answers (rows/s), p50 / p99 ms | ${cells((r) => (r.bots ? `${r.bots.accepted.ms.length} (${fmt(r.bots.rowsAccepted / r.seconds)}), ${withFailures(r.bots.accepted)}` : "–"))} | | |`,
    `| retryable refusals (QUEUE_FULL, OVERLOADED, SHUTTING_DOWN, 429, 503): p50 / p99 ms | ${cells((r) => (r.bots ? (r.bots.refused.ms.length ? `${r.bots.refused.summary()} (${r.bots.refused.reasons()})` : "none") : "–"))} | | |`,
    `| one bot in a process of its own (a batch every 200 ms, as the phase's bots send them): refusals p50 / p99 ms | ${cells((r) => (r.botRefused.ms.length ? `${r.botRefused.summary()} (${r.botRefused.reasons()})` : "–"))} | | |`,
    `| the same bot: accepted batches p50 / p99 ms | ${cells((r) => (r.botAccepted.ms.length ? `${r.botAccepted.summary()} (${r.botAccepted.ms.length})` : "–"))} | | |`,
    `| QUEUE_FULL refusals: p50 / p99 ms | ${cells((r) => r.bots?.refusedBy.get("QUEUE_FULL")?.summary() ?? "–")} | p99 ≤ 50 | ${met((r) => p99Under(r.bots?.refusedBy.get("QUEUE_FULL"), 50))} |`,
    `| OVERLOADED refusals (after waiting up to MAX_WAIT_MS for a slot): p50 / p99 ms | ${cells((r) => r.bots?.refusedBy.get("OVERLOADED")?.summary() ?? "–")} | | |`,
    `| /health p50 / p99 ms (probe every ${PROBE_MS} ms) | ${cells((r) => withFailures(r.health))} | p99 ≤ 100 | ${met((r) => p99Under(r.health, 100) && r.health.failed === 0)} |`,
    `| /ready p50 / p99 ms (with QuestDB frozen the answer is 503, as it should be) | ${cells((r) => withFailures(r.ready))} | p99 ≤ 100 | ${met((r) => p99Under(r.ready, 100) && (r.frozen || r.ready.failed === 0))} |`,
    `| one-row query \`trades(first: 1)\` p50 / p99 ms | ${cells((r) => withFailures(r.oneRow))} | p99 ≤ 250 (QuestDB up) | ${met((r) => (r.frozen ? undefined : p99Under(r.oneRow, 250) && r.oneRow.failed === 0))} |`,
    `| dashboard: latencyStats, 30 days hourly, p50 / p99 ms | ${cells(dash("latencyStats"))} | | |`,
    `| dashboard: tradeStats, 30 days hourly by pair, p50 / p99 ms | ${cells(dash("tradeStats"))} | | |`,
    `| API RSS max, MB (heap capped at ${HEAP_MB} MB) | ${cells((r) => r.maxRssMb.toFixed(0))} | ≤ the README's bound (${[...new Set(results.map((r) => r.memoryBoundMb))].join(", ")} MB) | ${met((r) => r.maxRssMb <= r.memoryBoundMb)} |`,
    `| API CPU (cores busy) | ${cells((r) => r.apiCpu.toFixed(2))} | | |`,
    `| API event-loop delay: the worst sampled p99, ms | ${cells((r) => r.apiLagMaxMs.toFixed(0))} | | |`,
    `| the bots' and dashboards' process: own event-loop delay p99, ms (their timings include it) | ${cells((r) => r.clientLagP99Ms.toFixed(0))} | | |`,
    `| the probes' process (of its own): own event-loop delay p99, ms | ${cells((r) => r.probeLagP99Ms.toFixed(0))} | | |`,
    `| API crashes | ${cells((r) => (r.crash ? `1 after ${r.seconds.toFixed(0)} s (${r.crash.replace(/\|/g, "/")})` : "0"))} | 0 | ${met((r) => !r.crash)} |`,
  ];
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadStart = loadAverage();
  const { questdb, pool, close } = await startBenchQuestDb("overload", log);
  const deadLetterDir = await mkdtemp(join(tmpdir(), "bench-overload-dead-letter-"));
  try {
    const names = tableNames("");
    await ensureTables(pool, { names, retentionDays: 30 });
    log(
      `loading ${DAYS} days × ${fmt(TRADES_PER_DAY)} trades and ${fmt(LATENCY_PER_DAY)} latency rows a day (${fmt(DAYS * (TRADES_PER_DAY + LATENCY_PER_DAY))} rows) through ILP…`,
    );
    const loadS = await loadHistory({
      httpPort: questdb.httpPort,
      days: DAYS,
      tradesPerDay: TRADES_PER_DAY,
      latencyPerDay: LATENCY_PER_DAY,
      tables: { trades: names.trades, latency: names.latency_metrics },
      writer: WRITER.name,
    });
    const applyStarted = performance.now();
    await waitForWalApply(pool, [names.trades, names.latency_metrics], 600_000);
    const applyS = (performance.now() - applyStarted) / 1000;
    const counts = await pool.query<{ trades: string; latency: string }>(
      `SELECT t.n trades, l.n latency FROM (SELECT count() n FROM ${names.trades}) t CROSS JOIN (SELECT count() n FROM ${names.latency_metrics}) l`,
    );
    log(
      `loaded in ${loadS.toFixed(0)} s, WAL applied ${applyS.toFixed(0)} s later: ${fmt(Number(counts.rows[0]?.trades))} trades, ${fmt(Number(counts.rows[0]?.latency))} latency rows stored`,
    );

    const results: PhaseResult[] = [];
    for (const def of PHASE_DEFS) {
      if (!PHASES.includes(def.name)) continue;
      log(`${def.title} for ${DURATION_S} s…`);
      results.push(await phase(def, questdb, deadLetterDir));
    }
    const totalS = (performance.now() - started) / 1000;
    const load = loadAverage();
    const header = `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), QuestDB ${QUESTDB_VERSION}, API (\`npm start\`'s node arguments, heap ${HEAP_MB} MB, a fresh process per phase), QuestDB and load generator on one machine. History: ${DAYS} days × ${fmt(TRADES_PER_DAY)} trades + ${fmt(LATENCY_PER_DAY)} latency rows a day, loaded through ILP in ${loadS.toFixed(0)} s (+ ${applyS.toFixed(0)} s WAL apply). ${DURATION_S} s a phase; ${BOTS} bots send recordTrades batches of ${fmt(BATCH_ROWS)} (QUEUED) back to back, ${DASHBOARDS} dashboards alternate the two month-long charts (range ending now, so never cached). Whole run ${totalS.toFixed(0)} s; load average ${loadStart} at the start, ${load} at the end. Command: \`npm run bench:overload\`.`;
    const lines = table(results);
    console.log(`\n${header}\n\n${lines.join("\n")}\n`);
    await recordInDocs("overload", "Overload benchmark", `${header}\n\n${lines.join("\n")}`);
  } finally {
    await close();
    await rm(deadLetterDir, { recursive: true, force: true });
  }
}

await main();
