// What GraphiQL opens with (issue 14, point 6): one tab per kind of client of this API instead of
// GraphiQL's generic welcome text. Made per page load, so that the bot's example carries a fresh
// timestamp (a key needs one, and an old one would fall outside the retention).
import type { GraphiQLOptions } from "graphql-yoga";

/** A GraphQL literal of a JSON value (object keys unquoted; enum values given as `{ enum: "X" }`). */
function literal(value: unknown, indent = ""): string {
  if (value !== null && typeof value === "object" && "enum" in value) return String((value as { enum: string }).enum);
  if (Array.isArray(value))
    return `[\n${value.map((v) => `${indent}  ${literal(v, `${indent}  `)}`).join("\n")}\n${indent}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).map(([k, v]) => `${indent}  ${k}: ${literal(v, `${indent}  `)}`);
    return `{\n${fields.join("\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

const bot = (
  inputs: unknown[],
) => `# A bot records trades in batches. tradeId is the idempotency key; with its timestamp it
# identifies the row, so sending the same batch again (a retry) stores each trade once.
# Errors a bot should retry carry extensions.retryable (QUEUE_FULL, OVERLOADED, SHUTTING_DOWN).
# A real bot sends its batch as a variable: recordTrades(inputs: $inputs).
mutation BotRecordTrades {
  recordTrades(durability: COMMITTED, inputs: ${literal(inputs, "  ")}) {
    accepted
    ids
    commitLatencyMs
  }
}
`;

const dashboard = (range: string) => `# A dashboard's statistics: hourly buckets per pair and strategy over the last day
# (to is exclusive), latency percentiles per stage and MEV results per protection method.
query DashboardStats {
  tradeStats(range: ${range}, bucket: HOUR, groupBy: [PAIR, STRATEGY]) {
    totals { group { baseToken quoteToken strategy } count quoteVolume vwap }
    buckets { bucket group { baseToken quoteToken strategy } count quoteVolume }
  }
  latencyStats(range: ${range}) {
    totals { stage count p50Us p99Us maxUs }
  }
  mevEffectiveness(range: ${range}, groupBy: [PROTECTION]) {
    totals { protection transactions attackRate landingRate tipsLamports }
  }
}
`;

const MONITOR = `# A live monitor: rolling figures over the last minute, sent over WebSockets (graphql-ws)
# when they change, about once a second at most. Record a trade in the first tab to see one.
subscription MonitorLiveMetrics {
  liveMetrics(windowSeconds: 60) {
    at
    trades
    tradesPerSecond
    volume
    mevProtectedRate
    mevAttackedRate
    ingestQueueDepth
    latency { stage count p50Us p99Us }
  }
}
`;

const trade = (n: number, at: Date) => ({
  tradeId: `graphiql-example:${at.getTime()}:${n}`,
  timestamp: at.toISOString(),
  action: { enum: n % 2 === 0 ? "BUY" : "SELL" },
  baseToken: "SOL",
  quoteToken: "USDC",
  baseAmount: 1.5,
  quoteAmount: 270.3,
  executedPrice: 180.2,
  transactionFee: 5000,
  priorityFee: "120000",
  expectedSlippage: 0.005,
  actualSlippage: 0.0012,
  mevStatus: { enum: "PROTECTED" },
  transferFees: 0,
  strategy: "momentum_v2",
  venue: "raydium",
  ...(n % 2 === 1 ? { realizedPnl: 1.25 } : {}),
});

/** GraphiQL's options: the three example tabs, with times from `now`. */
export function graphiqlOptions(now = new Date()): GraphiQLOptions {
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const range = `{ from: "${dayAgo.toISOString()}", to: "${now.toISOString()}" }`;
  return {
    title: "Trade analytics",
    favicon: "/favicon.svg",
    subscriptionsProtocol: "WS",
    defaultTabs: [
      { query: bot([trade(0, now), trade(1, new Date(now.getTime() + 1))]) },
      { query: dashboard(range) },
      { query: MONITOR },
    ],
  };
}
