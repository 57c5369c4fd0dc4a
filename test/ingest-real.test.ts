// The 100 ms batching against the real QuestDB (the fake-clock version is batch-writer.test.ts).
import { connect, createServer, type Socket } from "node:net";
import pino from "pino";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createBatchWriter } from "../src/ingest/batch-writer.ts";
import { encodeRows, type QueuedRow } from "../src/ingest/encoded-rows.ts";
import {
  encodeLatency,
  LATENCY_SELECT,
  type LatencyMetric,
  type LatencyRow,
  latencyFromRow,
} from "../src/ingest/latency-record.ts";
import { encodeTrade, TRADE_SELECT, type Trade, type TradeRow, tradeFromRow } from "../src/ingest/trade-record.ts";
import { createIlpClient } from "../src/questdb/ilp-http.ts";
import { nowMicros } from "../src/time.ts";
import { RecordTradeDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { exec, testPool, walApplied } from "./support/questdb.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("batching");
});

describe("batching against the real QuestDB", () => {
  it("acknowledges COMMITTED writes on the 100 ms tick: never sooner than batching allows on average, never much later", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 60)));
      const r = await t.gql(RecordTradeDocument, {
        durability: "COMMITTED",
        input: {
          tradeId: `tick-${i}`,
          timestamp: new Date().toISOString(),
          action: "BUY",
          baseToken: "SOL",
          quoteToken: "USDC",
          baseAmount: 1,
          quoteAmount: 1,
          executedPrice: 1,
          transactionFee: 1,
          priorityFee: 1,
          expectedSlippage: 0,
          actualSlippage: 0,
          mevStatus: "PROTECTED",
          transferFees: 0,
        },
      });
      expect(r.errors).toBeUndefined();
      latencies.push(r.data?.recordTrade.commitLatencyMs as number);
    }
    const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    // Waiting for a tick averages ~50 ms; flushing per request would average a few ms.
    expect(mean).toBeGreaterThan(20);
    // 100 ms interval plus a generous allowance for a loaded 2-core machine.
    expect(Math.max(...latencies)).toBeLessThan(100 + 300);
    await walApplied(`${t.prefix}trades`);
    const count = await exec(`SELECT count() FROM ${t.prefix}trades`);
    expect(count.dataset).toEqual([[20]]);
  });
});

describe("a tick that finds a flush in flight, against the real QuestDB", () => {
  const sockets = new Set<Socket>();

  it("sends the rows it found as soon as QuestDB answers that flush, not at the tick after", async () => {
    // QuestDB's HTTP port behind a proxy that holds every response HOLD_MS: each flush spans at
    // least one tick of a 1 s interval. What the proxy sees: when each ILP request comes in and
    // when each response is passed on.
    const HOLD_MS = 1_500;
    const seen: { kind: "request" | "response"; at: number }[] = [];
    const proxy = createServer((client) => {
      const upstream = connect(inject("questdb").httpPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", (chunk: Buffer) => {
        if (chunk.subarray(0, 5).toString() === "POST ") seen.push({ kind: "request", at: performance.now() });
        upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => {
        setTimeout(() => {
          if (chunk.subarray(0, 5).toString() === "HTTP/") seen.push({ kind: "response", at: performance.now() });
          client.write(chunk);
        }, HOLD_MS);
      });
    });
    await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
    const port = (proxy.address() as { port: number }).port;
    const ilp = createIlpClient({ host: "127.0.0.1", port });
    const writer = createBatchWriter({
      ilp,
      log: pino({ level: "silent" }),
      intervalMs: 1_000,
    });
    const table = `${t.prefix}tick_missed`;
    const row = (id: number): QueuedRow => ({
      table,
      encode: (buffer) => buffer.table(table).symbol("id", String(id)).at(nowMicros(), "us"),
    });
    try {
      // Three times: a row, and once its flush is in flight, another. The second row's flush
      // follows the first's answer within a few ms (before, it waited for the next tick: up to
      // a whole interval, under 200 ms one time in five).
      for (let i = 0; i < 3; i++) {
        const first = writer.enqueue([row(2 * i)]);
        const requestsBefore = seen.filter((e) => e.kind === "request").length;
        while (seen.filter((e) => e.kind === "request").length === requestsBefore) {
          await new Promise((r) => setTimeout(r, 5));
        }
        const second = writer.enqueue([row(2 * i + 1)]);
        await first.committed;
        await second.committed;
      }
      const requests = seen.filter((e) => e.kind === "request").map((e) => e.at);
      const responses = seen.filter((e) => e.kind === "response").map((e) => e.at);
      expect(requests).toHaveLength(6);
      expect(responses).toHaveLength(6);
      for (const i of [0, 2, 4]) {
        const gap = (requests[i + 1] as number) - (responses[i] as number);
        expect(gap, `flush ${i + 1}'s answer → flush ${i + 2}`).toBeGreaterThanOrEqual(0);
        expect(gap, `flush ${i + 1}'s answer → flush ${i + 2}`).toBeLessThan(200);
      }
    } finally {
      await writer.close();
      ilp.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => proxy.close(done));
    }
    await walApplied(table);
    expect((await exec(`SELECT count() FROM ${table}`)).dataset).toEqual([[6]]);
  });
});

describe("rows handed over as ILP bytes", () => {
  it("writes chunks of two tables from enqueueEncoded under one ticket, read back exactly: doubles, escaped strings and symbols", async () => {
    const awkward = 'say "hi", a=b c\\d\nnext\rline é 日本 🚀 \\"';
    const now = nowMicros() - 60_000_000n;
    const doubles = [5e-324, 1e15, -0.0123456789012345, 0.30000000000000004, -1e300, 123.456];
    const trades: Trade[] = doubles.map((x, i) => ({
      timestamp: now + BigInt(i),
      tradeId: `enc-${i} ${awkward}`,
      signature: i % 2 ? null : `sig,${awkward}`,
      action: i % 2 ? "BUY" : "SELL",
      baseToken: `base ${awkward}`,
      quoteToken: "USDC",
      baseAmount: x,
      quoteAmount: doubles[(i + 1) % doubles.length] as number,
      executedPrice: doubles[(i + 2) % doubles.length] as number,
      transactionFee: 9_007_199_254_740_991n,
      priorityFee: BigInt(i),
      expectedSlippage: -x,
      actualSlippage: x / 7,
      mevStatus: "FRONT_RUN",
      transferFees: 1e-18,
      strategy: i % 2 ? null : `strategy=${i}, ${awkward}`,
      venue: "raydium clmm",
      slot: i % 2 ? null : 312_345_678_901n,
      realizedPnl: i % 2 ? null : -x,
      writer: `writer ${awkward}`,
    }));
    const latency: LatencyMetric = {
      timestamp: now,
      metricId: `enc-${awkward}`,
      stage: `stage ${awkward}`,
      latencyUs: 123_456_789n,
      success: true,
      strategy: null,
      tradeId: trades[0]?.tradeId ?? null,
      writer: "enc",
    };
    const tables = { trades: `${t.prefix}trades`, latency: `${t.prefix}latency_metrics` };
    const newBuffer = () => t.app.ilp.newBuffer();
    const tradeRows: QueuedRow[] = trades.map((trade) => ({
      table: tables.trades,
      encode: (b) => encodeTrade(b, tables.trades, trade),
    }));
    const latencyRow: QueuedRow = { table: tables.latency, encode: (b) => encodeLatency(b, tables.latency, latency) };
    // Two calls: a chunk of each table, then more trades in a chunk of their own.
    const chunks = [
      ...encodeRows([...tradeRows.slice(0, 1), latencyRow], newBuffer),
      ...encodeRows(tradeRows.slice(1), newBuffer),
    ];
    expect(chunks.map((c) => [c.table, c.ends.length])).toEqual([
      [tables.trades, 1],
      [tables.latency, 1],
      [tables.trades, 5],
    ]);
    const ticket = t.app.writer.enqueueEncoded(chunks);
    expect(ticket.rows).toBe(7);
    await expect(ticket.committed).resolves.toBeGreaterThanOrEqual(0);
    await walApplied(tables.trades);
    await walApplied(tables.latency);
    const pool = testPool();
    try {
      const stored = await pool.query<TradeRow>(
        `SELECT ${TRADE_SELECT} FROM ${tables.trades} WHERE trade_id LIKE 'enc-%' ORDER BY timestamp`,
      );
      expect(stored.rows.map(tradeFromRow)).toEqual(trades);
      const measured = await pool.query<LatencyRow>(`SELECT ${LATENCY_SELECT} FROM ${tables.latency}`);
      expect(measured.rows.map(latencyFromRow)).toEqual([latency]);
    } finally {
      await pool.end();
    }
  });
});
