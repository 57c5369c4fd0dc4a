// `npm run seed`: fills a running API with realistic demo data through its public GraphQL API
// (recordTrades, recordLatencyMetrics, recordMevMetrics), so that the dashboard has something to
// show. Every row carries its idempotency key and timestamp, so a re-run or a retried batch
// replaces rows instead of adding them; refusals marked `extensions.retryable` (QUEUE_FULL,
// OVERLOADED, SHUTTING_DOWN, HTTP 429/503) are retried after Retry-After or a backoff (the
// example clients' typed client, examples/client.ts).
//
//   npm run seed -- --days 7 --trades-per-day 5000 --strategies 4 --pairs 4
//   SEED_URL=http://127.0.0.1:4000 SEED_API_KEY=<writer key> npm run seed
import { parseArgs } from "node:util";
import { createClient } from "../examples/client.ts";
import {
  BotRecordLatencyDocument,
  BotRecordMevDocument,
  BotRecordTradesDocument,
} from "../examples/generated/graphql.ts";
import { type SeedEvent, type SeedOptions, seedEvents } from "./seed-data.ts";

export interface SeedRun extends SeedOptions {
  /** The API's base URL (http://127.0.0.1:4000). */
  url: string;
  /** A writer (or admin) key, when the server requires keys. */
  apiKey?: string | undefined;
  /** Trades per request (their latency and MEV rows go in requests of their own). */
  batchSize?: number;
  /** Requests in flight at once. Default 2. */
  concurrency?: number;
  /** Called after each acknowledged batch with the trades written so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface SeedResult {
  trades: number;
  latency: number;
  mev: number;
  retries: number;
}

/** Writes the whole history; resolves with the rows acknowledged (QuestDB has them). */
export async function seed(run: SeedRun): Promise<SeedResult> {
  const batchSize = run.batchSize ?? 500;
  const concurrency = run.concurrency ?? 2;
  const total = run.days * run.tradesPerDay;
  const result: SeedResult = { trades: 0, latency: 0, mev: 0, retries: 0 };
  // The example bot's typed client and mutations (durability COMMITTED), which retry what the
  // API marks retryable.
  const request = createClient({
    url: run.url,
    apiKey: run.apiKey,
    attempts: 30,
    onRetry: () => {
      result.retries++;
    },
  });
  const events = seedEvents(run);
  const nextBatch = (): SeedEvent[] => {
    const batch: SeedEvent[] = [];
    while (batch.length < batchSize) {
      const item = events.next();
      if (item.done) break;
      batch.push(item.value);
    }
    return batch;
  };
  const worker = async () => {
    for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) {
      await Promise.all([
        request(BotRecordTradesDocument, { inputs: batch.map((e) => e.trade) }),
        request(BotRecordLatencyDocument, { inputs: batch.flatMap((e) => e.latency) }),
        request(BotRecordMevDocument, { inputs: batch.map((e) => e.mev) }),
      ]);
      result.trades += batch.length;
      result.latency += batch.reduce((n, e) => n + e.latency.length, 0);
      result.mev += batch.length;
      run.onProgress?.(result.trades, total);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/** A progress bar on stderr (redrawn in place on a terminal, a line per 10 % otherwise). */
export function progressBar(stream: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let lastTenth = -1;
  return (done: number, total: number) => {
    const share = total === 0 ? 1 : done / total;
    const width = 30;
    const filled = Math.round(share * width);
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)} % ${done}/${total} trades, ${Math.round(rate)}/s`;
    if (stream.isTTY) stream.write(`\r${line}${done >= total ? "\n" : ""}`);
    else if (Math.floor(share * 10) > lastTenth) {
      lastTenth = Math.floor(share * 10);
      stream.write(`${line}\n`);
    }
  };
}

const USAGE = `Usage: npm run seed -- [options]
  --days N             days of history ending now (default 7; at most the server's RETENTION_DAYS)
  --trades-per-day N   trades per day (default 5000); each has 6 latency rows and 1 MEV row
  --strategies N       strategies, 1 to 6 (default 4)
  --pairs N            pairs, 1 to 6 (default 4)
  --url URL            the API (default SEED_URL or http://127.0.0.1:4000)
  --batch N            trades per request (default 500)
  --seed N             random seed (default 42)
  --end TIME           end of the history, ISO-8601 (default: now); the same --seed and --end
                       write the same rows, so running again replaces them instead of adding
The key, when the server requires one, comes from SEED_API_KEY (a writer or admin key).`;

async function main() {
  const { values } = parseArgs({
    options: {
      days: { type: "string", default: "7" },
      "trades-per-day": { type: "string", default: "5000" },
      strategies: { type: "string", default: "4" },
      pairs: { type: "string", default: "4" },
      url: { type: "string", default: process.env.SEED_URL ?? "http://127.0.0.1:4000" },
      batch: { type: "string", default: "500" },
      seed: { type: "string", default: "42" },
      end: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const int = (name: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      console.error(`--${name} must be an integer from ${min} to ${max}, got "${value}"\n\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  const run: SeedRun = {
    url: values.url.replace(/\/+$/, ""),
    apiKey: process.env.SEED_API_KEY,
    days: int("days", values.days, 1, 3660),
    tradesPerDay: int("trades-per-day", values["trades-per-day"], 1, 10_000_000),
    strategies: int("strategies", values.strategies, 1, 6),
    pairs: int("pairs", values.pairs, 1, 6),
    batchSize: int("batch", values.batch, 1, 100_000),
    seed: int("seed", values.seed, 0, 2 ** 31),
    // By default a few seconds back: rows stamped "now" by this machine must not be ahead of the
    // server's clock.
    end: values.end === undefined ? Date.now() - 5_000 : Date.parse(values.end),
    onProgress: progressBar(),
  };
  if (!Number.isFinite(run.end)) {
    console.error(`--end must be an ISO-8601 time, got "${values.end}"\n\n${USAGE}`);
    process.exit(2);
  }
  const started = Date.now();
  const result = await seed(run);
  console.error(
    `Wrote ${result.trades} trades, ${result.latency} latency rows and ${result.mev} MEV rows in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.retries} retries). Open ${run.url}/dashboard`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
