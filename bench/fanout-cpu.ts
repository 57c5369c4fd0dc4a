// `npm run bench:fanout`: the API's CPU per 1,000 tradeRecorded deliveries, the cost of live
// fan-out alone (issue 15, point 3). Two phases on one QuestDB, each its own API process: the
// same subscribers and the same load, first with every row matching a subscriber's filter, then
// with no row matching (same polls, no deliveries); the difference in the API's CPU time
// (/proc/<pid>/stat) divided by the deliveries is the fan-out's cost. Not recorded in the docs.
// BENCH_COMPARE_DIR (another checkout, e.g. /work/main): its API runs beside this one's, under
// the same load at the same time, so that both see the same machine (side by side).
// Env: BENCH_SUBSCRIBERS (1000), BENCH_QUERIES (10 filters), BENCH_ROWS_PER_S (100),
//      BENCH_DURATION_S (10), BENCH_API_NODE_ARGS (e.g. --cpu-prof), BENCH_API_ENV (k=v,…).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort, startLocalQuestDb } from "../src/questdb/local-server.ts";
import { API_NODE_ARGS, apiEnv } from "./docs.ts";
import { benchTrade } from "./rows.ts";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 10);
const ROWS_PER_S = Number(process.env.BENCH_ROWS_PER_S ?? 100);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const EXTRA_ENV = Object.fromEntries(
  (process.env.BENCH_API_ENV ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => kv.split("=") as [string, string]),
);
const log = (line: string) => console.log(`[bench:fanout] ${line}`);

/** CPU time (user + system) of a process in ms, from /proc (clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** One recordTrades request, its answer read and dropped. */
async function recordTrades(url: string, inputs: unknown[], durability: "QUEUED" | "COMMITTED"): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `mutation($i: [TradeInput!]!) { recordTrades(inputs: $i, durability: ${durability}) { accepted } }`,
      variables: { i: inputs },
    }),
  });
  await response.arrayBuffer();
}

async function startApi(questdb: { httpPort: number; pgPort: number }, env: Record<string, string>, cwd: string) {
  const port = await freePort();
  const extraArgs = (process.env.BENCH_API_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const api: ChildProcess = spawn(process.execPath, [...extraArgs, ...API_NODE_ARGS], {
    env: apiEnv(port, questdb, { LOG_LEVEL: "error", SYSTEM_METRICS_INTERVAL_MS: "0", ...EXTRA_ENV, ...env }),
    stdio: ["ignore", "inherit", "inherit"],
    cwd,
  });
  const url = `http://127.0.0.1:${port}`;
  for (
    let i = 0;
    !(await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 600) throw new Error("API did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { api, port, url };
}

async function phase(questdb: { httpPort: number; pgPort: number }, prefix: string, matching: boolean, cwd: string) {
  const { api, port, url } = await startApi(questdb, { QUESTDB_TABLE_PREFIX: prefix }, cwd);
  try {
    let deliveries = 0;
    let connected = 0;
    let measuring = false;
    const sockets: WebSocket[] = [];
    const open = (k: number) =>
      new Promise<void>((done) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
        sockets.push(ws);
        ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
        ws.on("message", (raw: Buffer) => {
          const message = JSON.parse(raw.toString()) as { type: string };
          if (message.type === "connection_ack") {
            connected++;
            const payload = {
              query: "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId timestamp } }",
              variables: { f: { venue: `v${k}` } },
            };
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload }));
            done();
          } else if (message.type === "next" && measuring) deliveries++;
        });
        ws.on("error", () => done());
        ws.on("close", () => done());
      });
    for (let i = 0; i < SUBSCRIBERS; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, SUBSCRIBERS - i) }, (_, j) => open((i + j) % QUERIES)));
    }
    let ingesting = true;
    let n = 0;
    const perBatch = Math.max(1, Math.round(ROWS_PER_S / 10));
    const ingest = (async () => {
      while (ingesting) {
        const started = Date.now();
        const inputs = Array.from({ length: perBatch }, () => {
          const i = n++;
          return benchTrade(`f-${i}`, new Date().toISOString(), { venue: matching ? `v${i % QUERIES}` : "none" });
        });
        await recordTrades(url, inputs, "QUEUED");
        await new Promise((done) => setTimeout(done, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
    await new Promise((r) => setTimeout(r, 2_000));
    measuring = true;
    const cpu0 = await cpuMs(api.pid as number);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, DURATION_S * 1000));
    const cpu1 = await cpuMs(api.pid as number);
    const elapsed = (performance.now() - t0) / 1000;
    measuring = false;
    ingesting = false;
    await ingest;
    for (const ws of sockets) ws.terminate();
    return { cpuMs: cpu1 - cpu0, elapsed, deliveries, connected };
  } finally {
    api.kill("SIGTERM");
    await new Promise((done) => api.once("exit", done));
  }
}

/**
 * BENCH_BURST=<k>: a fixed amount of work instead of a rate (steadier on a loaded machine): one
 * recordTrades of k trades spread over the filters, the API's CPU from before it until every
 * subscriber has its trades.
 */
async function burst(questdb: { httpPort: number; pgPort: number }, prefix: string, cwd: string, k: number) {
  const { api, port, url } = await startApi(questdb, { QUESTDB_TABLE_PREFIX: prefix }, cwd);
  try {
    let deliveries = 0;
    const sockets: WebSocket[] = [];
    const open = (q: number) =>
      new Promise<boolean>((done) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
        sockets.push(ws);
        ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
        ws.on("message", (raw: Buffer) => {
          const message = JSON.parse(raw.toString()) as { type: string };
          if (message.type === "connection_ack") {
            const payload = {
              query: "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId timestamp } }",
              variables: { f: { venue: `v${q}` } },
            };
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload }));
            done(true);
          } else if (message.type === "next") deliveries++;
        });
        ws.on("error", () => done(false));
        ws.on("close", () => done(false));
      });
    let connected = 0;
    for (let i = 0; i < SUBSCRIBERS; i += 100) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, (_, j) => open((i + j) % QUERIES)),
      );
      connected += opened.filter(Boolean).length;
    }
    await new Promise((r) => setTimeout(r, 2_000)); // each poller's first poll marks "now"
    const start = Date.now() * 1000;
    const inputs = Array.from({ length: k }, (_, i) =>
      benchTrade(`b-${i}`, new Date((start + i) / 1000).toISOString(), { venue: `v${i % QUERIES}` }),
    );
    const expected = (connected * k) / QUERIES;
    const cpu0 = await cpuMs(api.pid as number);
    await recordTrades(url, inputs, "COMMITTED");
    const deadline = Date.now() + 120_000;
    while (deliveries < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const cpu1 = await cpuMs(api.pid as number);
    for (const ws of sockets) ws.terminate();
    return { connected, deliveries, expected, cpuMs: cpu1 - cpu0 };
  } finally {
    api.kill("SIGTERM");
    await new Promise((done) => api.once("exit", done));
  }
}

const root = await mkdtemp(join(tmpdir(), "bench-fanout-"));
const questdb = await startLocalQuestDb({ jarDir: ".questdb", rootDir: root, httpPort: 0, pgPort: 0, log });
const COMPARE = process.env.BENCH_COMPARE_DIR;
const dirs = [process.cwd(), ...(COMPARE ? [COMPARE] : [])];
const BURST = Number(process.env.BENCH_BURST ?? 0);
try {
  if (BURST > 0) {
    for (const [i, dir] of [...dirs, ...dirs].entries()) {
      const r = await burst(questdb, `burst${i}_`, dir, BURST);
      log(
        `${dir}: ${r.connected}/${SUBSCRIBERS} subscribers, ${r.deliveries}/${r.expected} deliveries of ${BURST} trades; API CPU ${r.cpuMs} ms, ${((1000 * r.cpuMs) / r.deliveries).toFixed(1)} ms per 1,000 deliveries`,
      );
    }
  } else {
    const on = await Promise.all(dirs.map((dir, i) => phase(questdb, `fan${i}_`, true, dir)));
    const off = await Promise.all(dirs.map((dir, i) => phase(questdb, `nofan${i}_`, false, dir)));
    const perS = (r: { cpuMs: number; elapsed: number }) => r.cpuMs / r.elapsed;
    log(
      `${SUBSCRIBERS} subscribers, ${QUERIES} filters, ${ROWS_PER_S} rows/s, ${DURATION_S} s${Object.keys(EXTRA_ENV).length ? `, ${process.env.BENCH_API_ENV}` : ""}`,
    );
    dirs.forEach((dir, i) => {
      const a = on[i] as Awaited<ReturnType<typeof phase>>;
      const b = off[i] as Awaited<ReturnType<typeof phase>>;
      log(
        `${dir}: ${a.connected}/${SUBSCRIBERS} subscribers, ${a.deliveries} deliveries (${(a.deliveries / a.elapsed).toFixed(0)}/s), API CPU ${perS(a).toFixed(0)} ms/s (no match: ${perS(b).toFixed(0)} ms/s); fan-out CPU per 1,000 deliveries ${((1000 * (perS(a) - perS(b))) / (a.deliveries / a.elapsed)).toFixed(1)} ms, all API CPU per 1,000 ${((1000 * a.cpuMs) / a.deliveries).toFixed(1)} ms`,
      );
    });
  }
} finally {
  await questdb.stop();
  await rm(root, { recursive: true, force: true });
}
