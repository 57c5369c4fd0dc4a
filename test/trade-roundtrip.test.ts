import { beforeAll, describe, expect, it } from "vitest";
import { RecordTradeDocument, RecordTradesDocument, type TradeInput, TradesDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { eventually, exec } from "./support/questdb.ts";

const SIGNATURE = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";

/** `n` ms before now, with microsecond digits appended, as the API accepts it. */
function recentMicros(msAgo: number, micros: string): string {
  return new Date(Date.now() - msAgo).toISOString().replace("Z", `${micros}Z`);
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("roundtrip");
});

async function fetchTrade(tradeId: string) {
  const result = await eventually(async () => {
    const r = await t.gql(TradesDocument, { filter: { tradeId }, first: 10 });
    return r.data?.trades.edges.length ? r : undefined;
  }, `trade ${tradeId}`);
  expect(result.errors).toBeUndefined();
  expect(result.data?.trades.edges).toHaveLength(1);
  return result.data?.trades.edges[0]?.node;
}

describe("recordTrade → QuestDB → trades", () => {
  it("returns every field of the Enhanced Trade Model exactly as written, edge values included", async () => {
    const timestamp = recentMicros(3_600_000, "457");
    const input: TradeInput = {
      tradeId: "bot-7:order-000001",
      signature: SIGNATURE,
      timestamp,
      action: "SELL",
      baseToken: "So11111111111111111111111111111111111111112",
      quoteToken: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
      baseAmount: 0,
      quoteAmount: 1e15, // MAX_AMOUNT
      executedPrice: 5e-324,
      transactionFee: "9007199254740991",
      priorityFee: "0",
      expectedSlippage: 0.30000000000000004,
      actualSlippage: -0.0123456789012345,
      mevStatus: "SANDWICHED",
      transferFees: 1e-18,
      strategy: "momentum_v2",
      venue: "raydium-clmm",
      slot: "312345678901",
      realizedPnl: -12.5,
    };
    const recorded = await t.gql(RecordTradeDocument, { input, durability: "COMMITTED" });
    expect(recorded.errors).toBeUndefined();
    expect(recorded.data?.recordTrade).toMatchObject({ accepted: 1, ids: [input.tradeId], durability: "COMMITTED" });
    expect(recorded.data?.recordTrade.commitLatencyMs).toBeGreaterThanOrEqual(0);

    const trade = await fetchTrade(input.tradeId as string);
    expect(trade).toEqual({ ...input, timestamp });

    // Stored as the right QuestDB types, read independently over HTTP /exec.
    const raw = await exec(
      `SELECT timestamp, transaction_fee, slot, base_amount, quote_amount FROM ${t.prefix}trades WHERE trade_id = '${input.tradeId}'`,
    );
    expect(raw.dataset).toEqual([[timestamp, 9007199254740991, 312345678901, 0, 1e15]]);
  });

  it("fills absent optional fields with null, uses the signature as the key, and normalises offsets to UTC", async () => {
    const input: TradeInput = {
      signature: SIGNATURE.replace("5VER", "4VER"),
      timestamp: "2026-11-27T10:00:00.000001+02:00",
      action: "BUY",
      baseToken: "BONK",
      quoteToken: "SOL",
      baseAmount: 123456789.123456,
      quoteAmount: 0.000001,
      executedPrice: 8.1e-9,
      transactionFee: 5000,
      priorityFee: "1",
      expectedSlippage: 0,
      actualSlippage: 0,
      mevStatus: "UNPROTECTED",
      transferFees: 0,
    };
    // Keep the test valid whatever day it runs: only the offset handling matters here.
    const when = new Date(Date.now() - 7_200_000);
    const local = new Date(when.getTime() + 2 * 3_600_000).toISOString().slice(0, 19);
    input.timestamp = `${local}.000001+02:00`;
    const recorded = await t.gql(RecordTradeDocument, { input });
    expect(recorded.errors).toBeUndefined();
    expect(recorded.data?.recordTrade).toMatchObject({ accepted: 1, ids: [input.signature], commitLatencyMs: null });
    const trade = await fetchTrade(input.signature as string);
    expect(trade).toEqual({
      ...input,
      tradeId: input.signature,
      timestamp: `${when.toISOString().slice(0, 19)}.000001Z`,
      transactionFee: "5000",
      strategy: null,
      venue: null,
      slot: null,
      realizedPnl: null,
    });
  });

  it("assigns a UUID key when the client gives neither tradeId nor signature, and defaults the timestamp to now", async () => {
    const before = Date.now();
    const recorded = await t.gql(RecordTradeDocument, {
      input: {
        action: "BUY",
        baseToken: "JUP",
        quoteToken: "USDC",
        baseAmount: 1,
        quoteAmount: 1,
        executedPrice: 1,
        transactionFee: 0,
        priorityFee: 0,
        expectedSlippage: 0,
        actualSlippage: 0,
        mevStatus: "UNKNOWN",
        transferFees: 0,
      },
    });
    const id = recorded.data?.recordTrade.ids[0] as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const trade = await fetchTrade(id);
    const at = Date.parse(trade?.timestamp ?? "");
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});

describe("validation", () => {
  const valid: TradeInput = {
    timestamp: new Date(Date.now() - 60_000).toISOString(),
    action: "BUY",
    baseToken: "SOL",
    quoteToken: "USDC",
    baseAmount: 1,
    quoteAmount: 200,
    executedPrice: 200,
    transactionFee: 5000,
    priorityFee: 0,
    expectedSlippage: 0.01,
    actualSlippage: 0.001,
    mevStatus: "PROTECTED",
    transferFees: 0,
  };

  it("rejects a bad trade with an error naming every bad field and the reason, and records nothing", async () => {
    const result = await t.gql(RecordTradeDocument, {
      input: {
        ...valid,
        tradeId: "validation-1",
        baseAmount: -1,
        transferFees: -0.5,
        baseToken: "",
        venue: "bad venue!",
        transactionFee: "9007199254740992",
        timestamp: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: input.timestamp is more than 60000 ms in the future; check the bot's clock; " +
        "input.baseToken must be 1 to 64 characters long; input.baseAmount must not be negative; " +
        "input.transactionFee must be at most 9007199254740991; input.transferFees must not be negative; " +
        "input.venue may contain only letters, digits and _ . : / - and must start with a letter or digit",
    );
    expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.extensions?.problems).toContainEqual({
      index: 0,
      field: "baseAmount",
      reason: "must not be negative",
      path: "input.baseAmount",
    });
    await t.app.writer.drain();
    const rows = await exec(`SELECT count() FROM ${t.prefix}trades WHERE trade_id = 'validation-1'`);
    expect(rows.dataset).toEqual([[0]]);
  });

  it("rejects timestamps older than the retention, without a zone, or finer than microseconds", async () => {
    const old = await t.gql(RecordTradeDocument, { input: { ...valid, timestamp: "2020-01-01T00:00:00Z" } });
    expect(old.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: input.timestamp is older than the 30-day retention and would be dropped",
    );
    const local = await t.gql(RecordTradeDocument, { input: { ...valid, timestamp: "2026-01-01T00:00:00" } });
    expect(local.errors?.[0]?.message).toContain(
      'Timestamp "2026-01-01T00:00:00": the timestamp needs a time zone: end it with Z or an offset such as +02:00',
    );
    const nanos = await t.gql(RecordTradeDocument, { input: { ...valid, timestamp: "2026-01-01T00:00:00.1234567Z" } });
    expect(nanos.errors?.[0]?.message).toContain("at most microsecond precision (6 fractional digits) is stored");
  });

  it("rejects a whole list when one item is bad, naming the item's index", async () => {
    const result = await t.gql(RecordTradesDocument, {
      inputs: [
        { ...valid, tradeId: "list-ok-1" },
        { ...valid, tradeId: "list-bad", executedPrice: -2 },
        { ...valid, tradeId: "list-ok-2" },
      ],
    });
    expect(result.errors?.[0]?.message).toBe(
      "Invalid input, nothing was recorded: inputs[1].executedPrice must not be negative",
    );
    await t.app.writer.drain();
    const rows = await exec(`SELECT count() FROM ${t.prefix}trades WHERE trade_id LIKE 'list-%'`);
    expect(rows.dataset).toEqual([[0]]);
  });

  it("rejects unknown enum values and non-integer Longs before the resolver runs", async () => {
    const result = await t.gql(RecordTradeDocument, {
      input: { ...valid, mevStatus: "EATEN" as TradeInput["mevStatus"], priorityFee: 1.5 },
    });
    const messages = result.errors?.map((e) => e.message).join("\n");
    expect(messages).toContain('Value "EATEN" does not exist in "MevStatus" enum.');
    expect(messages).toContain(
      "Long must be an integer from -(2^63-1) to 2^63-1, as a JSON number up to 2^53 or a decimal string; got 1.5",
    );
  });
});

describe("trades query", () => {
  const base = Date.UTC(2026, 10, 27, 0, 0, 0) - 2 * 86_400_000;
  const tradeAt = (i: number, overrides: Partial<TradeInput> = {}): TradeInput => ({
    tradeId: `page-${String(i).padStart(2, "0")}`,
    // Within retention relative to now; two rows share a timestamp to exercise the key tiebreak.
    timestamp: new Date(Math.max(base, Date.now() - 20 * 86_400_000) + Math.min(i, 8) * 1000).toISOString(),
    action: i % 2 === 0 ? "BUY" : "SELL",
    baseToken: i % 3 === 0 ? "SOL" : "JUP",
    quoteToken: "USDC",
    baseAmount: i,
    quoteAmount: i * 10,
    executedPrice: 10,
    transactionFee: 5000,
    priorityFee: i,
    expectedSlippage: 0.01,
    actualSlippage: 0.001 * i,
    mevStatus: (["PROTECTED", "SANDWICHED", "UNPROTECTED"] as const)[i % 3] ?? "UNKNOWN",
    transferFees: 0,
    strategy: i < 5 ? "alpha" : "beta",
    venue: "orca",
    ...overrides,
  });
  let inputs: TradeInput[];
  let p: TestApp;

  beforeAll(async () => {
    p = await startTestApp("paging");
    inputs = Array.from({ length: 10 }, (_, i) => tradeAt(i));
    const recorded = await p.gql(RecordTradesDocument, { inputs, durability: "COMMITTED" });
    expect(recorded.errors).toBeUndefined();
    await eventually(async () => {
      const r = await p.gql(TradesDocument, { first: 100 });
      return r.data?.trades.edges.length === 10 ? true : undefined;
    }, "10 trades visible");
  });

  /** Sorted the way the API promises: by timestamp, then key. */
  const expectedOrder = (rows: TradeInput[], order: "ASC" | "DESC") => {
    const sorted = [...rows].sort((a, b) =>
      a.timestamp === b.timestamp
        ? (a.tradeId as string).localeCompare(b.tradeId as string)
        : Date.parse(a.timestamp as string) - Date.parse(b.timestamp as string),
    );
    return (order === "ASC" ? sorted : sorted.reverse()).map((r) => r.tradeId);
  };

  async function walk(order: "ASC" | "DESC", first: number, filter = {}) {
    const ids: string[] = [];
    let after: string | null | undefined;
    for (let page = 0; page < 20; page++) {
      const r = await p.gql(TradesDocument, { first, after: after ?? null, order, filter });
      expect(r.errors).toBeUndefined();
      ids.push(...(r.data?.trades.edges.map((e) => e.node.tradeId) ?? []));
      if (!r.data?.trades.pageInfo.hasNextPage) break;
      after = r.data.trades.pageInfo.endCursor;
    }
    return ids;
  }

  it("pages through every trade once, in either order, ties broken by key", async () => {
    expect(await walk("DESC", 3)).toEqual(expectedOrder(inputs, "DESC"));
    expect(await walk("ASC", 4)).toEqual(expectedOrder(inputs, "ASC"));
  });

  it("keeps cursors correct while new rows arrive between pages", async () => {
    const first = await p.gql(TradesDocument, { first: 3, order: "DESC" });
    const seen = first.data?.trades.edges.map((e) => e.node.tradeId) ?? [];
    const newer = tradeAt(99, { tradeId: "page-new", timestamp: new Date().toISOString() });
    await p.gql(RecordTradeDocument, { input: newer, durability: "COMMITTED" });
    await eventually(async () => {
      const r = await p.gql(TradesDocument, { first: 1, filter: { tradeId: "page-new" } });
      return r.data?.trades.edges.length ? true : undefined;
    }, "the newer trade visible");
    const rest = await p.gql(TradesDocument, {
      first: 100,
      after: first.data?.trades.pageInfo.endCursor ?? null,
      order: "DESC",
    });
    const restIds = rest.data?.trades.edges.map((e) => e.node.tradeId) ?? [];
    expect([...seen, ...restIds]).toEqual(expectedOrder(inputs, "DESC"));
    inputs.push(newer);
  });

  it("filters by token, action, strategy, MEV status and time range like an independent filter does", async () => {
    const cases: [Record<string, unknown>, (r: TradeInput) => boolean][] = [
      [{ baseToken: "SOL" }, (r) => r.baseToken === "SOL"],
      [{ action: "SELL", strategy: "alpha" }, (r) => r.action === "SELL" && r.strategy === "alpha"],
      [{ mevStatus: ["SANDWICHED", "PROTECTED"] }, (r) => r.mevStatus === "SANDWICHED" || r.mevStatus === "PROTECTED"],
      [{ mevStatus: [] }, () => false],
      [
        { from: inputs[3]?.timestamp, to: inputs[6]?.timestamp },
        (r) =>
          Date.parse(r.timestamp as string) >= Date.parse(inputs[3]?.timestamp as string) &&
          Date.parse(r.timestamp as string) < Date.parse(inputs[6]?.timestamp as string),
      ],
    ];
    for (const [filter, predicate] of cases) {
      expect(await walk("ASC", 100, filter), JSON.stringify(filter)).toEqual(
        expectedOrder(inputs.filter(predicate), "ASC"),
      );
    }
  });

  it("refuses page sizes outside 1..1000 and foreign cursors, naming the argument", async () => {
    const big = await p.gql(TradesDocument, { first: 1001 });
    expect(big.errors?.[0]?.message).toBe("first: must be from 1 to 1000 (MAX_PAGE_SIZE), got 1001");
    const bad = await p.gql(TradesDocument, { after: "bm90LWEtY3Vyc29y" });
    expect(bad.errors?.[0]?.message).toBe(
      "after: not a cursor returned by this API; pass pageInfo.endCursor (or an edge's cursor) of an earlier page, or leave after out for the first page",
    );
    expect(bad.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "after" });
  });
});
