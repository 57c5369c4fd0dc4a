// The bot of the query benchmark: while the dashboards' queries are measured, it records trades
// and latency measurements through the API as a bot would, timestamped now, one mutation every
// `intervalMs` (default 100 ms: 1 trade and 5 latency rows, i.e. 10 trades and 50 latency rows a
// second), on a keep-alive connection of its own with a writer key.
import { connectLeanHttp } from "./lean-http.ts";
import { hash, PAIRS, STAGES, STRATEGIES, VENUES } from "./rows.ts";

export interface BotWriterOptions {
  host: string;
  port: number;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** Default 100. */
  intervalMs?: number;
  /** Trades per mutation; default 1. */
  trades?: number;
  /** Latency rows per mutation (stages of the last trade); default 5. */
  latencyRows?: number;
}

export interface BotWriterStats {
  requests: number;
  trades: number;
  latencyRows: number;
  /** Requests that failed (HTTP error, GraphQL error or socket error); the first one's message. */
  failures: number;
  firstFailure: string | undefined;
  /** Request times, ms. */
  ms: number[];
  seconds: number;
}

export interface BotWriter {
  /** Stops after the request in flight; resolves with what was written. */
  stop(): Promise<BotWriterStats>;
}

const MUTATION =
  "mutation bot($t: [TradeInput!]!, $l: [LatencyMetricInput!]!) { recordTrades(inputs: $t) { accepted } recordLatencyMetrics(inputs: $l) { accepted } }";

export async function startBotWriter(options: BotWriterOptions): Promise<BotWriter> {
  const { host, port, apiKey, intervalMs = 100, trades = 1, latencyRows = 5 } = options;
  const client = await connectLeanHttp(host, port);
  const headers = { authorization: `Bearer ${apiKey}` };
  const stats: BotWriterStats = {
    requests: 0,
    trades: 0,
    latencyRows: 0,
    failures: 0,
    firstFailure: undefined,
    ms: [],
    seconds: 0,
  };
  let stopped = false;
  let n = 0;
  const started = performance.now();

  const body = () => {
    const timestamp = new Date().toISOString();
    const t = Array.from({ length: trades }, () => {
      const i = n++;
      const [baseToken, quoteToken, price] = PAIRS[hash(i, 51) % PAIRS.length] as (typeof PAIRS)[number];
      const baseAmount = 0.1 + (hash(i, 52) % 10_000) / 100;
      return {
        timestamp,
        tradeId: `bot-${started.toFixed(0)}-${i}`,
        action: hash(i, 53) & 1 ? "BUY" : "SELL",
        baseToken,
        quoteToken,
        baseAmount,
        quoteAmount: baseAmount * price,
        executedPrice: price,
        transactionFee: 5000,
        priorityFee: hash(i, 54) % 1_000_000,
        expectedSlippage: 0.005,
        actualSlippage: ((hash(i, 55) % 400) - 100) / 10_000,
        mevStatus: "PROTECTED",
        transferFees: 0,
        strategy: STRATEGIES[hash(i, 56) % STRATEGIES.length],
        venue: VENUES[hash(i, 57) % VENUES.length],
        realizedPnl: ((hash(i, 58) % 2001) - 1000) / 100,
      };
    });
    const last = t.at(-1);
    const l = Array.from({ length: latencyRows }, (_, s) => ({
      timestamp,
      ...(last ? { tradeId: last.tradeId, strategy: last.strategy } : {}),
      stage: STAGES[s % STAGES.length],
      latencyUs: 1000 + (hash(n, 60 + s) % 100_000),
    }));
    return { payload: JSON.stringify({ query: MUTATION, variables: { t, l } }), trades: t.length, latency: l.length };
  };

  const loop = (async () => {
    for (let tick = 0; !stopped; tick++) {
      // A fixed cadence: a late answer is caught up, not spread out.
      const wait = started + tick * intervalMs - performance.now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      if (stopped) break;
      const request = body();
      stats.requests++;
      try {
        const { status, json, ms } = await client.prepare("/graphql", request.payload, headers)();
        const answer = json as { errors?: { message: string }[] };
        if (status !== 200 || answer.errors) throw new Error(`HTTP ${status} ${answer.errors?.[0]?.message ?? ""}`);
        stats.ms.push(ms);
        stats.trades += request.trades;
        stats.latencyRows += request.latency;
      } catch (error) {
        stats.failures++;
        stats.firstFailure ??= error instanceof Error ? error.message : String(error);
      }
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      await loop;
      client.close();
      stats.seconds = (performance.now() - started) / 1000;
      return stats;
    },
  };
}
