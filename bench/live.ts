// `npm run bench:live`: 5,000 WebSocket subscribers across 50 distinct queries while 10,000 rows
// per second are ingested; SQL statements per second against the baseline of one poller per
// subscriber (LIVE_COHORTS=off), and event → client latency with pokes (this instance's flushes
// start polls at once) against the tick only (LIVE_POKE=off), with where the time goes (the API's
// live_event_stage_seconds), all measured in the same run on the same QuestDB.
//   queries 0, 2, 4, …, 48: tradeRecorded(filter: { venue: "v<k>" }) (1 % of rows match one of them)
//   queries 1, 3, 5, …, 49: liveMetrics(windowSeconds: 10 + k, strategy: "s<k mod 10>")
// Env: BENCH_SUBSCRIBERS (5000), BENCH_QUERIES (50), BENCH_ROWS_PER_S (10000),
//      BENCH_DURATION_S (20; the baseline runs half as long), BENCH_WARMUP_S (10: load before the
//      measured seconds, its latency reported apart), BENCH_API_NODE_ARGS (e.g. --cpu-prof),
//      BENCH_POKE_ONLY=1, BENCH_TIMELINE=1, BENCH_BIG_ONLY=1 (the 20,000-trade batch alone, with
//      its arrivals and stages), BENCH_QUESTDB_WARMUP_S (15: a throwaway phase first; 0 skips it).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort, startLocalQuestDb } from "../src/questdb/local-server.ts";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { formatIsoMicros } from "../src/time.ts";
import { API_NODE_ARGS, apiEnv, percentile, recordInDocs, rssOf } from "./docs.ts";
import { benchTrade } from "./rows.ts";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 5000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 50);
const ROWS_PER_S = Number(process.env.BENCH_ROWS_PER_S ?? 10_000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
/**
 * Seconds of load before the measured ones. A fresh API process (and, in the first phase, a fresh
 * QuestDB) runs its first seconds of load unoptimised (V8's and the JVM's JIT compilers at work):
 * the loader falls behind and catches up over 5–8 s. Those seconds' latency is reported apart.
 */
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 10);
/**
 * Seconds of a throwaway phase (500 subscribers, the same rows per second, tables of its own) run
 * before the measured ones, so that the first measured phase does not run on a QuestDB whose JIT
 * compilers are still at work on its first minute of load (docs/benchmarks.md, "the run recorded
 * at 21:35"): every measured phase then finds QuestDB in the same state.
 */
const QUESTDB_WARMUP_S = Number(process.env.BENCH_QUESTDB_WARMUP_S ?? 15);
/** The loader's largest batch, in batches of ROWS_PER_S / 10 (after a slow answer it catches up). */
const MAX_BATCH_FACTOR = 5;
/** BENCH_POKE_ONLY=1: only the poke phase, its figures on one line, nothing recorded. */
const POKE_ONLY = process.env.BENCH_POKE_ONLY === "1";
/** BENCH_TIMELINE=1: each second, the events' latency and the loader's requests (to find stalls). */
const TIMELINE = process.env.BENCH_TIMELINE === "1";
/** BENCH_BIG_ONLY=1: only the 20,000-trade batch, with its arrivals and stages, nothing recorded. */
const BIG_ONLY = process.env.BENCH_BIG_ONLY === "1";
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

interface PhaseResult {
  statementsPerS: number;
  /** tradeRecorded's poll statements a second: with the late-window count, and without it (tradeRecorded.fresh). */
  countedPerS: number;
  freshPerS: number;
  rangeLoadsPerS: number;
  pollsPerS: number;
  /** Transaction checks (wal_tables()) per second: by ticks, for pokes. */
  tickChecksPerS: number;
  pokeChecksPerS: number;
  /** Where the time of tradeRecorded events went, per stage, over the measured seconds. */
  stages: Map<string, Buckets>;
  messages: number;
  latencies: number[];
  /** Event → client latency during the warm-up seconds (ascending). */
  warmupLatencies: number[];
  maxRssMb: number;
  connected: number;
  closedEarly: number;
  ingestedPerS: number;
  /** tradeRecorded deliveries that came after a later trade of the same subscriber (must be 0). */
  outOfOrder: number;
  /** The loader's recordTrades requests over the measured seconds (ms, ascending): part of each event's time. */
  requestMs: number[];
  /** The loader's batch sizes over the measured seconds (ascending): ROWS_PER_S / 10, more after a slow answer. */
  batchSizes: number[];
  /** Trades accepted for a subscriber's filter that it never received, and ones received twice. */
  missing: number;
  duplicates: number;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const escaped = name.replace(/[{}"]/g, "\\$&");
  return Number(new RegExp(`^${escaped} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

/** A histogram's cumulative bucket counts by upper bound (seconds; +Inf last). */
type Buckets = [le: number, count: number][];

/**
 * live_event_stage_seconds of tradeRecorded's way, by stage: the writer's stages (no `poll`
 * label) and the poll stages of stream pollers.
 */
async function stageHistograms(url: string): Promise<Map<string, Buckets>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const stages = new Map<string, Buckets>();
  for (const match of text.matchAll(/^live_event_stage_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries(
      [...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] as string, l[2] as string]),
    );
    if (labels.poll !== undefined && labels.poll !== "stream") continue;
    const buckets = stages.get(labels.stage as string) ?? [];
    buckets.push([labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le), Number(match[2])]);
    stages.set(labels.stage as string, buckets);
  }
  return stages;
}

/** What was observed between two readings. */
function bucketsBetween(before: Map<string, Buckets>, after: Map<string, Buckets>): Map<string, Buckets> {
  return new Map(
    [...after].map(([stage, buckets]) => {
      const earlier = new Map(before.get(stage) ?? []);
      return [stage, buckets.map(([le, n]) => [le, n - (earlier.get(le) ?? 0)] as [number, number])];
    }),
  );
}

/**
 * The q-quantile (0–1) of a histogram in ms, interpolated linearly inside its bucket as
 * Prometheus' histogram_quantile does (so within a bucket's width of the truth); NaN when empty.
 */
function quantileMs(buckets: Buckets | undefined, q: number): number {
  const total = buckets?.at(-1)?.[1] ?? 0;
  if (!buckets || total === 0) return Number.NaN;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= q * total) {
      if (!Number.isFinite(le)) return lower * 1000;
      return (lower + ((le - lower) * (q * total - below)) / Math.max(count - below, 1)) * 1000;
    }
    lower = le;
    below = count;
  }
  return lower * 1000;
}

/** One recordTrades of `inputs` (the loader's and the big batch's request). */
const recordTrades = (url: string, inputs: unknown[], durability: "QUEUED" | "COMMITTED") =>
  fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `mutation($i: [TradeInput!]!) { recordTrades(inputs: $i, durability: ${durability}) { accepted } }`,
      variables: { i: inputs },
    }),
  });

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

/** A phase of the run: one API with these settings, fresh tables of its own. */
interface PhaseSetup {
  name: string;
  prefix: string;
  cohorts: boolean;
  poke: boolean;
}

async function phase(
  questdb: { httpPort: number; pgPort: number },
  setup: PhaseSetup,
  durationS: number,
  subscribers = SUBSCRIBERS,
): Promise<PhaseResult> {
  const { api, port, url } = await startApi(questdb, {
    QUESTDB_TABLE_PREFIX: setup.prefix,
    LIVE_COHORTS: setup.cohorts ? "on" : "off",
    LIVE_POKE: setup.poke ? "on" : "off",
  });
  try {
    // Subscribers: one WebSocket each, speaking graphql-transport-ws.
    const sockets: WebSocket[] = [];
    const tick = { lat: [] as number[], req: [] as number[], sizes: [] as number[] };
    const timeline = TIMELINE
      ? setInterval(() => {
          tick.lat.sort((a, b) => a - b);
          log(
            `t ${new Date().toISOString().slice(17, 23)} events ${tick.lat.length} p50 ${tick.lat[Math.floor(tick.lat.length / 2)] ?? "-"} max ${tick.lat.at(-1) ?? "-"}; requests ${tick.req.join(",")} sizes ${tick.sizes.join(",")}`,
          );
          tick.lat = [];
          tick.req = [];
          tick.sizes = [];
        }, 1000)
      : undefined;
    const latencies: number[] = [];
    const warmupLatencies: number[] = [];
    let warming = false;
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
            const stamp = trade?.timestamp;
            const latency = stamp ? Date.now() - Date.parse(stamp) : undefined;
            if (TIMELINE && latency !== undefined) tick.lat.push(latency);
            if (warming && latency !== undefined) warmupLatencies.push(latency);
            if (!measuring) return;
            messages++;
            if (latency !== undefined) latencies.push(latency);
          }
        });
        ws.on("close", () => {
          if (measuring) closedEarly++;
        });
        ws.on("error", () => done());
      });
    for (let i = 0; i < subscribers; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, subscribers - i) }, (_, j) => open((i + j) % QUERIES)));
      if ((i / 250) % 4 === 3) log(`${setup.name}: ${connected}/${subscribers} subscribers connected`);
    }
    log(
      `${setup.name}: ${connected} subscribers, ${QUERIES} distinct queries; ingesting ${ROWS_PER_S} rows/s for ${durationS} s…`,
    );

    // Ingest: every 100 ms a batch of the trades due since the last (ROWS_PER_S / 10 when the
    // answers keep up; more when an answer took longer, so the rate offered stays ROWS_PER_S),
    // timestamped now, one request at a time (the trades' order is the requests').
    let sent = 0;
    let ingesting = true;
    const requestMs: number[] = [];
    /** Accepted trade numbers per tradeRecorded query k. */
    const accepted = new Map<number, number[]>();
    const perBatch = Math.round(ROWS_PER_S / 10);
    const batchSizes: number[] = [];
    const ingest = (async () => {
      let n = 0;
      const loadStarted = Date.now();
      while (ingesting) {
        const started = Date.now();
        // Trades due by now, at most MAX_BATCH_FACTOR batches' worth at once.
        const due = Math.floor(((started - loadStarted) * ROWS_PER_S) / 1000) + perBatch - n;
        const size = Math.max(1, Math.min(due, perBatch * MAX_BATCH_FACTOR));
        if (measuring) batchSizes.push(size);
        const inputs = Array.from({ length: size }, () => {
          const i = n++;
          const k = i % 100 === 0 ? ((i / 100) % (QUERIES / 2)) * 2 : -1;
          return benchTrade(`live-${i}`, new Date().toISOString(), {
            strategy: `s${i % 10}`,
            venue: k >= 0 ? `v${k}` : "main",
          });
        });
        const requestStarted = performance.now();
        const r = await recordTrades(url, inputs, "QUEUED");
        const answer = (await r.json()) as { errors?: unknown };
        if (measuring) requestMs.push(performance.now() - requestStarted);
        if (TIMELINE) {
          tick.req.push(Math.round(performance.now() - requestStarted));
          tick.sizes.push(size);
        }
        if (r.ok && !answer.errors) {
          sent += inputs.length;
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
    warming = true;
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    warming = false;
    let maxRss = 0;
    const rssTimer = setInterval(() => void rssOf(api.pid as number).then((r) => (maxRss = Math.max(maxRss, r))), 250);
    const statements0 = await metric(url, "live_statements_total");
    const polls0 = await metric(url, "live_polls_total");
    const tickChecks0 = await metric(url, 'live_transaction_checks_total{reason="tick"}');
    const pokeChecks0 = await metric(url, 'live_transaction_checks_total{reason="poke"}');
    const counted0 = await metric(url, 'live_poll_statements_total{statement="tradeRecorded.poll"}');
    const fresh0 = await metric(url, 'live_poll_statements_total{statement="tradeRecorded.fresh"}');
    const rangeLoads0 = await metric(url, "live_transaction_range_loads_total");
    const stages0 = await stageHistograms(url);
    const sent0 = sent;
    measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, durationS * 1000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    const statements1 = await metric(url, "live_statements_total");
    const polls1 = await metric(url, "live_polls_total");
    const tickChecks1 = await metric(url, 'live_transaction_checks_total{reason="tick"}');
    const pokeChecks1 = await metric(url, 'live_transaction_checks_total{reason="poke"}');
    const counted1 = await metric(url, 'live_poll_statements_total{statement="tradeRecorded.poll"}');
    const fresh1 = await metric(url, 'live_poll_statements_total{statement="tradeRecorded.fresh"}');
    const rangeLoads1 = await metric(url, "live_transaction_range_loads_total");
    const stages = bucketsBetween(stages0, await stageHistograms(url));
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
    clearInterval(timeline);
    for (const ws of sockets) ws.terminate();
    latencies.sort((a, b) => a - b);
    warmupLatencies.sort((a, b) => a - b);
    requestMs.sort((a, b) => a - b);
    batchSizes.sort((a, b) => a - b);
    return {
      requestMs,
      batchSizes,
      statementsPerS: (statements1 - statements0) / elapsed,
      // A label not exported yet (no statement of that name so far) reads as NaN: none.
      countedPerS: ((counted1 || 0) - (counted0 || 0)) / elapsed,
      freshPerS: ((fresh1 || 0) - (fresh0 || 0)) / elapsed,
      rangeLoadsPerS: (rangeLoads1 - rangeLoads0) / elapsed,
      pollsPerS: (polls1 - polls0) / elapsed,
      tickChecksPerS: (tickChecks1 - tickChecks0) / elapsed,
      pokeChecksPerS: (pokeChecks1 - pokeChecks0) / elapsed,
      stages,
      messages,
      latencies,
      warmupLatencies,
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
 * Two recordTrades of 20,000 trades each (twice the tradeRecorded poll's page), one after the
 * other, and three subscribers (two sharing a poller, one on another filter): ms from each
 * COMMITTED answer to the last of its trades at every subscriber (the second batch's is the
 * figure; the first's, on a path not yet run, apart), and whether each got all 40,000 in order.
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
          new Promise<{ ws: WebSocket; ids: number[]; last: number; marks: number[] }>((done) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
            const state = { ws, ids: [] as number[], last: 0, marks: [] as number[] };
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
                if (state.ids.length % 2500 === 1) state.marks.push(Math.round(state.last));
              }
            });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1_500)); // each poller's first poll marks "now"
    // Two batches through the same API and subscribers: the first finds the path cold (V8 and
    // QuestDB compiling the page's statement and its parsing), the second as a running API would.
    const round = async (first: number) => {
      for (const s of subscribers) s.marks = [];
      const stages0 = await stageHistograms(url);
      const start = BigInt(Date.now()) * 1000n;
      const inputs = Array.from({ length: 20_000 }, (_, i) =>
        benchTrade(`big-${first + i}`, formatIsoMicros(start + BigInt(i)), { baseToken: "BIG", venue: "big" }),
      );
      const requested = performance.now();
      const r = await recordTrades(url, inputs, "COMMITTED");
      await r.arrayBuffer();
      const committed = performance.now();
      const deadline = committed + 30_000;
      const all = first + 20_000;
      while (subscribers.some((s) => s.ids.length < all) && performance.now() < deadline) {
        await new Promise((done) => setTimeout(done, 20));
      }
      const ms = Math.max(...subscribers.map((s) => (s.ids.length === all ? s.last - committed : Number.NaN)));
      if (BIG_ONLY) {
        log(
          `batch of trades ${first}–${all - 1}: answered in ${Math.round(committed - requested)} ms; arrivals of its trades 1, 2,501, 5,001, … after the answer, ms:`,
        );
        for (const s of subscribers) log(s.marks.map((t) => Math.round(t - committed)).join(", "));
        const stages = bucketsBetween(stages0, await stageHistograms(url));
        log(
          STAGES.map(
            ([stage]) =>
              `${stage} ${[0.01, 0.5, 0.99].map((q) => quantileMs(stages.get(stage), q).toFixed(0)).join("/")}`,
          ).join("; "),
        );
      }
      return ms;
    };
    const coldMs = await round(0);
    const ms = await round(20_000);
    const inOrder = subscribers.every((s) => s.ids.length === 40_000 && s.ids.every((n, i) => n === i));
    for (const s of subscribers) s.ws.terminate();
    return { ms, coldMs, inOrder };
  } finally {
    api.kill("SIGTERM");
    await new Promise((done) => api.once("exit", done));
  }
}

/** The stages of an event's way, in order, as the API measures them (live_event_stage_seconds). */
const STAGES: [stage: string, what: string][] = [
  ["batch_wait", "batch wait (row accepted → flush started)"],
  ["ilp_commit", "ILP commit (flush started → QuestDB's 204)"],
  ["wal_apply", "WAL apply (204 → writerTxn seen applied; tick only: seen by the next tick)"],
  ["poll_wait", "poll wait (commit seen → poll started)"],
  ["query", "query (the poll's SQL, waiting for a connection included)"],
  ["fan_out", "fan-out (result → written to every subscriber's socket)"],
];

const ms = (n: number) => (Number.isNaN(n) ? "–" : n.toFixed(0));
const yes = (met: boolean) => (met ? "yes" : "no");

async function main() {
  const root = await mkdtemp(join(tmpdir(), "bench-live-"));
  const questdb = await startLocalQuestDb({ jarDir: ".questdb", rootDir: root, httpPort: 0, pgPort: 0, log });
  const loadBefore = loadavg()[0] as number;
  try {
    const soloS = Math.max(5, Math.round(DURATION_S / 2));
    if (BIG_ONLY) {
      // For A/B runs: the 20,000-trade batch alone, nothing recorded.
      const big = await bigBatch(questdb);
      console.log(
        `one recordTrades of 20,000 trades: COMMITTED → last trade at 3 subscribers ${big.ms.toFixed(0)} ms (the first on a fresh API: ${big.coldMs.toFixed(0)} ms; all in order: ${big.inOrder})`,
      );
      return;
    }
    if (QUESTDB_WARMUP_S > 0) {
      // Its WARMUP_S seconds and QUESTDB_WARMUP_S more; nothing of it is reported.
      const warm = { name: "QuestDB warm-up (not reported)", prefix: "warm_", cohorts: true, poke: true };
      await phase(questdb, warm, Math.max(0, QUESTDB_WARMUP_S - WARMUP_S), 500);
    }
    const poke = await phase(questdb, { name: "poke", prefix: "live_", cohorts: true, poke: true }, DURATION_S);
    if (POKE_ONLY) {
      // For A/B runs while changing the code: the poke phase alone, one line, nothing recorded.
      const stages = STAGES.map(
        ([stage]) =>
          `${stage} ${ms(quantileMs(poke.stages.get(stage), 0.5))}/${ms(quantileMs(poke.stages.get(stage), 0.99))}`,
      );
      console.log(
        `poke: ${poke.ingestedPerS.toFixed(0)} rows/s; event → client p50/p99 ${percentile(poke.latencies, 50)}/${percentile(poke.latencies, 99)} ms; ` +
          `request ${percentile(poke.requestMs, 50).toFixed(0)}/${percentile(poke.requestMs, 99).toFixed(0)} (trades ${percentile(poke.batchSizes, 50)}/${percentile(poke.batchSizes, 99)}); ${stages.join("; ")}; ` +
          `out of order / missing / duplicated ${poke.outOfOrder} / ${poke.missing} / ${poke.duplicates}; ` +
          `warm-up (${WARMUP_S} s) event → client ${percentile(poke.warmupLatencies, 50)}/${percentile(poke.warmupLatencies, 99)}`,
      );
      return;
    }
    const tick = await phase(questdb, { name: "tick only", prefix: "tick_", cohorts: true, poke: false }, DURATION_S);
    const solo = await phase(questdb, { name: "baseline", prefix: "solo_", cohorts: false, poke: true }, soloS);
    log("one batch of 20,000 trades to three subscribers…");
    const big = await bigBatch(questdb);
    const phases = [poke, tick, solo];
    const seconds = [DURATION_S, DURATION_S, soloS];
    const row = (figure: string, cell: (r: PhaseResult, i: number) => string, target = "", met = "") =>
      `| ${figure} | ${phases.map(cell).join(" | ")} | ${target} | ${met} |`;
    /** Statements per poll, the transaction checks (shared by all pollers) left out. */
    const perPoll = (r: PhaseResult) =>
      (r.statementsPerS - r.tickChecksPerS - r.pokeChecksPerS - r.rangeLoadsPerS) / Math.max(r.pollsPerS, 1);
    const p99 = percentile(poke.latencies, 99);
    const lines = [
      "| Figure | Cohorts, poke (LIVE_POKE=on) | Cohorts, tick only (LIVE_POKE=off) | Baseline: one poller per subscriber (LIVE_COHORTS=off) | Target | Met |",
      "|---|---|---|---|---|---|",
      row(
        "subscribers connected / distinct queries",
        (r) => `${r.connected} / ${QUERIES}`,
        "5,000 / 50",
        yes(poke.connected >= 5000 && tick.connected >= 5000),
      ),
      row(
        "rows ingested per second",
        (r) => Math.round(r.ingestedPerS).toLocaleString("en"),
        "10,000",
        yes(poke.ingestedPerS >= 9_500),
      ),
      row(
        "tradeRecorded event → client latency p50 / p99, ms",
        (r) => `${percentile(r.latencies, 50)} / ${percentile(r.latencies, 99)}`,
        "p99 ≤ 500 with poke",
        yes(p99 <= 500),
      ),
      row(
        `the same during the ${WARMUP_S} s of load before the measured seconds (a fresh API process${QUESTDB_WARMUP_S > 0 ? "" : "; in the first phase a fresh QuestDB"}), p50 / p99, ms`,
        (r) => `${percentile(r.warmupLatencies, 50)} / ${percentile(r.warmupLatencies, 99)}`,
      ),
      row("SQL statements per second (live queries)", (r) => r.statementsPerS.toFixed(0)),
      row(
        "polls per second / statements per poll (transaction checks aside)",
        (r) => `${r.pollsPerS.toFixed(0)} / ${perPoll(r).toFixed(2)}`,
        "≤ 1 per distinct query per poll",
        yes(perPoll(poke) <= 1.1 && perPoll(tick) <= 1.1),
      ),
      row(
        "transaction checks per second: ticks / pokes (and their reads of new transactions' time ranges)",
        (r) => `${r.tickChecksPerS.toFixed(1)} / ${r.pokeChecksPerS.toFixed(1)} (${r.rangeLoadsPerS.toFixed(1)})`,
      ),
      row(
        "tradeRecorded poll statements per second: with the late-window count / rows after the watermark alone",
        (r) => `${r.countedPerS.toFixed(1)} / ${r.freshPerS.toFixed(1)}`,
      ),
      row("messages delivered per second", (r, i) =>
        Math.round(r.messages / (seconds[i] as number)).toLocaleString("en"),
      ),
      row("API RSS, max, MB", (r) => r.maxRssMb.toFixed(0), "≤ 1,024", yes(poke.maxRssMb <= 1024)),
      row(
        "subscribers disconnected during the run",
        (r) => String(r.closedEarly),
        "0",
        yes(poke.closedEarly + tick.closedEarly === 0),
      ),
      row(
        "tradeRecorded deliveries out of order / missing (not received 5 s after the load stopped) / duplicated, over every subscriber and every accepted trade",
        (r) => `${r.outOfOrder} / ${r.missing} / ${r.duplicates}`,
        "0 / 0 / 0",
        yes([poke, tick].every((r) => r.outOfOrder + r.missing + r.duplicates === 0)),
      ),
      `| one recordTrades of 20,000 trades: COMMITTED answer → last trade at each of 3 subscribers, ms (all, in order); in parentheses the first such batch on a fresh API | ${big.ms.toFixed(0)} (${big.inOrder ? "yes" : "no"}; first ${big.coldMs.toFixed(0)}) | | | ≤ 2,000, in order | ${yes(big.ms <= 2000 && big.inOrder)} |`,
    ];
    const breakdown = [
      "| Where a tradeRecorded event's time goes (the API's live_event_stage_seconds over the measured seconds; p50 / p99, ms) | Poke | Tick only |",
      "|---|---|---|",
      ...STAGES.map(
        ([stage, what]) =>
          `| ${what} | ${[poke, tick].map((r) => `${ms(quantileMs(r.stages.get(stage), 0.5))} / ${ms(quantileMs(r.stages.get(stage), 0.99))}`).join(" | ")} |`,
      ),
      `| sum of the stages' p50 (the rest of the p50 below: the loader's request and the spool's sync before a row is accepted, and the subscribers' own process) | ${[poke, tick].map((r) => ms(STAGES.reduce((sum, [stage]) => sum + quantileMs(r.stages.get(stage), 0.5), 0))).join(" | ")} |`,
      `| the loader's recordTrades request (answered once its trades are queued), measured by the loader; in parentheses its trades, p50 / p99 (${Math.round(ROWS_PER_S / 10).toLocaleString("en-US")}, more after a slow answer) | ${[poke, tick].map((r) => `${percentile(r.requestMs, 50).toFixed(0)} / ${percentile(r.requestMs, 99).toFixed(0)} (${percentile(r.batchSizes, 50)} / ${percentile(r.batchSizes, 99)})`).join(" | ")} |`,
      `| event → client, measured by the subscribers (from the trade's timestamp, set by the loader before its request) | ${[poke, tick].map((r) => `${percentile(r.latencies, 50)} / ${percentile(r.latencies, 99)}`).join(" | ")} |`,
    ];
    const header = `Run ${new Date().toISOString()} on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), QuestDB ${QUESTDB_VERSION}, API, subscribers and loader on one machine (load average ${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] as number).toFixed(1)} after); ${DURATION_S} s measured per phase (baseline ${soloS} s) after ${WARMUP_S} s of the same load, each phase its own API process and tables${QUESTDB_WARMUP_S > 0 ? `, after a throwaway phase of ${QUESTDB_WARMUP_S} s (500 subscribers, the same rows per second) on the same QuestDB so that the first measured phase does not find it fresh` : ""}. The loader sends one recordTrades at a time, every 100 ms, with the trades due since its last (so it offers BENCH_ROWS_PER_S however long an answer takes: ${Math.round(ROWS_PER_S / 10).toLocaleString("en-US")} trades a request while the answers keep up, up to ${(MAX_BATCH_FACTOR * Math.round(ROWS_PER_S / 10)).toLocaleString("en-US")} after slow ones). Each poll is one statement (tradeRecorded: rows after the watermark, with the late-window count in one UNION ALL only when a transaction since its last poll wrote a row at or before its watermark (the time ranges of new transactions, read by the checks from wal_transactions()), plus a rare re-read of the late window; liveMetrics: trades and latency in one UNION ALL; the polls of all cohorts of a kind due in one turn are joined into one statement); transaction checks (wal_tables(), one for all pollers) run every LIVE_POLL_INTERVAL_MS (250 ms) and, with pokes, when this instance's flush is acknowledged, again every 5–50 ms until it is applied. Stage percentiles are interpolated in the histogram's buckets (as Prometheus' histogram_quantile). Command: \`npm run bench:live\`.`;
    const text = `${header}\n\n${lines.join("\n")}\n\n${breakdown.join("\n")}`;
    console.log(`\n${text}\n`);
    await recordInDocs("live", "Live subscriptions benchmark", text);
  } finally {
    await questdb.stop();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
