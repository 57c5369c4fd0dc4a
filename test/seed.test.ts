// `npm run seed` (issue 14, point 2) run as a user runs it, a child process, against a real API and
// QuestDB: the rows arrive through the public mutations, a second run replaces them (idempotency
// keys with timestamps), and the API's own QUEUE_FULL refusals are retried.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { seedEvents } from "../scripts/seed-data.ts";
import { SeedCountsDocument } from "./generated/graphql.ts";
import { postGraphQL, startTestApp } from "./support/app.ts";
import { walApplied } from "./support/questdb.ts";

const run = promisify(execFile);
const WRITER_KEY = "seed-writer-key-0123456789";
const READER_KEY = "seed-reader-key-0123456789";

describe("npm run seed", () => {
  it("writes days of trades with their latency and MEV rows through the API; a second run replaces them; QUEUE_FULL is retried", async () => {
    // A queue of 1,250 rows: the two workers' batches (each 200 trades, 1,200 latency rows and 200
    // MEV rows, sent side by side) do not fit together, so the API refuses some with QUEUE_FULL
    // (retryable, Retry-After 1 s) until the rows before them are in QuestDB.
    const t = await startTestApp("seed", {
      API_KEYS: `bot:writer:${WRITER_KEY},dash:reader:${READER_KEY}`,
      MAX_QUEUE_ROWS: "1250",
    });
    const end = Date.now() - 1_000;
    const seedOnce = () =>
      run(
        process.execPath,
        [
          "--import",
          "tsx",
          "scripts/seed.ts",
          "--days",
          "2",
          "--trades-per-day",
          "150",
          "--strategies",
          "3",
          "--batch",
          "200",
          "--end",
          new Date(end).toISOString(),
        ],
        { env: { ...process.env, SEED_URL: t.url, SEED_API_KEY: WRITER_KEY }, timeout: 120_000 },
      );
    const first = await seedOnce();
    expect(first.stdout).toBe("");
    // The progress bar (a line per 10 % when stderr is not a terminal), then the summary.
    const lines = first.stderr.trim().split("\n");
    expect(lines.at(-2)).toMatch(/^\[#{30}\] 100 % 300\/300 trades, \d+\/s$/);
    expect(lines.at(-1)).toMatch(
      /^Wrote 300 trades, 1800 latency rows and 300 MEV rows in [\d.]+ s \(([1-9]\d*) retries\)\. Open http:\/\/127\.0\.0\.1:\d+\/dashboard$/,
    );

    // What the generator made, counted here independently of the API.
    const expected = { trades: 0, strategies: new Map<string, number>(), protections: new Map<string, number>() };
    for (const event of seedEvents({ days: 2, tradesPerDay: 150, strategies: 3, pairs: 4, end })) {
      expected.trades++;
      expected.strategies.set(event.trade.strategy, (expected.strategies.get(event.trade.strategy) ?? 0) + 1);
      expected.protections.set(event.mev.protection, (expected.protections.get(event.mev.protection) ?? 0) + 1);
    }
    expect(expected.trades).toBe(300);

    const read = async () => {
      for (const table of ["trades", "latency_metrics", "mev_metrics"]) await walApplied(`${t.prefix}${table}`);
      const range = { from: new Date(end - 3 * 86_400_000).toISOString(), to: new Date(end + 60_000).toISOString() };
      const answer = await postGraphQL(t.url, SeedCountsDocument, { range }, { authorization: `Bearer ${READER_KEY}` });
      if (!answer.data) throw new Error(JSON.stringify(answer.errors));
      const { tradeStats, latencyStats, mevEffectiveness } = answer.data;
      return {
        trades: tradeStats.totals.map((r) => [r.group.strategy, r.count] as const),
        latency: latencyStats.totals.map((r) => [r.stage, r.count] as const),
        mev: mevEffectiveness.totals.map((r) => [r.protection, r.transactions] as const),
      };
    };
    const stored = await read();
    expect(Object.fromEntries(stored.trades)).toEqual(Object.fromEntries(expected.strategies));
    expect(expected.strategies.size).toBe(3);
    expect(stored.latency).toEqual(["build", "confirm", "e2e", "quote", "sign", "submit"].map((s) => [s, 300]));
    expect(Object.fromEntries(stored.mev)).toEqual(Object.fromEntries(expected.protections));

    // The same seed again: the same keys and timestamps, so the same rows, not twice as many.
    await seedOnce();
    expect(await read()).toEqual(stored);
  }, 240_000);
});
