// Big-batch overload against the real server and QuestDB (issue 10): 20 bots send 500-row
// batches at a small queue and a single write slot, retrying every retryable refusal with the
// same ids, as the README tells bots to. Refusals happen (the test checks they did), the probes
// keep answering, and at the end every acknowledged row is in QuestDB exactly once.
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, testPool } from "./support/questdb.ts";

const WRITER = "bot-key-0123456789abcdef";
const READER = "dash-key-0123456789abcdef";
const RECORD = "mutation($t: [TradeInput!]!) { recordTrades(inputs: $t) { accepted } }";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("overload", {
    API_KEYS: `bot:writer:${WRITER},dash:reader:${READER}`,
    MAX_QUEUE_ROWS: "3000",
    MAX_CONCURRENT_WRITES: "1",
    WRITE_WORKERS: "1",
    MAX_WAITING_WRITES: "2",
    MAX_WAIT_MS: "200",
    ALERT_INTERVAL_MS: "0",
    SYSTEM_METRICS_INTERVAL_MS: "0",
  });
});

interface Answer {
  status: number;
  data?: { recordTrades: { accepted: number } };
  errors?: { extensions?: { code?: string; retryable?: boolean } }[];
}

async function post(body: string): Promise<Answer> {
  const r = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${WRITER}` },
    body,
  });
  return { status: r.status, ...((await r.json()) as Omit<Answer, "status">) };
}

describe("100-bot style overload, scaled to a test", () => {
  it("refuses fast and retryably, keeps probes answering, and loses or duplicates nothing acknowledged", async () => {
    const bots = 20;
    const batches = 5;
    const rowsPerBatch = 500;
    const acknowledged = new Set<string>();
    const refusals = new Map<string, number>();
    let running = true;
    const probeTimes: number[] = [];
    const probes = (async () => {
      while (running) {
        const started = performance.now();
        const health = await fetch(`${t.url}/health`);
        const page = await fetch(`${t.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${READER}` },
          body: JSON.stringify({ query: "{ trades(first: 1) { nodes { tradeId } } }" }),
        });
        expect([health.status, page.status]).toEqual([200, 200]);
        probeTimes.push(performance.now() - started);
        await new Promise((done) => setTimeout(done, 25));
      }
    })();
    await Promise.all(
      Array.from({ length: bots }, async (_, bot) => {
        for (let b = 0; b < batches; b++) {
          const trades = Array.from({ length: rowsPerBatch }, (_, i) =>
            makeTrade(`ov-${bot}-${b}-${i}`, new Date(Date.now() - 60_000 + i).toISOString()),
          );
          const body = JSON.stringify({ query: RECORD, variables: { t: trades } });
          for (let attempt = 0; ; attempt++) {
            const answer = await post(body);
            if (answer.data) {
              expect(answer.data.recordTrades.accepted).toBe(rowsPerBatch);
              for (const trade of trades) acknowledged.add(trade.tradeId as string);
              break;
            }
            const error = answer.errors?.[0]?.extensions;
            expect(error?.retryable, JSON.stringify(answer)).toBe(true);
            refusals.set(error?.code ?? "?", (refusals.get(error?.code ?? "?") ?? 0) + 1);
            expect(attempt).toBeLessThan(500);
            await new Promise((done) => setTimeout(done, 20 + Math.random() * 80));
          }
        }
      }),
    );
    running = false;
    await probes;
    expect(acknowledged.size).toBe(bots * batches * rowsPerBatch);
    // The bounds were reached, and every refusal was one a bot retries.
    expect([...refusals.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const code of refusals.keys()) expect(["QUEUE_FULL", "OVERLOADED"]).toContain(code);
    expect(probeTimes.length).toBeGreaterThan(10);
    await t.app.writer.drain();
    const pool = testPool();
    try {
      await eventually(async () => {
        const { rows } = await pool.query(
          `SELECT count() n, count_distinct(trade_id) d FROM ${t.prefix}trades WHERE trade_id LIKE 'ov-%'`,
        );
        return Number(rows[0].n) === acknowledged.size ? rows[0] : undefined;
      }, "every acknowledged row");
      const { rows } = await pool.query(
        `SELECT count_distinct(trade_id) d FROM ${t.prefix}trades WHERE trade_id LIKE 'ov-%'`,
      );
      expect(Number(rows[0].d)).toBe(acknowledged.size);
    } finally {
      await pool.end();
    }
  });
});
