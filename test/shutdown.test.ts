// Shutdown stops accepting at once (issue 11, point 3): once stop() begins, a request on a
// kept-alive connection, a new connection or a WebSocket gets no further answer than a
// retryable SHUTTING_DOWN; everything acknowledged before is flushed to QuestDB.
import http from "node:http";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { testPool, walApplied } from "./support/questdb.ts";

const RECORD = "mutation($t: [TradeInput!]!) { recordTrades(inputs: $t) { accepted } }";

/** One POST over `agent` (so a kept-alive connection is reused). */
function post(url: string, agent: http.Agent, body: unknown) {
  const bytes = Buffer.from(JSON.stringify(body));
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; reused: boolean }>(
    (resolve, reject) => {
      const req = http.request(`${url}/graphql`, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": bytes.length },
      });
      req.on("error", reject);
      req.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
            reused: req.reusedSocket,
          }),
        );
      });
      req.end(bytes);
    },
  );
}

describe("shutdown", () => {
  it("refuses at once on a kept-alive connection with a retryable SHUTTING_DOWN, and flushes what it acknowledged", async () => {
    const t = await startTestApp("shutdown", { BATCH_INTERVAL_MS: "60000", BATCH_MAX_ROWS: "100000" });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const batch = (label: string) => ({
      query: RECORD,
      variables: {
        t: Array.from({ length: 500 }, (_, i) =>
          makeTrade(`${label}-${i}`, new Date(Date.now() - 60_000 + i).toISOString()),
        ),
      },
    });
    const before = await post(t.url, agent, batch("before"));
    expect(JSON.parse(before.body)).toEqual({ data: { recordTrades: { accepted: 500 } } });
    // A subscriber's WebSocket, open before the stop.
    const ws = new WebSocket(`${t.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    await new Promise((done, fail) => {
      ws.once("open", done);
      ws.once("error", fail);
    });
    const wsClosed = new Promise<number>((done) => ws.once("close", (code) => done(code)));

    // The rows wait in the queue (the next flush is a minute away): stop() must flush them.
    const stopping = t.app.stop();
    const after = await post(t.url, agent, batch("after"));
    expect(after.reused).toBe(true);
    expect(after.status).toBe(503);
    expect(after.headers["retry-after"]).toBe("1");
    expect(after.headers.connection).toBe("close");
    expect(JSON.parse(after.body).errors[0].extensions).toEqual({
      code: "SHUTTING_DOWN",
      retryable: true,
      retryAfterMs: 1_000,
    });
    expect(await wsClosed).toBe(1001);
    await stopping;
    agent.destroy();

    const pool = testPool();
    try {
      await walApplied(`${t.prefix}trades`);
      const { rows } = await pool.query(
        `SELECT sum(CASE WHEN trade_id LIKE 'before-%' THEN 1 ELSE 0 END) acked, sum(CASE WHEN trade_id LIKE 'after-%' THEN 1 ELSE 0 END) refused FROM '${t.prefix}trades'`,
      );
      expect({ acked: Number(rows[0].acked), refused: Number(rows[0].refused) }).toEqual({ acked: 500, refused: 0 });
    } finally {
      await pool.end();
    }
  });
});
