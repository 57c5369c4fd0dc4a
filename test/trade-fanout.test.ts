// tradeRecorded serves every filter from one stream (live/trade-fanout.ts), so the filter runs in
// memory: `tradeMatcher` must select exactly the rows the SQL of `tradeWhere` selects. Checked
// against QuestDB on trades whose fields collide often (few tokens, strategies, venues, fees, NULLs),
// for random filters of every kind.
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TradeFilter, tradeWhere } from "../src/analytics/trades.ts";
import { TRADE_SELECT, type TradeRow, tradeFromRow } from "../src/ingest/trade-record.ts";
import { tradeMatcher } from "../src/live/trade-fanout.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { testPool, walApplied } from "./support/questdb.ts";

let t: TestApp;
let pool: pg.Pool;
const base = Date.now() - 3_600_000;
const TOKENS = ["SOL", "USDC", "JUP"];
const STRATEGIES = ["s1", "s2", null];
const VENUES = ["raydium", "orca", null];
const STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;

beforeAll(async () => {
  t = await startTestApp("fanout");
  pool = testPool();
  const inputs = Array.from({ length: 240 }, (_, i) => {
    const strategy = STRATEGIES[i % 3];
    const venue = VENUES[(i >> 1) % 3];
    return {
      ...makeTrade(`f-${i}`, new Date(base + i * 1_000).toISOString()),
      action: i % 5 === 0 ? ("SELL" as const) : ("BUY" as const),
      baseToken: TOKENS[i % 3] as string,
      quoteToken: TOKENS[(i + 1) % 3] as string,
      mevStatus: STATUSES[i % 6] as (typeof STATUSES)[number],
      transactionFee: String(5_000 + (i % 4) * 1_000),
      priorityFee: String((i % 7) * 500),
      actualSlippage: ((i % 9) - 4) / 1_000,
      expectedSlippage: (i % 4) / 200,
      ...(strategy ? { strategy } : {}),
      ...(venue ? { venue } : {}),
    };
  });
  const answer = await t.gql((await import("./generated/graphql.ts")).RecordTradesDocument, {
    inputs,
    durability: "COMMITTED",
  });
  expect(answer.errors).toBeUndefined();
  await walApplied(`${t.prefix}trades`);
});
afterAll(async () => {
  await pool.end();
});

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const bounds = <T>(arb: fc.Arbitrary<T>) => fc.record({ min: maybe(arb), max: maybe(arb) });
/** Every field of a filter; a filter takes one to three of them, so that many select something. */
const fields = fc.record({
  from: fc.integer({ min: -10, max: 250 }).map((s) => BigInt(base + s * 1_000) * 1000n),
  to: fc.integer({ min: 0, max: 260 }).map((s) => BigInt(base + s * 1_000) * 1000n),
  baseToken: fc.constantFrom(...TOKENS),
  quoteToken: fc.constantFrom(...TOKENS),
  action: fc.constantFrom("BUY", "SELL"),
  strategy: fc.constantFrom("s1", "s2", "none"),
  venue: fc.constantFrom("raydium", "orca"),
  mevStatus: fc.subarray([...STATUSES]),
  tradeId: fc.constantFrom("f-3", "f-100", "nope"),
  writer: fc.constantFrom("anonymous", "other"),
  pair: fc.record({ baseToken: fc.constantFrom(...TOKENS), quoteToken: fc.constantFrom(...TOKENS) }),
  actualSlippage: bounds(fc.integer({ min: -5, max: 5 }).map((n) => n / 1_000)),
  expectedSlippage: bounds(fc.integer({ min: 0, max: 4 }).map((n) => n / 200)),
  transactionFee: bounds(fc.integer({ min: 4, max: 9 }).map((n) => BigInt(n * 1_000))),
  priorityFee: bounds(fc.integer({ min: 0, max: 7 }).map((n) => BigInt(n * 500))),
  totalFee: bounds(fc.integer({ min: 4, max: 12 }).map((n) => BigInt(n * 1_000))),
});
const filters: fc.Arbitrary<TradeFilter> = fields.chain((all) =>
  fc
    .shuffledSubarray(Object.keys(all) as (keyof typeof all)[], { minLength: 1, maxLength: 3 })
    .map((keys) => Object.fromEntries(keys.map((k) => [k, all[k]])) as TradeFilter),
);

describe("tradeMatcher", () => {
  it("selects exactly the trades QuestDB selects with tradeWhere, for random filters", async () => {
    const table = `${t.prefix}trades`;
    const all = (await pool.query<TradeRow>(`SELECT ${TRADE_SELECT} FROM ${table}`)).rows.map(tradeFromRow);
    expect(all).toHaveLength(240);
    const ids = (rows: { tradeId: string }[]) => rows.map((r) => r.tradeId).sort();
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(filters, async (filter) => {
        const params: unknown[] = [];
        let where: string[];
        try {
          where = tradeWhere(filter, params);
        } catch {
          return; // min above max: refused before any SQL, by the API as by the fan-out
        }
        const sql = `SELECT ${TRADE_SELECT} FROM ${table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`;
        const expected = (await pool.query<TradeRow>(sql, params)).rows.map(tradeFromRow);
        const actual = all.filter(tradeMatcher(filter));
        if (expected.length > 0) nonEmpty++;
        expect(ids(actual)).toEqual(ids(expected));
      }),
      { numRuns: 300 },
    );
    // The property was not vacuous: many filters selected something.
    expect(nonEmpty).toBeGreaterThan(50);
  });
});
