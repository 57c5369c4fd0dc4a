// Bad input gets a BAD_USER_INPUT error naming the argument, before any SQL runs: never a 500,
// never "Unexpected error.", and the API still answers afterwards. One example per named case.
import { createYoga } from "graphql-yoga";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_ECHO, useInputErrors } from "../src/http/input-errors.ts";
import { RowsRejectedError } from "../src/ingest/batch-writer.ts";
import { toClientError } from "../src/schema/errors.ts";
import { schema } from "../src/schema/index.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";

interface Answer {
  status: number;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  data?: unknown;
}

let t: TestApp;
let statements: () => number;
beforeAll(async () => {
  t = await startTestApp("badinput");
  statements = () => t.app.services.sql.stats().statements;
});

async function post(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, "status">) };
}

const TRADES = "query($f: TradeFilter, $a: String) { trades(filter: $f, after: $a) { edges { cursor } } }";
const RECORD = "mutation($input: TradeInput!) { recordTrade(input: $input) { accepted } }";
const minuteAgo = () => new Date(Date.now() - 60_000).toISOString();

/** The one trade a test here records on purpose (the documented maximum amount). */
const ACCEPTED = new Set(["float-max"]);

/** One BAD_USER_INPUT error with this message; nothing was recorded; the API still answers. */
async function expectRefused(answer: Answer, message: string, extensions: Record<string, unknown>, status = 200) {
  expect(answer.status).toBe(status);
  expect(answer.errors).toEqual([expect.objectContaining({ message, extensions })]);
  const ok = await post("{ trades(first: 100) { edges { node { tradeId } } } }");
  expect(ok.status).toBe(200);
  expect(ok.errors).toBeUndefined();
  const ids = (ok.data as { trades: { edges: { node: { tradeId: string } }[] } }).trades.edges.map(
    (e) => e.node.tradeId,
  );
  expect(ids.filter((id) => !ACCEPTED.has(id))).toEqual([]);
}

const CURSOR_REFUSED =
  "after: not a cursor returned by this API; pass pageInfo.endCursor (or an edge's cursor) of an earlier page, or leave after out for the first page";

describe("query arguments", () => {
  it("refuses crafted, foreign and huge cursors, naming after, before any SQL", async () => {
    const crafted = [
      Buffer.from("99999999999999999999999|x").toString("base64url"), // time beyond year 9999
      Buffer.from("-62135596800000001|x").toString("base64url"), // before year 1
      Buffer.from("1700000000000000|has space").toString("base64url"), // not a key
      Buffer.from(`1700000000000000|${"k".repeat(129)}`).toString("base64url"),
      Buffer.from('{"timestamp":1,"id":"x"}').toString("base64url"), // JSON, not ours
      "bm90LWEtY3Vyc29y", // "not-a-cursor"
      "!!!not base64!!!",
      "a".repeat(1 << 20),
    ];
    for (const after of crafted) {
      const before = statements();
      const answer = await post(TRADES, { a: after });
      expect(statements()).toBe(before);
      await expectRefused(answer, CURSOR_REFUSED, { code: "BAD_USER_INPUT", field: "after" });
    }
  });

  it("refuses a 1 MB filter string with the name of the filter field", async () => {
    const huge = "s".repeat(1 << 20);
    await expectRefused(
      await post(TRADES, { f: { strategy: huge } }),
      "filter.strategy: must be 1 to 64 characters long",
      { code: "BAD_USER_INPUT", field: "filter.strategy" },
    );
    await expectRefused(
      await post(TRADES, { f: { pair: { baseToken: "SOL", quoteToken: huge } } }),
      "filter.pair.quoteToken: must be 1 to 64 characters long",
      { code: "BAD_USER_INPUT", field: "filter.pair.quoteToken" },
    );
    await expectRefused(
      await post(TRADES, { f: { venue: "raydium'; DROP TABLE trades; --" } }),
      "filter.venue: may contain only letters, digits and _ . : / - and must start with a letter or digit",
      { code: "BAD_USER_INPUT", field: "filter.venue" },
    );
    const range = { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" };
    await expectRefused(
      await post("query($r: TimeRange!, $s: String) { latencyStats(range: $r, stage: $s) { stage } }", {
        r: range,
        s: huge,
      }),
      "stage: must be 1 to 64 characters long",
      { code: "BAD_USER_INPUT", field: "stage" },
    );
  });

  it("refuses a 50,000-item enum list, naming the list", async () => {
    const many = Array.from({ length: 50_000 }, () => "SANDWICHED");
    await expectRefused(
      await post(TRADES, { f: { mevStatus: many } }),
      "filter.mevStatus: has 50000 items; at most 100 are accepted",
      { code: "BAD_USER_INPUT", field: "filter.mevStatus" },
    );
    const range = { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" };
    await expectRefused(
      await post("query($r: TimeRange!, $g: [TradeGroupKey!]) { tradeStats(range: $r, groupBy: $g) { groupBy } }", {
        r: range,
        g: Array.from({ length: 50_000 }, () => "PAIR"),
      }),
      "groupBy: has 50000 items; at most 100 are accepted",
      { code: "BAD_USER_INPUT", field: "groupBy" },
    );
    // Up to the limit, duplicates are dropped.
    const deduped = await post(
      "query($r: TimeRange!, $g: [TradeGroupKey!]) { tradeStats(range: $r, groupBy: $g) { groupBy } }",
      { r: range, g: ["STRATEGY", "PAIR", "STRATEGY", "PAIR"] },
    );
    expect(deduped).toEqual({ status: 200, data: { tradeStats: { groupBy: ["PAIR", "STRATEGY"] } } });
  });

  it("refuses reversed, overlong and out-of-bounds ranges and amounts, naming the argument", async () => {
    await expectRefused(
      await post(TRADES, { f: { from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" } }),
      "filter: from (2026-01-02T00:00:00.000000Z) must be before to (2026-01-01T00:00:00.000000Z); to is exclusive",
      { code: "BAD_USER_INPUT", field: "filter" },
    );
    await expectRefused(
      await post("query($r: TimeRange!) { strategyPerformance(range: $r) { strategy } }", {
        r: { from: "2000-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z" },
      }),
      "range: spans more than 3660 days; ask for a shorter range",
      { code: "BAD_USER_INPUT", field: "range" },
    );
    await expectRefused(
      await post(TRADES, { f: { transactionFee: { min: "-1" } } }),
      "filter.transactionFee.min: must be from 0 to 9007199254740991 (lamports)",
      { code: "BAD_USER_INPUT", field: "filter.transactionFee.min" },
    );
    await expectRefused(
      await post(
        "query($r: TimeRange!, $b: Float) { strategyPerformance(range: $r, startingBalance: $b) { strategy } }",
        {
          r: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" },
          b: 1e300,
        },
      ),
      "startingBalance: must be at most 1000000000000000",
      { code: "BAD_USER_INPUT", field: "startingBalance" },
    );
  });
});

describe("scalars and mutation inputs", () => {
  it("refuses the offset +00:99 instead of shifting the stored time", async () => {
    const timestamp = `${minuteAgo().slice(0, 19)}+00:99`;
    await expectRefused(
      await post(RECORD, { input: { ...makeTrade("offset-99"), timestamp } }),
      `Variable "$input" got invalid value "${timestamp}" at "input.timestamp"; Timestamp "${timestamp}": the offset +00:99 is not a UTC offset: use -14:00 to +14:00, minutes 00 to 59`,
      { code: "BAD_USER_INPUT", field: "input.timestamp" },
      400,
    );
  });

  it("refuses February 30, month 13 and hour 24", async () => {
    for (const timestamp of ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z"]) {
      await expectRefused(
        await post(TRADES, { f: { from: timestamp } }),
        `Variable "$f" got invalid value "${timestamp}" at "f.from"; Timestamp "${timestamp}": not a valid calendar date and time`,
        { code: "BAD_USER_INPUT", field: "f.from" },
        400,
      );
    }
  });

  it("refuses a megabyte Timestamp quickly, without echoing it from the scalar", async () => {
    const started = performance.now();
    const answer = await post(TRADES, { f: { from: "2".repeat(1 << 20) } });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(answer.status).toBe(400);
    expect(answer.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "f.from" });
    expect(answer.errors?.[0]?.message).toMatch(
      /at "f\.from"; Timestamp of 1048576 characters: at most 40 characters, such as 2026-01-31T12:00:00\.123456Z$/,
    );
  });

  it("refuses the Long 2^63", async () => {
    await expectRefused(
      await post(RECORD, { input: { ...makeTrade("long-2-63"), transactionFee: "9223372036854775808" } }),
      'Variable "$input" got invalid value "9223372036854775808" at "input.transactionFee"; Long must be an integer from -(2^63-1) to 2^63-1, as a JSON number up to 2^53 or a decimal string; got "9223372036854775808"',
      { code: "BAD_USER_INPUT", field: "input.transactionFee" },
      400,
    );
    // Inside the scalar's range but above what is stored exactly: the resolver names the field.
    await expectRefused(
      await post(RECORD, { input: { ...makeTrade("long-2-62"), priorityFee: "4611686018427387904" } }),
      "Invalid input, nothing was recorded: input.priorityFee must be at most 9007199254740991",
      expect.objectContaining({ code: "BAD_USER_INPUT", field: "input.priorityFee" }),
    );
  });

  it("refuses the Float 1e300 as an amount, and accepts the documented maximum", async () => {
    await expectRefused(
      await post(RECORD, { input: { ...makeTrade("float-1e300"), baseAmount: 1e300 } }),
      "Invalid input, nothing was recorded: input.baseAmount must be at most 1000000000000000",
      expect.objectContaining({ code: "BAD_USER_INPUT", field: "input.baseAmount" }),
    );
    const max = await post(RECORD, { input: { ...makeTrade("float-max", minuteAgo()), quoteAmount: 1e15 } });
    expect(max).toEqual({ status: 200, data: { recordTrade: { accepted: 1 } } });
  });

  it("refuses a megabyte string in a mutation by its length", async () => {
    await expectRefused(
      await post(RECORD, { input: { ...makeTrade("x".repeat(1 << 20)), venue: "v".repeat(1 << 20) } }),
      "Invalid input, nothing was recorded: input.tradeId must be 1 to 128 characters long; input.venue must be 1 to 64 characters long",
      expect.objectContaining({ code: "BAD_USER_INPUT", field: "input.tradeId" }),
    );
  });
});

describe("errors from QuestDB and graphql-js", () => {
  it("never hands QuestDB's refusal reason or the dead-letter path to a client", () => {
    const reason = "HTTP 400: cast error for line protocol float [columnName=base_amount] at 10.0.0.5:9000";
    let thrown: unknown;
    try {
      toClientError(new RowsRejectedError(reason, "/var/lib/app/dead-letter/trades.jsonl"));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      message:
        "QuestDB refused the rows, so they were not recorded; the server kept them in its dead-letter folder and logged the reason for an operator. Sending the same rows again will be refused again.",
      extensions: { code: "ROWS_REJECTED", retryable: false },
    });
  });

  it("useInputErrors gives graphql-js's coercion errors BAD_USER_INPUT and the path, and drops a long echo", async () => {
    const yoga = createYoga({ schema, plugins: [useInputErrors()], context: () => ({}) as never });
    const run = async (variables: Record<string, unknown>) => {
      const response = await yoga.fetch("http://localhost/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: TRADES, variables }),
      });
      return { status: response.status, ...((await response.json()) as Omit<Answer, "status">) };
    };
    expect(await run({ f: { mevStatus: ["EATEN"] } })).toEqual({
      status: 400,
      errors: [
        expect.objectContaining({
          message:
            'Variable "$f" got invalid value "EATEN" at "f.mevStatus[0]"; Value "EATEN" does not exist in "MevStatus" enum.',
          extensions: { code: "BAD_USER_INPUT", field: "f.mevStatus[0]" },
        }),
      ],
    });
    const long = await run({ f: { from: "2".repeat(10_000) } });
    expect(long.errors?.[0]?.message).toBe(
      'Variable "$f" got an invalid value at "f.from"; Timestamp of 10000 characters: at most 40 characters, such as 2026-01-31T12:00:00.123456Z',
    );
    expect(long.errors?.[0]?.message.length).toBeLessThan(MAX_ECHO);
    expect(long.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "f.from" });
  });
});
