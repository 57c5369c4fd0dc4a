// Logs (issue 14, point 5) of a real server: one JSON line per GraphQL operation with the request
// id (also in the `x-request-id` header), the key's name and never the key, the duration and the
// outcome; on HTTP and on WebSockets.
import { Writable } from "node:stream";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createLogger } from "../src/logger.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually } from "./support/questdb.ts";

const WRITER = "logs-writer-secret-0123456789";
const READER = "logs-reader-secret-0123456789";
const lines: Record<string, unknown>[] = [];
let raw = "";
let t: TestApp;
const sink = new Writable({
  write(chunk, _encoding, done) {
    raw += chunk;
    for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

beforeAll(async () => {
  t = await startTestApp(
    "logs",
    { API_KEYS: `bot-1:writer:${WRITER},dash-1:reader:${READER}`, LIVE_POLL_INTERVAL_MS: "50" },
    { log: createLogger("info", sink) },
  );
});
const clients: { dispose(): unknown }[] = [];
afterAll(async () => {
  for (const client of clients) await client.dispose();
});

const post = (key: string, query: string, variables?: unknown) =>
  fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
const operationLines = () => lines.filter((l) => l.msg === "operation");

describe("operation logs", () => {
  it("write one line per HTTP operation with the request id of its answer, the key's name, the duration and the outcome", async () => {
    const ok = await post(WRITER, "mutation Record($t: TradeInput!) { recordTrade(input: $t) { accepted } }", {
      t: makeTrade("logged-1"),
    });
    expect(ok.status).toBe(200);
    const reqId = ok.headers.get("x-request-id");
    expect(reqId).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await post(READER, "mutation { recordTrade(input: { action: BUY }) { accepted } }");
    const refusedId = refused.headers.get("x-request-id");
    const forbidden = await post(
      READER,
      `mutation { recordTrade(input: ${"{"} action: BUY, baseToken: "SOL", quoteToken: "USDC", baseAmount: 1, quoteAmount: 1, executedPrice: 1, transactionFee: 0, priorityFee: 0, expectedSlippage: 0, actualSlippage: 0, mevStatus: UNKNOWN, transferFees: 0 }) { accepted } }`,
    );
    const forbiddenId = forbidden.headers.get("x-request-id");
    expect((await forbidden.json()).errors[0].extensions.code).toBe("FORBIDDEN");
    await eventually(async () => (operationLines().length >= 2 ? true : undefined), "the operation lines");

    const [first, ...rest] = operationLines();
    expect(first).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: process.pid,
      hostname: expect.any(String),
      reqId,
      key: "bot-1",
      operation: "Record",
      type: "mutation",
      ms: expect.any(Number),
      outcome: "ok",
      msg: "operation",
    });
    // The anonymous operation is named by its root field; the reader may not record.
    expect(rest.find((l) => l.reqId === forbiddenId)).toMatchObject({
      key: "dash-1",
      operation: "recordTrade",
      type: "mutation",
      outcome: "error",
      errors: ["FORBIDDEN"],
    });
    // A document that does not validate never reaches execution: no operation line, but its answer has an id.
    expect(refusedId).toMatch(/^[0-9a-f-]{36}$/);
    expect(raw).not.toContain(WRITER);
    expect(raw).not.toContain(READER);
  });

  it("put the request id on the other lines of a request too (a refused key's warning)", async () => {
    const wrong = await post("a-wrong-key-0123456789", "{ viewer { name } }");
    expect(wrong.status).toBe(401);
    const reqId = wrong.headers.get("x-request-id");
    const warning = await eventually(
      async () => lines.find((l) => l.reqId === reqId),
      "the refusal's line with the request id",
    );
    expect(warning).toMatchObject({ level: 40, component: "guard", code: "UNAUTHENTICATED" });
    expect(raw).not.toContain("a-wrong-key-0123456789");
  });

  it("write a subscription's line when it ends, with its messages, in the WebSocket's own request scope", async () => {
    const client = createClient({
      url: `${t.url.replace("http", "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${READER}` },
      retryAttempts: 0,
    });
    clients.push(client);
    let received = 0;
    const stop = client.subscribe(
      { query: "subscription Watch { liveMetrics(windowSeconds: 5) { trades } }" },
      { next: () => received++, error: () => {}, complete: () => {} },
    );
    await eventually(async () => (received >= 1 ? true : undefined), "the first liveMetrics");
    stop();
    const line = await eventually(
      async () => operationLines().find((l) => l.operation === "Watch"),
      "the subscription's line",
    );
    expect(line).toMatchObject({ key: "dash-1", type: "subscription", outcome: "ok", messages: received });
    expect(line.reqId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
