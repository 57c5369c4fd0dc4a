// `npm run bench:scale`: what more API instances buy on one QuestDB (docs/scaling.md). Phases, in
// one run on one QuestDB of the bench's own:
//   (a) 1 API, clients straight to it (no load balancer: the reference for HAProxy's cost)
//   (b) 1 API behind HAProxy (deploy/haproxy.cfg, as docker-compose.yml runs it)
//   (c) 3 APIs behind the same HAProxy config
// (b) and (c) take turns (b, c, c, b, …) and each keeps its best round: the machine is shared.
// Each phase: CLIENTS closed-loop clients send recordTrades batches of 1,000 rows with
// durability COMMITTED (acknowledged once QuestDB has them) for DURATION_S; a prober meanwhile
// asks two small dashboard queries through the same address (the newest 20 trades; the last
// minute's totals by pair), one every 100 ms, and the same prober runs for 5 s before the load
// (idle). Each phase's clock starts after BENCH_WARMUP_S (5) of the same load, uncounted. CPU
// time of the APIs, HAProxy, QuestDB and the load generator is read from /proc.
// Env: BENCH_DURATION_S (20), BENCH_CLIENTS (8), BENCH_SCALE_INSTANCES (3), BENCH_SCALE_ROUNDS (2),
// BENCH_WARMUP_S (5).
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { ensureHaproxy } from "../scripts/ensure-haproxy.ts";
import { type LocalHaproxy, startLocalHaproxy } from "../scripts/local-haproxy.ts";
import { freePort } from "../src/questdb/local-server.ts";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { API_NODE_ARGS, apiEnv, percentile, recordInDocs, startBenchQuestDb } from "./docs.ts";
import { PAIRS, STRATEGIES, VENUES } from "./rows.ts";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const INSTANCES = Number(process.env.BENCH_SCALE_INSTANCES ?? 3);
/** Rounds of each of "1 behind HAProxy" and "INSTANCES behind HAProxy". */
const ROUNDS = Math.max(1, Number(process.env.BENCH_SCALE_ROUNDS ?? 2));
/** Seconds of uncounted load before each phase's clock starts. */
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const BATCH = 1_000;
const log = (line: string) => console.log(`[bench:scale] ${line}`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const RECORD_TRADES =
  "mutation scaleWrite($inputs: [TradeInput!]!) { recordTrades(inputs: $inputs, durability: COMMITTED) { accepted } }";
const PAGE = "query scalePage { trades(first: 20) { nodes { tradeId executedPrice } } }";
const STATS =
  "query scaleStats($r: TimeRange!) { tradeStats(range: $r, groupBy: [PAIR]) { totals { group { baseToken quoteToken } count vwap } } }";

/**
 * A batch body as a template: the load generator fills in a batch number and the second the rows
 * are stamped with (rows i get microsecond i of it), so that sending costs it a string join, not
 * a JSON.stringify of 1,000 objects (its CPU is the APIs' on this machine).
 */
function batchTemplate(): string[] {
  const inputs = Array.from({ length: BATCH }, (_, i) => {
    const [base, quote, price] = PAIRS[i % PAIRS.length] as (typeof PAIRS)[number];
    return {
      tradeId: `scale-@B@-${i}`,
      timestamp: `@T@.${String(i).padStart(6, "0")}Z`,
      action: i % 2 === 0 ? "BUY" : "SELL",
      baseToken: base,
      quoteToken: quote,
      baseAmount: 1 + (i % 100) / 7,
      quoteAmount: (1 + (i % 100) / 7) * price,
      executedPrice: price,
      transactionFee: 5000,
      priorityFee: 1000,
      expectedSlippage: 0.01,
      actualSlippage: (i % 50) / 10_000,
      mevStatus: "PROTECTED",
      transferFees: 0,
      strategy: STRATEGIES[i % STRATEGIES.length],
      venue: VENUES[i % VENUES.length],
    };
  });
  return JSON.stringify({ query: RECORD_TRADES, variables: { inputs } }).split(/(@B@|@T@)/);
}

function fill(parts: string[], batch: string, second: string): string {
  return parts.map((p) => (p === "@B@" ? batch : p === "@T@" ? second : p)).join("");
}

/** utime + stime of a process, in seconds (0 when it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** The machine's busy and total jiffies (/proc/stat). */
async function machineJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] as string;
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function post(
  url: string,
  body: string,
): Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
}

/** Dashboard queries one after another, one every 100 ms, until `running()` turns false. */
async function probe(
  url: string,
  running: () => boolean,
): Promise<{ page: number[]; stats: number[]; errors: number }> {
  const page: number[] = [];
  const stats: number[] = [];
  let errors = 0;
  for (let k = 0; running(); k++) {
    const started = performance.now();
    const to = new Date();
    const body =
      k % 2 === 0
        ? JSON.stringify({ query: PAGE })
        : JSON.stringify({ query: STATS, variables: { r: { from: new Date(to.getTime() - 60_000), to } } });
    const answer = await post(url, body);
    if (answer.errors) errors++;
    (k % 2 === 0 ? page : stats).push(performance.now() - started);
    await sleep(Math.max(0, started + 100 - performance.now()));
  }
  page.sort((a, b) => a - b);
  stats.sort((a, b) => a - b);
  return { page, stats, errors };
}

/**
 * CLIENTS closed-loop clients sending recordTrades batches until `until`; counts the batches
 * acknowledged (COMMITTED) by then. QUEUE_FULL and OVERLOADED are backed off and sent again.
 */
async function writeLoad(url: string, parts: string[], tag: string, until: number) {
  let batches = 0;
  let rows = 0;
  /** Rows acknowledged, also after `until` (the batches in flight then): what the CPU was spent on. */
  let rowsAll = 0;
  let backoffs = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let n = 0; performance.now() < until; n++) {
        const body = fill(parts, `${tag}${c}-${n}`, new Date().toISOString().slice(0, 19));
        const sent = performance.now();
        const answer = await post(url, body);
        const code = answer.errors?.[0]?.extensions?.code;
        if (code === "QUEUE_FULL" || code === "OVERLOADED") {
          // What a bot does: back off, send the batch again.
          backoffs++;
          await sleep(20);
          continue;
        }
        if (answer.errors) throw new Error(`recordTrades failed: ${JSON.stringify(answer.errors[0])}`);
        const accepted = (answer.data as { recordTrades: { accepted: number } }).recordTrades.accepted;
        rowsAll += accepted;
        if (performance.now() <= until) {
          batches++;
          rows += accepted;
          latencies.push(performance.now() - sent);
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { batches, rows, rowsAll, backoffs, latencies };
}

interface PhaseResult {
  label: string;
  instances: number;
  rowsPerSecond: number;
  batchP50: number;
  batchP99: number;
  backoffs: number;
  idle: Awaited<ReturnType<typeof probe>>;
  loaded: Awaited<ReturnType<typeof probe>>;
  cpu: { apis: number; haproxy: number; questdb: number; generator: number; machineBusy: number };
  /** CPU milliseconds per 1,000 rows acknowledged: of the APIs together, and of QuestDB. */
  msPer1000: { apis: number; questdb: number };
}

async function phase(
  questdb: { httpPort: number; pgPort: number; pid: number },
  label: string,
  instances: number,
  balanced: boolean,
  prefix: string,
): Promise<PhaseResult> {
  const apis: ChildProcess[] = [];
  let lb: LocalHaproxy | undefined;
  try {
    const ports: number[] = [];
    // One after another: the first creates the tables, the others find them.
    for (let i = 0; i < instances; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, API_NODE_ARGS, {
        env: apiEnv(port, questdb, {
          QUESTDB_TABLE_PREFIX: prefix,
          INSTANCE_ID: `${prefix}${i + 1}`,
          LOG_LEVEL: "warn",
        }),
        stdio: ["ignore", "inherit", "inherit"],
      });
      apis.push(child);
      for (let k = 0; ; k++) {
        const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (k > 600 || child.exitCode !== null) throw new Error(`API ${i + 1} of ${label} did not become ready`);
        await sleep(100);
      }
      ports.push(port);
    }
    if (balanced) lb = await startLocalHaproxy(await freePort(), ports);
    const url = lb?.url ?? `http://127.0.0.1:${ports[0]}`;

    log(`${label}: idle dashboard queries for 5 s…`);
    const idleUntil = performance.now() + 5_000;
    const idle = await probe(url, () => performance.now() < idleUntil);

    log(`${label}: ${CLIENTS} clients, recordTrades (${BATCH} rows, COMMITTED) for ${DURATION_S} s…`);
    const parts = batchTemplate();
    const pids = { apis: apis.map((a) => a.pid as number), haproxy: lb?.child.pid, questdb: questdb.pid };
    const cpuOf = async () => ({
      apis: (await Promise.all(pids.apis.map(cpuSeconds))).reduce((a, b) => a + b, 0),
      haproxy: pids.haproxy ? await cpuSeconds(pids.haproxy) : 0,
      questdb: await cpuSeconds(pids.questdb),
      generator: await cpuSeconds(process.pid),
      machine: await machineJiffies(),
    });
    // Each API's first batches run cold code (and the first phase's QuestDB too): a few seconds
    // of the same load first, not counted.
    await writeLoad(url, parts, `${prefix}warm`, performance.now() + WARMUP_S * 1000);
    const cpu0 = await cpuOf();
    const started = performance.now();
    const until = started + DURATION_S * 1000;
    const probing = probe(url, () => performance.now() < until);
    const { batches, rows, rowsAll, backoffs, latencies } = await writeLoad(url, parts, prefix, until);
    const seconds = (performance.now() - started) / 1000;
    const loaded = await probing;
    const cpu1 = await cpuOf();
    log(`${label}: ${Math.round(rows / DURATION_S)} rows/s (${batches} batches), ${backoffs} back-offs`);
    return {
      label,
      instances,
      rowsPerSecond: rows / DURATION_S,
      batchP50: percentile(latencies, 50),
      batchP99: percentile(latencies, 99),
      backoffs,
      idle,
      loaded,
      cpu: {
        apis: (cpu1.apis - cpu0.apis) / seconds,
        haproxy: (cpu1.haproxy - cpu0.haproxy) / seconds,
        questdb: (cpu1.questdb - cpu0.questdb) / seconds,
        generator: (cpu1.generator - cpu0.generator) / seconds,
        machineBusy: (cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total),
      },
      msPer1000: {
        apis: ((cpu1.apis - cpu0.apis) * 1e6) / rowsAll,
        questdb: ((cpu1.questdb - cpu0.questdb) * 1e6) / rowsAll,
      },
    };
  } finally {
    await lb?.stop();
    await Promise.all(
      apis.map(
        (api) =>
          new Promise<void>((done) => {
            if (api.exitCode !== null || api.signalCode !== null) return done();
            api.once("exit", () => done());
            api.kill("SIGTERM");
          }),
      ),
    );
  }
}

async function main() {
  ensureHaproxy(log);
  const load0 = loadavg();
  const { questdb, close } = await startBenchQuestDb("scale", log);
  try {
    const address = { httpPort: questdb.httpPort, pgPort: questdb.pgPort, pid: questdb.pid };
    const direct = await phase(address, "1 API, direct", 1, false, "direct_");
    // The machine is shared and noisy: 1 and N instances take turns (1, N, N, 1, …) and each
    // keeps its best round (by rows/s), as bench:ingest does for its spool comparison.
    const rounds: Record<"one" | "many", PhaseResult[]> = { one: [], many: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (["one", "many"] as const) : (["many", "one"] as const);
      for (const which of order) {
        rounds[which].push(
          which === "one"
            ? await phase(address, "1 API behind HAProxy", 1, true, `one${round}_`)
            : await phase(address, `${INSTANCES} APIs behind HAProxy`, INSTANCES, true, `many${round}_`),
        );
      }
    }
    const best = (runs: PhaseResult[]) => runs.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
    const results = [direct, best(rounds.one), best(rounds.many)];
    const load1 = loadavg();

    const n = (x: number) => Math.round(x).toLocaleString("en");
    const ms = (sorted: number[]) => `${percentile(sorted, 50).toFixed(0)} / ${percentile(sorted, 99).toFixed(0)}`;
    const base = results[1] as PhaseResult;
    const all = (r: PhaseResult) =>
      r === direct
        ? n(r.rowsPerSecond)
        : rounds[r.instances === 1 ? "one" : "many"].map((x) => n(x.rowsPerSecond)).join(", ");
    const lines = [
      "| Phase | recordTrades rows/s, COMMITTED (every round) | vs 1 API behind HAProxy | batch p50 / p99, ms | back-offs | newest-20 page p50 / p99, ms: idle → loaded | last-minute stats p50 / p99, ms: idle → loaded | query errors | CPU cores: APIs / HAProxy / QuestDB / load generator | CPU ms per 1,000 rows: APIs / QuestDB | machine busy |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
      ...results.map(
        (r) =>
          `| ${r.label} | ${n(r.rowsPerSecond)} (${all(r)}) | ${((r.rowsPerSecond / base.rowsPerSecond) * 100).toFixed(0)}% | ${r.batchP50.toFixed(0)} / ${r.batchP99.toFixed(0)} | ${r.backoffs} | ${ms(r.idle.page)} → ${ms(r.loaded.page)} | ${ms(r.idle.stats)} → ${ms(r.loaded.stats)} | ${r.idle.errors + r.loaded.errors} | ${r.cpu.apis.toFixed(2)} / ${r.cpu.haproxy.toFixed(2)} / ${r.cpu.questdb.toFixed(2)} / ${r.cpu.generator.toFixed(2)} | ${r.msPer1000.apis.toFixed(0)} / ${r.msPer1000.questdb.toFixed(0)} | ${(r.cpu.machineBusy * 100).toFixed(0)}% |`,
      ),
    ];
    const header = `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}; load average ${load0[0]?.toFixed(1)} before, ${load1[0]?.toFixed(1)} after: the machine is shared), QuestDB ${QUESTDB_VERSION}, the APIs (\`npm start\`'s flags, defaults otherwise), HAProxy (Debian's, deploy/haproxy.cfg) and the load generator on the same machine; ${CLIENTS} closed-loop clients sending batches of ${BATCH.toLocaleString("en")} rows for ${DURATION_S} s per phase, dashboard queries one every 100 ms (alternating), 5 s idle before the load and ${WARMUP_S} s of uncounted load before the clock; behind HAProxy, 1 and ${INSTANCES} instances take turns for ${ROUNDS} rounds each and the best round of each is shown. Command: \`npm run bench:scale\`.`;
    console.log(`\n${header}\n\n${lines.join("\n")}\n`);
    await recordInDocs(
      "scale",
      "Scaling benchmark: 1 vs several API instances on one QuestDB",
      `${header}\n\n${lines.join("\n")}`,
    );
  } finally {
    await close();
  }
}

await main();
