// An example trading bot's recording side: it records its trades, each trade's latency per stage
// and its MEV result in batches, the way a production bot should:
// - every row has an idempotency key (tradeId; the latency and MEV rows link to it) AND the
//   timestamp of the event, so a batch sent again after a timeout or a restart is stored once;
// - retryable refusals (QUEUE_FULL, OVERLOADED, SHUTTING_DOWN) are retried (examples/client.ts);
// - durability COMMITTED: an answer means QuestDB has the rows.
//
//   API_URL=http://127.0.0.1:4000 API_KEY=<writer key> BOT_TRADES=200 node --import tsx examples/bot.ts
import { createClient } from "./client.ts";
import {
  BotRecordLatencyDocument,
  BotRecordMevDocument,
  BotRecordTradesDocument,
  type LatencyMetricInput,
  type MevMetricInput,
  type TradeInput,
} from "./generated/graphql.ts";

export interface BotOptions {
  url: string;
  apiKey?: string | undefined;
  /** Trades to record. */
  trades: number;
  /** Trades per request. */
  batchSize: number;
  /** This bot's name: part of every tradeId, and its strategy. */
  name: string;
  /** Told after each batch. */
  log?: (line: string) => void;
}

const STAGES = ["quote", "build", "sign", "submit", "confirm"] as const;

/** One simulated trade and what the bot measured around it. */
function simulate(name: string, n: number, at: Date) {
  const tradeId = `${name}:${at.getTime()}:${n}`;
  const timestamp = at.toISOString();
  const price = 180 + Math.sin(n / 10) * 2;
  const baseAmount = 0.5 + (n % 5) * 0.1;
  const sandwiched = n % 17 === 16;
  const trade: TradeInput = {
    tradeId,
    timestamp,
    action: n % 2 === 0 ? "BUY" : "SELL",
    baseToken: "SOL",
    quoteToken: "USDC",
    baseAmount,
    quoteAmount: Number((baseAmount * price).toFixed(6)),
    executedPrice: Number(price.toFixed(6)),
    transactionFee: 5000,
    priorityFee: 50_000 + (n % 7) * 10_000,
    expectedSlippage: 0.005,
    actualSlippage: sandwiched ? 0.006 : 0.001,
    mevStatus: sandwiched ? "SANDWICHED" : "PROTECTED",
    transferFees: 0,
    strategy: name,
    venue: "raydium",
    ...(n % 2 === 1 ? { realizedPnl: n % 3 === 0 ? -0.8 : 1.1 } : {}),
  };
  const stageUs = STAGES.map((stage, i) => ({ stage, us: [15_000, 1_500, 400, 30_000, 400_000][i]! + (n % 11) * 100 }));
  const latency: LatencyMetricInput[] = [
    ...stageUs.map(({ stage, us }) => ({ tradeId, timestamp, stage, latencyUs: us, strategy: name })),
    { tradeId, timestamp, stage: "e2e", latencyUs: stageUs.reduce((sum, s) => sum + s.us, 0), strategy: name },
  ];
  const mev: MevMetricInput = {
    tradeId,
    timestamp,
    protection: "JITO_BUNDLE",
    outcome: sandwiched ? "SANDWICHED" : "LANDED",
    tipLamports: 10_000,
    attackDetected: sandwiched,
    slotsToLand: 1,
    strategy: name,
  };
  return { trade, latency, mev };
}

/** Records `trades` trades (with their latency and MEV rows); returns the trade ids recorded. */
export async function runBot(options: BotOptions): Promise<string[]> {
  const { trades, batchSize, name, log = () => {} } = options;
  const request = createClient({
    url: options.url,
    apiKey: options.apiKey,
    onRetry: (reason, waitMs) => log(`retrying in ${Math.round(waitMs)} ms: ${reason}`),
  });
  const ids: string[] = [];
  const start = Date.now() - trades; // one millisecond apart, ending now
  for (let first = 0; first < trades; first += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, trades - first) }, (_, i) =>
      simulate(name, first + i, new Date(start + first + i)),
    );
    // Trades first: their latency and MEV rows refer to them.
    const recorded = await request(BotRecordTradesDocument, { inputs: batch.map((b) => b.trade) });
    await request(BotRecordLatencyDocument, { inputs: batch.flatMap((b) => b.latency) });
    await request(BotRecordMevDocument, { inputs: batch.map((b) => b.mev) });
    ids.push(...recorded.recordTrades.ids);
    log(`recorded ${ids.length}/${trades} trades`);
  }
  return ids;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = process.env;
  runBot({
    url: env.API_URL ?? "http://127.0.0.1:4000",
    apiKey: env.API_KEY,
    trades: Number(env.BOT_TRADES ?? 100),
    batchSize: Number(env.BOT_BATCH ?? 50),
    name: env.BOT_NAME ?? "example_bot",
    log: (line) => console.log(line),
  }).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
