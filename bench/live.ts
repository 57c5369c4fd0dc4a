// `npm run bench:live`: 5,000 WebSocket subscribers across 50 distinct queries while 10,000 rows
// per second are ingested; SQL statements per second against the baseline of one poller per
// subscriber (LIVE_COHORTS=off), measured in the same run on the same QuestDB.
//   queries 0, 2, 4, …, 48: tradeRecorded(filter: { venue: "v<k>" }) (1 % of rows match one of them)
//   queries 1, 3, 5, …, 49: liveMetrics(windowSeconds: 10 + k, strategy: "s<k mod 10>")
// Env: BENCH_SUBSCRIBERS (5000), BENCH_QUERIES (50), BENCH_ROWS_PER_S (10000),
//      BENCH_DURATION_S (20; the baseline runs half as long), BENCH_API_NODE_ARGS (e.g. --cpu-prof).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort, startLocalQuestDb } from "../src/questdb/local-server.ts";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { formatIsoMicros } from "../src/time.ts";
import { API_NODE_ARGS, apiEnv, percentile, recordInDocs, rssOf } from "./docs.ts";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 5000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 50);
const ROWS_PER_S = Number(process.env.BENCH_ROWS_PER_S ?? 10_000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const log = (line: string) => console.log(`[bench:live] ${line}`);

const query = (k: number) =>
  k % 2 === 0
    ? {
        query: "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId timestamp } }",
        variables: { f: { venue: `v${k}` } },
      }
    : {
        query:
          "subscription($w: Int!, $s: String) { liveMetrics(windowSeconds: $w, strategy: $s) { trades tradesPerSecond latency { stage p99Us } } }",
        variables: { w: 10 + k, s: `s${k % 10}` },
      };

/** A trade input as the loader sends it; `extra` sets the fields a scenario filters on. */
function benchTrade(
  tradeId: string,
  timestamp: string,
  extra: { venue: string; strategy?: string; baseToken?: string },
) {
  return {
    tradeId,
    timestamp,
    action: "BUY",
    baseToken: "SOL",
    quoteToken: "USDC",
    baseAmount: 1,
    quoteAmount: 200,
    executedPrice: 200,
    transactionFee: 5000,
    priorityFee: 0,
    expectedSlippage: 0.01,
    actualSlippage: 0.001,
    mevStatus: "PROTECTED",
    transferFees: 0,
    ...extra,
  };
}

interface PhaseResult {
  statementsPerS: number;
  pollsPerS: number;
  messages: number;
  latencies: number[];
  maxRssMb: number;
  connected: number;
  closedEarly: number;
  ingestedPerS: number;
  /** tradeRecorded deliveries that came after a later trade of the same subscriber (must be 0). */
  outOfOrder: number;
  /** Trades accepted for a subscriber's filter that it never received, and ones received twice. */
  missing: number;
  duplicates: number;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

/** The API in its own process, ready. */
async function startApi(questdb: { httpPort: number; pgPort: number }, env: Record<string, string>) {
  const port = await freePort();
  // BENCH_API_NODE_ARGS: node flags NODE_OPTIONS refuses, e.g. --cpu-prof to profile the API.
  const extraArgs = (process.env.BENCH_API_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const api: ChildProcess = spawn(process.execPath, [...extraArgs, ...API_NODE_ARGS], {
    env: apiEnv(port, questdb, { LOG_LEVEL: "error", SYSTEM_METRICS_INTERVAL_MS: "0", ...env }),
    stdio: ["ignore", "inherit", "inherit"],
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
    if (i > 600) {
      api.kill("SIGKILL");
      throw new Error("API did not become ready");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { api, port, url };
}

async function phase(
  questdb: { httpPort: number; pgPort: number },
  cohorts: boolean,
  durationS: number,
): Promise<PhaseResult> {
  const { api, port, url } = await startApi(questdb, {
    QUESTDB_TABLE_PREFIX: cohorts ? "live_" : "solo_",
    LIVE_COHORTS: cohorts ? "on" : "off",
  });
  try {
    // Subscribers: one WebSocket each, speaking graphql-transport-ws.
    const sockets: WebSocket[] = [];
    const latencies: number[] = [];
    let messages = 0;
    let connected = 0;
    let closedEarly = 0;
    let measuring = false;
    // Per tradeRecorded subscriber: the numbers of the trades it received (tradeId live-<n>), in
    // order of arrival. One loader writes timestamps in order, so no trade is ever late.
    const received = new Map<WebSocket, { k: number; ids: number[] }>();
    let outOfOrder = 0;
    const open = (k: number) =>
      new Promise<void>((done) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
        sockets.push(ws);
        const mine = { k, ids: [] as number[] };
        if (k % 2 === 0) received.set(ws, mine);
        ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
        ws.on("message", (raw: Buffer) => {
          const message = JSON.parse(raw.toString()) as {
            type: string;
            payload?: { data?: Record<string, { timestamp?: string; tradeId?: string }> };
          };
          if (message.type === "connection_ack") {
            connected++;
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: query(k) }));
            done();
          } else if (message.type === "next") {
            const trade = message.payload?.data?.tradeRecorded;
            if (trade?.tradeId) {
              const n = Number(trade.tradeId.slice("live-".length));
              if (mine.ids.length > 0 && n <= (mine.ids.at(-1) as number)) outOfOrder++;
              mine.ids.push(n);
            }
            if (!measuring) return;
            messages++;
            const stamp = trade?.timestamp;
            if (stamp) latencies.push(Date.now() - Date.parse(stamp));
          }
        });
        ws.on("close", () => {
          if (measuring) closedEarly++;
        });
        ws.on("error", () => done());
      });
    for (let i = 0; i < SUBSCRIBERS; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, SUBSCRIBERS - i) }, (_, j) => open((i + j) % QUERIES)));
      if ((i / 250) % 4 === 3)
        log(`${cohorts ? "cohorts" : "baseline"}: ${connected}/${SUBSCRIBERS} subscribers connected`);
    }
    log(
      `${cohorts ? "cohorts" : "baseline"}: ${connected} subscribers, ${QUERIES} distinct queries; ingesting ${ROWS_PER_S} rows/s for ${durationS} s…`,
    );

    // Ingest: every 100 ms a batch of ROWS_PER_S / 10 trades timestamped now.
    let sent = 0;
    let ingesting = true;
    /** Accepted trade numbers per tradeRecorded query k. */
    const accepted = new Map<number, number[]>();
    const perBatch = Math.round(ROWS_PER_S / 10);
    const ingest = (async () => {
      let n = 0;
      while (ingesting) {
        const started = Date.now();
        const inputs = Array.from({ length: perBatch }, () => {
          const i = n++;
          const k = i % 100 === 0 ? ((i / 100) % (QUERIES / 2)) * 2 : -1;
          return benchTrade(`live-${i}`, new Date().toISOString(), {
            strategy: `s${i % 10}`,
            venue: k >= 0 ? `v${k}` : "main",
          });
        });
        const r = await fetch(`${url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            query: "mutation($i: [TradeInput!]!) { recordTrades(inputs: $i) { accepted } }",
            variables: { i: inputs },
          }),
        });
        const answer = (await r.json()) as { errors?: unknown };
        if (r.ok && !answer.errors) {
          sent += perBatch;
          for (const input of inputs) {
            if (input.venue === "main") continue;
            const k = Number(input.venue.slice(1));
            const list = accepted.get(k) ?? [];
            list.push(Number(input.tradeId.slice("live-".length)));
            accepted.set(k, list);
          }
        }
        await new Promise((done) => setTimeout(done, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
    await new Promise((r) => setTimeout(r, 2_000)); // warm up
    let maxRss = 0;
    const rssTimer = setInterval(() => void rssOf(api.pid as number).then((r) => (maxRss = Math.max(maxRss, r))), 250);
    const statements0 = await metric(url, "live_statements_total");
    const polls0 = await metric(url, "live_polls_total");
    const sent0 = sent;
    measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationS * 1000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    const statements1 = await metric(url, "live_statements_total");
    const polls1 = await metric(url, "live_polls_total");
    const sent1 = sent;
    clearInterval(rssTimer);
    ingesting = false;
    await ingest;
    // What was accepted reaches every subscriber of its filter: wait for the last trades, then count.
    await new Promise((r) => setTimeout(r, 5_000));
    let missing = 0;
    let duplicates = 0;
    for (const { k, ids } of received.values()) {
      const distinct = new Set(ids);
      duplicates += ids.length - distinct.size;
      for (const n of accepted.get(k) ?? []) if (!distinct.has(n)) missing++;
    }
    for (const ws of sockets) ws.terminate();
    latencies.sort((a, b) => a - b);
    return {
      statementsPerS: (statements1 - statements0) / elapsed,
      pollsPerS: (polls1 - polls0) / elapsed,
      messages,
      latencies,
      maxRssMb: maxRss / 1024 / 1024,
      connected,
      closedEarly,
      ingestedPerS: (sent1 - sent0) / elapsed,
      outOfOrder,
      missing,
      duplicates,
    };
  } finally {
    api.kill("SIGTERM");
    await new Promise((done) => api.once("exit", done));
  }
}

/**
 * One recordTrades of 20,000 trades (twice the tradeRecorded poll's page) and three subscribers
 * (two sharing a poller, one on another filter): ms from the COMMITTED answer to each subscriber's
 * last trade, and whether each got all of them in order.
 */
async function bigBatch(questdb: { httpPort: number; pgPort: number }) {
  const { api, port, url } = await startApi(questdb, {
    QUESTDB_TABLE_PREFIX: "big_",
    MAX_RECORDS_PER_REQUEST: "20000",
    MAX_BODY_BYTES: String(32 << 20),
  });
  try {
    const filters = [{ venue: "big" }, { venue: "big" }, { baseToken: "BIG" }];
    const subscribers = await Promise.all(
      filters.map(
        (f) =>
          new Promise<{ ws: WebSocket; ids: number[]; last: number }>((done) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
            const state = { ws, ids: [] as number[], last: 0 };
            ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
            ws.on("message", (raw: Buffer) => {
              const message = JSON.parse(raw.toString()) as {
                type: string;
                payload?: { data?: { tradeRecorded?: { tradeId: string } } };
              };
              if (message.type === "connection_ack") {
                const subscription = { ...query(0), variables: { f } };
                ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: subscription }));
                done(state);
              }
              const id = message.payload?.data?.tradeRecorded?.tradeId;
              if (message.type === "next" && id) {
                state.ids.push(Number(id.slice("big-".length)));
                state.last = performance.now();
              }
            });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1_500)); // each poller's first poll marks "now"
    const start = BigInt(Date.now()) * 1000n;
    const inputs = Array.from({ length: 20_000 }, (_, i) =>
      benchTrade(`big-${i}`, formatIsoMicros(start + BigInt(i)), { baseToken: "BIG", venue: "big" }),
    );
    const r = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: "mutation($i: [TradeInput!]!) { recordTrades(inputs: $i, durability: COMMITTED) { accepted } }",
        variables: { i: inputs },
      }),
    });
    await r.arrayBuffer();
    const committed = performance.now();
    const deadline = committed + 30_000;
    while (subscribers.some((s) => s.ids.length < 20_000) && performance.now() < deadline) {
      await new Promise((done) => setTimeout(done, 20));
    }
    const inOrder = subscribers.every((s) => s.ids.length === 20_000 && s.ids.every((n, i) => n === i));
    const ms = Math.max(...subscribers.map((s) => (s.ids.length === 20_000 ? s.last - committed : Number.NaN)));
    for (const s of subscribers) s.ws.terminate();
    return { ms, inOrder };
  } finally {
    api.kill("SIGTERM");
    await new Promise((done) => api.once("exit", done));
  }
}

async function main() {
  const root = await mkdtemp(join(tmpdir(), "bench-live-"));
  const questdb = await startLocalQuestDb({ jarDir: ".questdb", rootDir: root, httpPort: 0, pgPort: 0, log });
  try {
    const shared = await phase(questdb, true, DURATION_S);
    const solo = await phase(questdb, false, Math.max(5, Math.round(DURATION_S / 2)));
    log("one batch of 20,000 trades to three subscribers…");
    const big = await bigBatch(questdb);
    const perQueryPoll = shared.statementsPerS / Math.max(shared.pollsPerS, 1);
    const p50 = percentile(shared.latencies, 50);
    const p99 = percentile(shared.latencies, 99);
    const lines = [
      "| Figure | Cohorts (one poller per distinct query) | Baseline (one poller per subscriber) | Target | Met |",
      "|---|---|---|---|---|",
      `| subscribers connected / distinct queries | ${shared.connected} / ${QUERIES} | ${solo.connected} / ${QUERIES} | 5,000 / 50 | ${shared.connected >= 5000 ? "yes" : "no"} |`,
      `| rows ingested per second | ${Math.round(shared.ingestedPerS).toLocaleString("en")} | ${Math.round(solo.ingestedPerS).toLocaleString("en")} | 10,000 | ${shared.ingestedPerS >= 9_500 ? "yes" : "no"} |`,
      `| SQL statements per second (live queries) | ${shared.statementsPerS.toFixed(0)} | ${solo.statementsPerS.toFixed(0)} | ≤ 1 per distinct query per poll | ${perQueryPoll <= 1.1 ? "yes" : "no"} |`,
      `| polls per second / statements per poll | ${shared.pollsPerS.toFixed(0)} / ${perQueryPoll.toFixed(2)} | ${solo.pollsPerS.toFixed(0)} / ${(solo.statementsPerS / Math.max(solo.pollsPerS, 1)).toFixed(2)} | | |`,
      `| messages delivered per second | ${Math.round(shared.messages / DURATION_S).toLocaleString("en")} | ${Math.round(solo.messages / Math.max(5, Math.round(DURATION_S / 2))).toLocaleString("en")} | | |`,
      `| tradeRecorded event → client latency p50 / p99, ms | ${p50} / ${p99} | ${percentile(solo.latencies, 50)} / ${percentile(solo.latencies, 99)} | p99 ≤ 1,000 | ${p99 <= 1000 ? "yes" : "no"} |`,
      `| API RSS, max, MB | ${shared.maxRssMb.toFixed(0)} | ${solo.maxRssMb.toFixed(0)} | ≤ 1,024 | ${shared.maxRssMb <= 1024 ? "yes" : "no"} |`,
      `| subscribers disconnected during the run | ${shared.closedEarly} | ${solo.closedEarly} | 0 | ${shared.closedEarly === 0 ? "yes" : "no"} |`,
      `| one recordTrades of 20,000 trades: COMMITTED answer → last trade at each of 3 subscribers, ms (all, in order) | ${big.ms.toFixed(0)} (${big.inOrder ? "yes" : "no"}) | | ≤ 2,000, in order | ${big.ms <= 2000 && big.inOrder ? "yes" : "no"} |`,
      `| tradeRecorded deliveries out of order / missing (not received 5 s after the load stopped) / duplicated, over every subscriber and every accepted trade | ${shared.outOfOrder} / ${shared.missing} / ${shared.duplicates} | ${solo.outOfOrder} / ${solo.missing} / ${solo.duplicates} | 0 / 0 / 0 | ${shared.outOfOrder + shared.missing + shared.duplicates === 0 ? "yes" : "no"} |`,
    ];
    const header = `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), QuestDB ${QUESTDB_VERSION}, API, subscribers and loader on one machine; ${DURATION_S} s measured (baseline ${Math.max(5, Math.round(DURATION_S / 2))} s). Each poll is one statement (tradeRecorded: rows after the watermark and the late-window count in one UNION ALL, plus a rare re-read of the late window; liveMetrics: trades and latency in one UNION ALL); the statements also include one transaction check per tick (4 per second) shared by every poller. Command: \`npm run bench:live\`.`;
    console.log(`\n${header}\n\n${lines.join("\n")}\n`);
    await recordInDocs("live", "Live subscriptions benchmark", `${header}\n\n${lines.join("\n")}`);
  } finally {
    await questdb.stop();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
