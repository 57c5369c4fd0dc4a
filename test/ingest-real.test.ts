// The 100 ms batching against the real QuestDB (the fake-clock version is batch-writer.test.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { RecordTradeDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { exec, walApplied } from "./support/questdb.ts";

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
