// The clients of `npm run bench:overload`: bots, dashboards and probes, each timing its requests.
// They speak only the API's public GraphQL over HTTP.
import http from "node:http";
import { percentile } from "./docs.ts";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Refusals a bot should retry: the same batch again, after a pause. */
const RETRYABLE = new Set(["QUEUE_FULL", "OVERLOADED", "SHUTTING_DOWN"]);

/** Latencies (ms) of one kind of request, and its failures by reason. */
export class Timings {
  readonly ms: number[] = [];
  readonly failures = new Map<string, number>();
  /** Requests still open when the phase ended (neither a figure nor a failure), and the oldest one's age. */
  cut = 0;
  oldestCutMs = 0;
  fail(reason: string) {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }
  get failed(): number {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }
  /** "p50 / p99" in ms. */
  summary(): string {
    if (this.ms.length === 0) return "–";
    const sorted = [...this.ms].sort((a, b) => a - b);
    const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
    return `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 99))}`;
  }
  p99(): number {
    return percentile(
      [...this.ms].sort((a, b) => a - b),
      99,
    );
  }
  reasons(): string {
    return [...this.failures].map(([reason, n]) => `${n} ${reason}`).join(", ");
  }
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; retryable?: boolean } }[];
}

type PostResult = { ms: number; status: number; code?: string; retryAfterS?: number; answer: GraphQLAnswer };

/** An answer as the bots read it: the code is the first error's, or the HTTP status when it is not 200. */
function readAnswer(ms: number, status: number, retryAfterHeader: string | null | undefined, text: string): PostResult {
  let answer: GraphQLAnswer = {};
  try {
    answer = JSON.parse(text) as GraphQLAnswer;
  } catch {}
  const code = answer.errors?.[0]?.extensions?.code ?? (status === 200 ? undefined : `HTTP ${status}`);
  const retryAfter = Number(retryAfterHeader);
  return {
    ms,
    status,
    ...(code === undefined ? {} : { code }),
    ...(retryAfter > 0 ? { retryAfterS: retryAfter } : {}),
    answer,
  };
}

/** One POST with fetch. */
export async function post(url: string, key: string, body: string, signal: AbortSignal): Promise<PostResult> {
  const started = performance.now();
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body,
    signal,
  });
  const text = await response.text();
  return readAnswer(performance.now() - started, response.status, response.headers.get("retry-after"), text);
}

const agent = new http.Agent({ keepAlive: true });

/**
 * One POST as the README advises bots with big batches: `Expect: 100-continue`, so that the body
 * is sent only once the server admitted the request (a refusal costs no upload). Node's http
 * client; same result shape as post().
 */
export function postExpectContinue(url: string, key: string, body: string, signal: AbortSignal): Promise<PostResult> {
  const started = performance.now();
  const bytes = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, {
      method: "POST",
      agent,
      signal,
      headers: {
        "content-type": "application/json",
        "content-length": bytes.length,
        authorization: `Bearer ${key}`,
        expect: "100-continue",
      },
    });
    req.on("continue", () => req.end(bytes));
    req.on("error", reject);
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const ms = performance.now() - started;
        // Refused before "100 Continue": the body was never sent and the server closes.
        if (!req.writableFinished) req.destroy();
        const retryAfter = response.headers["retry-after"];
        resolve(readAnswer(ms, response.statusCode ?? 0, retryAfter, Buffer.concat(chunks).toString("utf8")));
      });
    });
    req.flushHeaders();
  });
}

const errorReason = (e: unknown) => (e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.name) : "?");

const PAIRS = [
  ["SOL", "USDC", 180],
  ["JUP", "USDC", 0.9],
  ["WIF", "USDC", 2.4],
] as const;
const RECORD_TRADES = JSON.stringify(
  "mutation($inputs: [TradeInput!]!) { recordTrades(inputs: $inputs) { accepted } }",
);

/** A recordTrades body of `rows` trades timestamped just before now, built as text (cheaply). */
export function tradesBody(bot: number, batch: number, rows: number): string {
  const now = Date.now();
  const parts: string[] = [];
  for (let i = 0; i < rows; i++) {
    const [base, quote, price] = PAIRS[i % PAIRS.length] as (typeof PAIRS)[number];
    const amount = 1 + (i % 97) / 10;
    parts.push(
      `{"tradeId":"bot${bot}-${batch}-${i}","timestamp":"${new Date(now - rows + i).toISOString()}","action":"${i & 1 ? "BUY" : "SELL"}",` +
        `"baseToken":"${base}","quoteToken":"${quote}","baseAmount":${amount},"quoteAmount":${amount * price},"executedPrice":${price},` +
        `"transactionFee":5000,"priorityFee":${1000 + i},"expectedSlippage":0.01,"actualSlippage":${(i % 30) / 1000},` +
        `"mevStatus":"PROTECTED","transferFees":0,"strategy":"bot${bot % 10}","venue":"raydium"}`,
    );
  }
  return `{"query":${RECORD_TRADES},"variables":{"inputs":[${parts.join(",")}]}}`;
}

export interface BotFigures {
  accepted: Timings;
  /** Every retryable refusal, and the same by code (QUEUE_FULL, OVERLOADED, HTTP 503…). */
  refused: Timings;
  refusedBy: Map<string, Timings>;
  rowsAccepted: number;
}

export const newBotFigures = (): BotFigures => ({
  accepted: new Timings(),
  refused: new Timings(),
  refusedBy: new Map(),
  rowsAccepted: 0,
});

/** A bot: sends batches back to back; a retryable refusal sends the same batch again after a backoff. */
export async function bot(
  target: { url: string; key: string; batchRows: number; expectContinue?: boolean },
  n: number,
  figures: BotFigures,
  signal: AbortSignal,
  /** The first batch's body, built before the clock starts (100 bots building theirs at once would time the generator). */
  firstBody?: string,
): Promise<void> {
  const { url, key, batchRows } = target;
  // A fleet's bots do not start in the same millisecond: each starts within the first second.
  await sleep(Math.random() * 1000);
  for (let batch = 0; !signal.aborted; batch++) {
    const body = batch === 0 && firstBody !== undefined ? firstBody : tradesBody(n, batch, batchRows);
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const r = await (target.expectContinue ? postExpectContinue : post)(url, key, body, signal);
        const retryable =
          r.status === 429 ||
          r.status === 503 ||
          (r.code !== undefined && RETRYABLE.has(r.code)) ||
          r.answer.errors?.[0]?.extensions?.retryable === true;
        if (r.code === undefined) {
          figures.accepted.ms.push(r.ms);
          figures.rowsAccepted += batchRows;
          break;
        }
        if (!retryable) {
          figures.accepted.fail(r.code); // not retryable: a bot would log it and move on
          break;
        }
        figures.refused.ms.push(r.ms);
        figures.refused.fail(r.code);
        let byCode = figures.refusedBy.get(r.code);
        if (!byCode) {
          byCode = new Timings();
          figures.refusedBy.set(r.code, byCode);
        }
        byCode.ms.push(r.ms);
        // Retry-After when given, else exponential backoff with jitter (25 ms doubling, at most 2 s).
        const pause = r.retryAfterS ? r.retryAfterS * 1000 : Math.min(2000, 25 * 2 ** attempt);
        await sleep(pause * (0.5 + Math.random() / 2));
      } catch (e) {
        if (signal.aborted) return;
        figures.accepted.fail(errorReason(e));
        await sleep(200);
      }
    }
  }
}

const MONTH_MS = 30 * 86_400_000;
export const DASHBOARD_QUERIES = [
  {
    name: "latencyStats",
    query: "query($r: TimeRange!) { latencyStats(range: $r, bucket: HOUR) { buckets { bucket stage p50Us p99Us } } }",
  },
  {
    name: "tradeStats",
    query:
      "query($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR, groupBy: [PAIR]) { buckets { bucket count baseVolume } } }",
  },
];

/** A dashboard: the month-long charts one after the other, the range ending now (so uncached). */
export async function dashboard(
  target: { url: string; key: string },
  n: number,
  figures: Map<string, Timings>,
  signal: AbortSignal,
): Promise<void> {
  for (let i = n; !signal.aborted; i++) {
    const q = DASHBOARD_QUERIES[i % DASHBOARD_QUERIES.length] as (typeof DASHBOARD_QUERIES)[number];
    const timings = figures.get(q.name) as Timings;
    const to = Date.now();
    const started = performance.now();
    const body = JSON.stringify({
      query: q.query,
      variables: { r: { from: new Date(to - MONTH_MS).toISOString(), to: new Date(to).toISOString() } },
    });
    try {
      const r = await post(target.url, target.key, body, signal);
      if (r.code === undefined) timings.ms.push(r.ms);
      else timings.fail(r.code);
    } catch (e) {
      if (signal.aborted) {
        timings.cut++;
        timings.oldestCutMs = Math.max(timings.oldestCutMs, performance.now() - started);
        return;
      }
      timings.fail(errorReason(e));
      await sleep(200);
    }
  }
}

export const ONE_ROW = JSON.stringify({ query: "{ trades(first: 1) { nodes { tradeId } } }" });

/** Every `everyMs`, one request; a probe that takes longer delays the next (never two at once). */
export async function probe(
  everyMs: number,
  request: () => Promise<boolean>,
  timings: Timings,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const started = performance.now();
    try {
      if (!(await request())) timings.fail("not OK");
    } catch (e) {
      timings.fail(errorReason(e));
    }
    const ms = performance.now() - started;
    timings.ms.push(ms);
    await sleep(Math.max(0, everyMs - ms));
  }
}
