// The lean POST path answers exactly as Yoga does: same status, same body, for successes,
// client errors, request errors and masked unexpected errors.
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.ts";
import { freePort } from "../src/questdb/local-server.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { questdbAddress, testConfig, uniquePrefix } from "./support/questdb.ts";

const RECORD =
  "mutation($input: TradeInput!) { recordTrade(input: $input) { accepted ids durability commitLatencyMs } }";
const TRADES =
  "query($f: TradeFilter) { trades(filter: $f, first: 5) { edges { node { tradeId } } pageInfo { hasNextPage } } }";

/** POSTs the same body twice: as a bot (fast path) and with a browser Origin (Yoga's path). */
async function both(url: string, body: unknown) {
  const post = async (headers: Record<string, string>) => {
    const r = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
  };
  return { fast: await post({}), yoga: await post({ origin: "http://dashboard.example" }) };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("fastpath", { ALLOWED_ORIGINS: "http://dashboard.example" });
});

describe("the fast POST path", () => {
  it("answers a successful mutation and query exactly as Yoga does, and is the path bots take", async () => {
    const before = { ...t.app.handler.counts };
    const mutation = await both(t.url, { query: RECORD, variables: { input: makeTrade("fast-1") } });
    expect(mutation.fast).toEqual(mutation.yoga);
    expect(JSON.parse(mutation.fast.body)).toEqual({
      data: { recordTrade: { accepted: 1, ids: ["fast-1"], durability: "QUEUED", commitLatencyMs: null } },
    });
    const query = await both(t.url, { query: TRADES, variables: { f: { tradeId: "none" } } });
    expect(query.fast).toEqual(query.yoga);
    expect(t.app.handler.counts.fast - before.fast).toBe(2);
    expect(t.app.handler.counts.yoga - before.yoga).toBe(2);
  });

  it("answers validation errors from resolvers, variables and the document exactly as Yoga does", async () => {
    const cases: unknown[] = [
      { query: RECORD, variables: { input: { ...makeTrade("bad"), baseAmount: -1 } } },
      { query: RECORD, variables: { input: { ...makeTrade("bad"), mevStatus: "EATEN" } } },
      { query: RECORD },
      { query: "mutation { recordTrade(input: {}) { accepted } }" },
      { query: "{ trades(first: 5000) { pageInfo { hasNextPage } } }" },
      { query: "{ nope }" },
      { query: "{ trades(" },
      { query: RECORD, operationName: "Missing" },
      "{ not json",
      { variables: {} },
    ];
    for (const body of cases) {
      const { fast, yoga } = await both(t.url, body);
      expect(fast, JSON.stringify(body)).toEqual(yoga);
      expect(JSON.parse(fast.body).errors?.length, JSON.stringify(body)).toBeGreaterThan(0);
    }
  });

  it("masks unexpected errors exactly as Yoga does", async () => {
    const dead = await freePort();
    const app = buildApp({
      config: testConfig({ QUESTDB_TABLE_PREFIX: uniquePrefix("masked"), ALLOWED_ORIGINS: "http://dashboard.example" }),
      questdb: { ...questdbAddress(), pgPort: dead, httpPort: dead },
      log: pino({ level: "silent" }),
    });
    const url = await app.start(0, "127.0.0.1");
    try {
      const { fast, yoga } = await both(url, { query: TRADES });
      expect(fast).toEqual(yoga);
      expect(JSON.parse(fast.body).errors).toEqual([
        {
          message: "Unexpected error.",
          locations: [{ line: 1, column: 26 }],
          path: ["trades"],
          extensions: { code: "INTERNAL_SERVER_ERROR" },
        },
      ]);
    } finally {
      await app.writer.close({ timeoutMs: 10 });
      await app.stop();
    }
  });
});
