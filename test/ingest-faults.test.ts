// Faults against a real QuestDB of this file's own (it gets killed): a crash mid-load, a
// QuestDB that is down when the API starts, and connections cut in the middle of ILP requests.
import { afterAll, describe, expect, it } from "vitest";
import type { QuestDbAddress } from "../src/config.ts";
import { localAddress } from "../src/questdb/embedded.ts";
import { freePort, type LocalQuestDb } from "../src/questdb/local-server.ts";
import { makeTrade, sendTrades, startCuttingProxy } from "./support/load.ts";
import { countTrades, ownQuestDb, startAppOn } from "./support/own-questdb.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const startApp = (questdb: QuestDbAddress, label: string, env: Record<string, string> = {}) =>
  startAppOn(cleanups, questdb, label, env);

describe("ingestion faults against a real QuestDB", () => {
  it("QuestDB killed with SIGKILL in the middle of 100,000 rows from 8 clients and restarted: every acknowledged row is there exactly once", async () => {
    const { server, dir } = await ownQuestDb(cleanups);
    const ports = { httpPort: server.httpPort, pgPort: server.pgPort };
    // Room for every row sent while QuestDB is down: this test is about the crash, not backpressure.
    const { app, url, prefix } = await startApp(localAddress(ports.httpPort, ports.pgPort), "crash", {
      MAX_QUEUE_ROWS: "200000",
    });
    let restarted: LocalQuestDb | undefined;
    let crash: Promise<void> | undefined;
    const result = await sendTrades({
      url,
      prefix: "crash",
      total: 100_000,
      clients: 8,
      batchSize: 500,
      onProgress: (acked) => {
        if (acked >= 30_000 && !crash) {
          crash = (async () => {
            await server.kill();
            await new Promise((r) => setTimeout(r, 3_000));
            restarted = (await ownQuestDb(cleanups, dir, ports)).server;
          })();
        }
      },
    });
    await crash;
    expect(result.failures).toEqual([]);
    expect(result.acked).toHaveLength(100_000);
    await app.writer.drain();
    expect(app.writer.stats().retries).toBeGreaterThan(0);
    expect(app.writer.stats().rejectedRows).toBe(0);
    expect(await countTrades(restarted as LocalQuestDb, `${prefix}trades`)).toEqual({
      rows: 100_000,
      distinct: 100_000,
    });
  });

  it("QuestDB down when the API starts: it serves, /ready is 503, writes are accepted and land once QuestDB is up", async () => {
    const ports = { httpPort: await freePort(), pgPort: await freePort() };
    const { app, url, prefix } = await startApp(localAddress(ports.httpPort, ports.pgPort), "late");
    expect((await fetch(`${url}/ready`)).status).toBe(503);
    const result = await sendTrades({ url, prefix: "late", total: 2_000, clients: 2, batchSize: 250 });
    expect(result.failures).toEqual([]);
    expect(app.writer.stats().queuedRows).toBe(2_000);
    const { server } = await ownQuestDb(cleanups, undefined, ports);
    await app.tablesReady;
    await app.writer.drain();
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    expect(await countTrades(server, `${prefix}trades`)).toEqual({ rows: 2_000, distinct: 2_000 });
  });

  it("connections cut in the middle of ILP requests and before their responses: no row lost or duplicated", async () => {
    const { server } = await ownQuestDb(cleanups);
    const proxy = await startCuttingProxy(server.httpPort, 30);
    cleanups.push(() => proxy.close());
    // Writes go through the proxy; table set-up and queries go straight to PGWire.
    // Small ILP requests, so there are many requests to cut.
    const { app, url, prefix } = await startApp(localAddress(proxy.port, server.pgPort), "cut", {
      BATCH_MAX_ROWS: "500",
    });
    const result = await sendTrades({ url, prefix: "cut", total: 20_000, clients: 4, batchSize: 200 });
    expect(result.failures).toEqual([]);
    await app.writer.drain();
    expect(proxy.faults).toEqual({ requestCut: 15, responseCut: 15 });
    expect(await countTrades(server, `${prefix}trades`)).toEqual({ rows: 20_000, distinct: 20_000 });
  });
  it("QuestDB frozen (SIGSTOP): /ready says 503 within about a second and then at once, a writer meets QUEUE_FULL on its headers, and after SIGCONT every acknowledged row lands", async () => {
    const { server } = await ownQuestDb(cleanups);
    const writerKey = "frozen-writer-key-0123456789";
    const { app, url, prefix } = await startApp(localAddress(server.httpPort, server.pgPort), "frozen", {
      API_KEYS: `bot:writer:${writerKey}`,
      MAX_QUEUE_ROWS: "3000",
      BATCH_INTERVAL_MS: "50",
    });
    const ready = async () => {
      const started = performance.now();
      const status = (await fetch(`${url}/ready`)).status;
      return { status, ms: performance.now() - started };
    };
    const batch = (label: string, n: number) =>
      fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${writerKey}` },
        body: JSON.stringify({
          query: "mutation($t: [TradeInput!]!) { recordTrades(inputs: $t) { accepted } }",
          variables: {
            t: Array.from({ length: n }, (_, i) => ({
              ...makeTrade(`${label}-${i}`, new Date(Date.now() - 60_000 + i).toISOString()),
            })),
          },
        }),
      });
    expect((await ready()).status).toBe(200);

    await ready(); // an answer cached just before the freeze
    process.kill(server.pid, "SIGSTOP");
    try {
      // The readiness check finds QuestDB silent: an answer of the last 5 s stands in while a check
      // runs, but a check unanswered for a second means 503, and from then on without waiting.
      const frozenAt = performance.now();
      let answer = await ready();
      while (answer.status === 200 && performance.now() - frozenAt < 5_000) {
        await new Promise((done) => setTimeout(done, 100));
        answer = await ready();
      }
      expect(answer.status).toBe(503);
      expect(performance.now() - frozenAt).toBeLessThan(2_500);
      const next = await ready();
      expect(next.status).toBe(503);
      expect(next.ms).toBeLessThan(500);
      // Writes are queued while QuestDB is away, then refused on their headers once the queue is full.
      const accepted: string[] = [];
      for (let round = 0; round < 10; round++) {
        const r = await batch(`fz${round}`, 1_000);
        if (r.status === 200) {
          expect(await r.json()).toEqual({ data: { recordTrades: { accepted: 1_000 } } });
          accepted.push(`fz${round}`);
          continue;
        }
        expect(r.status).toBe(503);
        expect(r.headers.get("retry-after")).toBe("1");
        expect(((await r.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
          "QUEUE_FULL",
        );
        break;
      }
      expect(accepted.length).toBeGreaterThanOrEqual(2);
      expect(accepted.length).toBeLessThanOrEqual(3);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      process.kill(server.pid, "SIGCONT");
      await app.writer.drain();
      expect(await countTrades(server, `${prefix}trades`)).toEqual({
        rows: accepted.length * 1_000,
        distinct: accepted.length * 1_000,
      });
      // Ready again once a check answers: the last one may have been cut off by the freeze, and
      // an answer is reused for 500 ms, so the first request after SIGCONT may still say 503.
      const resumedAt = performance.now();
      let resumed = await ready();
      while (resumed.status !== 200 && performance.now() - resumedAt < 5_000) {
        await new Promise((done) => setTimeout(done, 100));
        resumed = await ready();
      }
      expect(resumed.status).toBe(200);
    } finally {
      process.kill(server.pid, "SIGCONT");
    }
  });
});
