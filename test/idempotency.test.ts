// Idempotency without the client's clock (issue 11, point 1). The rule: a row's identity is its
// timestamp, its key (tradeId, else signature; metricId, else tradeId) and its writer; a request
// that sends a key must send the timestamp too, so a retry can never be stamped "now" again and
// stored twice. Without a key the server makes one (a UUID): such a row cannot be retried safely.
import { describe, expect, it } from "vitest";
import { startTestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { testPool, walApplied } from "./support/questdb.ts";

async function post(url: string, query: string, variables: unknown) {
  const r = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await r.json()) as {
    data?: Record<string, { accepted: number; ids: string[] }> | null;
    errors?: { message: string; extensions: { code: string; problems?: { path: string; reason: string }[] } }[];
  };
}

const TRADES = "mutation($t: [TradeInput!]!) { recordTrades(inputs: $t, durability: COMMITTED) { accepted ids } }";
const LATENCY =
  "mutation($m: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $m, durability: COMMITTED) { accepted ids } }";
const MEV = "mutation($m: [MevMetricInput!]!) { recordMevMetrics(inputs: $m, durability: COMMITTED) { accepted ids } }";

describe("idempotency without the client's clock", () => {
  it("refuses a key without a timestamp, for trades, latency and MEV rows, naming the field", async () => {
    const t = await startTestApp("idemrule");
    const { timestamp: _t, ...untimed } = makeTrade("keyed-1");
    const cases: [string, unknown, string][] = [
      [TRADES, { t: [untimed] }, "tradeId"],
      [TRADES, { t: [{ ...untimed, tradeId: undefined, signature: "5".repeat(88) }] }, "signature"],
      [LATENCY, { m: [{ metricId: "m-1", stage: "quote", latencyUs: 5 }] }, "metricId"],
      [LATENCY, { m: [{ tradeId: "t-1", stage: "quote", latencyUs: 5 }] }, "tradeId"],
      [MEV, { m: [{ metricId: "v-1", outcome: "LANDED", protection: "NONE", tipLamports: 0 }] }, "metricId"],
    ];
    for (const [query, variables, key] of cases) {
      const answer = await post(t.url, query, variables);
      expect(answer.data, key).toBeNull();
      expect(answer.errors?.[0]?.extensions.code).toBe("BAD_USER_INPUT");
      expect(answer.errors?.[0]?.extensions.problems).toEqual([
        {
          path: "inputs[0].timestamp",
          index: 0,
          field: "timestamp",
          reason: expect.stringContaining(`is required with ${key}`),
        },
      ]);
    }
    // No key, no timestamp: accepted, with a server-made key (a retry of it would be a new row).
    const { tradeId: _id, ...anonymous } = untimed;
    const accepted = await post(t.url, TRADES, { t: [anonymous, anonymous] });
    expect(accepted.data?.recordTrades?.accepted).toBe(2);
    const [a, b] = accepted.data?.recordTrades?.ids ?? [];
    expect(a).not.toBe(b);
  });

  it("stores a retried key once, from another instance or after a restart; the last values win; another timestamp is another row", async () => {
    const first = await startTestApp("idemretry");
    const second = await startTestApp("idemretry2", { QUESTDB_TABLE_PREFIX: first.prefix });
    const at = new Date(Date.now() - 120_000).toISOString();
    const trade = (amount: number, timestamp = at) => ({ ...makeTrade("retry-1", timestamp), baseAmount: amount });
    for (const [app, amount] of [
      [first, 1],
      [second, 2],
      [first, 3],
    ] as const) {
      expect((await post(app.url, TRADES, { t: [trade(amount)] })).data?.recordTrades?.accepted).toBe(1);
    }
    // A restart: a new process (app) on the same tables.
    await first.app.stop();
    const third = await startTestApp("idemretry3", { QUESTDB_TABLE_PREFIX: first.prefix });
    expect((await post(third.url, TRADES, { t: [trade(4)] })).data?.recordTrades?.accepted).toBe(1);
    // The same key at another time is another event of the bot's: a row of its own.
    const later = new Date(Date.now() - 60_000).toISOString();
    expect((await post(third.url, TRADES, { t: [trade(5, later)] })).data?.recordTrades?.accepted).toBe(1);

    const pool = testPool();
    try {
      await walApplied(`${first.prefix}trades`);
      const { rows } = await pool.query(
        `SELECT timestamp, base_amount FROM '${first.prefix}trades' WHERE trade_id = 'retry-1' ORDER BY timestamp`,
      );
      expect(rows.map((r) => Number(r.base_amount))).toEqual([4, 5]);
    } finally {
      await pool.end();
    }
  });
});
