// Lists answered partly from kept JSON text (http/spliced-lists.ts, analytics/series-pieces.ts):
// the unit behaviour of the splice, then the real thing: hourly series by pair through the lean
// path (texts kept, then reused) against Yoga's path (every row executed) byte for byte, and
// against counts computed from the loaded trades, across a late write, selections of every kind
// and the answer-size limit.
import type { GraphQLResolveInfo } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import type { TimeRange } from "../src/analytics/range.ts";
import { SplicedLists } from "../src/http/spliced-lists.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Dataset, generateDataset, HOUR_US, iso, loadDataset, micros } from "./support/dataset.ts";
import { makeTrade } from "./support/load.ts";

const MINUTE_US = 60_000_000n;
const text = (value: unknown) => Buffer.from(JSON.stringify(value).slice(1, -1));
const infoAt = (...keys: string[]) =>
  ({
    path: keys.reduce<{ prev: unknown; key: string; typename: undefined } | undefined>(
      (prev, key) => ({ prev, key, typename: undefined }),
      undefined,
    ),
  }) as unknown as GraphQLResolveInfo;
const joined = (chunks: readonly Uint8Array[]) => Buffer.concat(chunks).toString("utf8");

describe("SplicedLists", () => {
  it("writes each list from its executed rows and kept texts, in order, byte for byte as JSON.stringify would", () => {
    const splice = new SplicedLists();
    const kept: string[] = [];
    const a = splice.list(infoAt("a", "buckets"), [
      { text: text([{ n: 1 }, { n: 2 }]) },
      { rows: [{ n: 3 }], keep: (t) => kept.push(Buffer.from(t).toString()) },
      { text: text([{ n: 4 }]) },
      { rows: [{ n: 5 }, { n: 6 }] },
    ]);
    const b = splice.list(infoAt("b", "buckets"), [{ rows: [] }, { text: text([{ n: 'x\u0001"' }]) }]);
    expect(a).toEqual([{ n: 3 }, { n: 5 }, { n: 6 }]);
    expect(b).toEqual([]);
    expect(splice.omitted).toBe(true);
    // The executed answer: GraphQL's output objects (new ones), in the order the rows were returned.
    const result = { data: { b: { buckets: [] as unknown[] }, a: { buckets: a.map((r) => ({ ...r })) } } };
    const body = joined(splice.serialize(result));
    const full = {
      data: { b: { buckets: [{ n: 'x\u0001"' }] }, a: { buckets: [1, 2, 3, 4, 5, 6].map((n) => ({ n })) } },
    };
    expect(body).toBe(JSON.stringify(full));
    expect(kept).toEqual([JSON.stringify({ n: 3 })]);
    // The result itself is left as executed.
    expect(result.data.a.buckets).toHaveLength(3);
  });

  it("keeps no text from an answer with errors, and leaves a nulled list as it is", () => {
    const splice = new SplicedLists();
    let kept = 0;
    splice.list(infoAt("a", "buckets"), [{ rows: [{ n: 1 }], keep: () => kept++ }, { text: text([{ n: 2 }]) }]);
    const result = { data: { a: null }, errors: [{ message: "boom" }] };
    expect(joined(splice.serialize(result as never))).toBe(JSON.stringify(result));
    expect(kept).toBe(0);
  });

  it("records nothing for a list of rows alone (no text to splice, none to keep)", () => {
    const splice = new SplicedLists();
    expect(splice.list(infoAt("a"), [{ rows: [1, 2] }, { rows: [3] }])).toEqual([1, 2, 3]);
    expect(splice.recorded).toBe(false);
    expect(splice.omitted).toBe(false);
  });
});

const FIELDS =
  "bucket group { baseToken quoteToken strategy } count baseVolume quoteVolume vwap minPrice maxPrice firstPrice lastPrice transactionFees priorityFees totalFees transferFees meanSlippage meanSlippageError overExpectedSlippageShare";
const HOURLY = `query($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR, groupBy: [PAIR]) { totals { ${FIELDS} } buckets { ${FIELDS} } } }`;

let t: TestApp;
let ds: Dataset;
let range: TimeRange;

/** POSTs the same body as a bot (the lean path, which splices) and with a browser Origin (Yoga's path, which does not). */
async function both(url: string, body: unknown) {
  const post = async (headers: Record<string, string>) => {
    const r = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.text() };
  };
  return { fast: await post({}), yoga: await post({ origin: "http://dashboard.example" }) };
}

/** The same text; on a difference, where it starts (answers are 100 KB). */
function expectSame(actual: string, expected: string, what = "answer"): void {
  if (actual === expected) return;
  let at = 0;
  while (at < actual.length && actual[at] === expected[at]) at++;
  expect(actual.slice(Math.max(0, at - 200), at + 200), `${what} differs at ${at} of ${expected.length}`).toBe(
    expected.slice(Math.max(0, at - 200), at + 200),
  );
}

/**
 * Equal answers, doubles within 1e-12 relative: two requests may sum a range's doubles in another
 * order (a view that has not refreshed an hour yet is read around, from the base table), the rest
 * exact. Once the views have caught up, equal requests answer the same bytes (expectSame).
 */
function expectClose(actual: unknown, expected: unknown, path = "answer"): void {
  if (typeof expected === "number" && typeof actual === "number") {
    const scale = Math.max(Math.abs(expected), Math.abs(actual), 1e-300);
    expect(Math.abs(actual - expected) / scale, `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-12);
  } else if (Array.isArray(expected)) {
    expect((actual as unknown[]).length, `${path} length`).toBe(expected.length);
    expected.forEach((item, i) => {
      expectClose((actual as unknown[])[i], item, `${path}[${i}]`);
    });
  } else if (expected !== null && typeof expected === "object") {
    expect(Object.keys(actual as object), path).toEqual(Object.keys(expected));
    for (const key of Object.keys(expected)) {
      expectClose(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
    }
  } else expect(actual, path).toEqual(expected);
}

const derived = () => {
  const { derivedHits, derivedKept } = t.app.cache.stats();
  return { hits: derivedHits, kept: derivedKept };
};

interface Bucket {
  bucket: string;
  group: { baseToken: string; quoteToken: string };
  count: number;
}

/** Trades per (hour, pair) of `range`, counted from the trades written: every pair with trades gets every hour. */
function expectedCounts(
  trades: readonly { timestamp: string; baseToken: string; quoteToken: string }[],
  range: TimeRange,
) {
  const inRange = trades.filter((x) => micros(x.timestamp) >= range.from && micros(x.timestamp) < range.to);
  const pairs = [...new Set(inRange.map((x) => `${x.baseToken}/${x.quoteToken}`))].sort();
  const counts = new Map<string, number>();
  for (const x of inRange) {
    const hour = (micros(x.timestamp) / HOUR_US) * HOUR_US;
    const key = `${iso(hour)}|${x.baseToken}/${x.quoteToken}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows: string[] = [];
  for (let hour = (range.from / HOUR_US) * HOUR_US; hour < range.to; hour += HOUR_US) {
    for (const pair of pairs) rows.push(`${iso(hour)}|${pair}|${counts.get(`${iso(hour)}|${pair}`) ?? 0}`);
  }
  return rows;
}
let asked = 0;
/**
 * The hourly query over `range` ending a microsecond later each time: a dashboard's range moves
 * with the clock, so no two requests are the same (the same one is a whole answer from the cache).
 */
const hourly = () => {
  asked++;
  const r = { from: range.from, to: range.to + BigInt(asked) };
  return { query: HOURLY, variables: { r: { from: iso(r.from), to: iso(r.to) } }, range: r };
};
const send = ({ query, variables }: { query: string; variables: unknown }) => both(t.url, { query, variables });

const answeredCounts = (body: string) =>
  (JSON.parse(body).data.tradeStats.buckets as Bucket[]).map(
    (b) => `${b.bucket}|${b.group.baseToken}/${b.group.quoteToken}|${b.count}`,
  );

beforeAll(async () => {
  t = await startTestApp("spliced", { ALLOWED_ORIGINS: "http://dashboard.example" });
  ds = generateDataset(29);
  await loadDataset(t, ds);
  // Edges inside hours; a whole day and closed hours between them (pieces of whole buckets).
  range = { from: ds.day0 - 5n * HOUR_US + 17n * MINUTE_US + 3n, to: ds.day0 + 29n * HOUR_US + 41n * MINUTE_US };
});

describe("hourly series through the lean path", () => {
  it("answers from kept texts exactly as Yoga's path executes every row, with the counts of the trades written", async () => {
    const body = hourly();
    const before = derived();
    const first = await send(body);
    expect(first.fast.status).toBe(200);
    expectClose(JSON.parse(first.fast.body), JSON.parse(first.yoga.body));
    expect(answeredCounts(first.fast.body)).toEqual(expectedCounts(ds.trades, body.range));
    // The whole day and the closed hours around it are pieces of whole buckets: their texts are
    // kept (by the first answer whose rows the cache stored: a view still refreshing may keep the
    // first request's rows out of the cache).
    for (let round = 0; round < 5 && derived().kept - before.kept < 2; round++) {
      const again = await send(hourly());
      expectClose(JSON.parse(again.fast.body), JSON.parse(again.yoga.body));
    }
    expect(derived().kept - before.kept).toBeGreaterThanOrEqual(2);
    const kept = derived();
    const second = await send(hourly());
    expect(derived().hits - kept.hits).toBeGreaterThanOrEqual(2);
    // Steady: the lean path answers from kept texts, byte for byte what Yoga's path executes.
    expectSame(second.fast.body, second.yoga.body);
    expectClose(JSON.parse(second.fast.body), JSON.parse(first.fast.body));
  });

  it("answers a late trade into a closed hour at once, reusing the texts of the pieces it did not touch", async () => {
    const body = hourly();
    await send(body); // texts kept
    const timestamp = iso(ds.day0 + 3n * HOUR_US + 7n * MINUTE_US);
    const late = {
      ...makeTrade("spliced-late", timestamp),
      timestamp,
      baseToken: ds.trades[0]?.baseToken ?? "SOL",
      quoteToken: ds.trades[0]?.quoteToken ?? "USDC",
    };
    const written = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: "mutation($i: TradeInput!) { recordTrade(input: $i, durability: COMMITTED) { accepted } }",
        variables: { i: late },
      }),
    });
    expect(((await written.json()) as { data: unknown }).data).toEqual({ recordTrade: { accepted: 1 } });
    const before = derived();
    const asked = hourly();
    const after = await send(asked);
    expectClose(JSON.parse(after.fast.body), JSON.parse(after.yoga.body));
    expect(answeredCounts(after.fast.body)).toEqual(expectedCounts([...ds.trades, late], asked.range));
    // The pieces the late trade did not touch were answered from their texts.
    expect(derived().hits - before.hits).toBeGreaterThanOrEqual(1);
  });

  it("splices any selection GraphQL's way (aliases, fragments, __typename) and executes the rest every time", async () => {
    const r = { from: iso(range.from), to: iso(range.to) };
    const documents = [
      // Aliases, a named fragment, __typename, two series in one answer.
      `query($r: TimeRange!) { a: tradeStats(range: $r, bucket: HOUR, groupBy: [PAIR]) { buckets { ...Row } }
         b: tradeStats(range: $r, bucket: HOUR, groupBy: [STRATEGY, VENUE]) { rows: buckets { __typename at: bucket n: count ... on TradeStatsRow { vwap } } } }
       fragment Row on TradeStatsRow { bucket t: count group { baseToken quoteToken } lastPrice }`,
      // Daily buckets: a whole day is a piece, the edges share their days with closed hours.
      `query($r: TimeRange!) { tradeStats(range: $r, bucket: DAY, groupBy: [PAIR]) { buckets { bucket count maxPrice } totals { count } } }`,
      // Fields that read more than the row, and a directive: never spliced, still the same answer.
      `query($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR) { buckets { bucket count p95Slippage } } }`,
      `query($r: TimeRange!, $x: Boolean!) { tradeStats(range: $r, bucket: HOUR) { buckets { bucket count vwap @include(if: $x) } } }`,
    ];
    for (const query of documents) {
      for (const x of [true, false, true]) {
        const answer = await both(t.url, { query, variables: { r, x } });
        expect(answer.fast.status, query).toBe(200);
        expectSame(answer.fast.body, answer.yoga.body, query);
        expect(JSON.parse(answer.fast.body).errors, query).toBeUndefined();
      }
    }
  });

  it("answers latency per stage and hour from kept texts as Yoga's path does, with the counts of the rows written", async () => {
    const LATENCY = `query($r: TimeRange!) { latencyStats(range: $r, bucket: HOUR) { buckets { bucket stage count minUs meanUs p50Us p90Us p95Us p99Us p999Us maxUs } totals { stage count p99Us } } }`;
    const ask = () => {
      asked++;
      const r = { from: range.from, to: range.to + BigInt(asked) };
      return { query: LATENCY, variables: { r: { from: iso(r.from), to: iso(r.to) } }, range: r };
    };
    const before = derived();
    for (let round = 0; round < 5 && derived().kept - before.kept < 2; round++) {
      const answer = await send(ask());
      expectClose(JSON.parse(answer.fast.body), JSON.parse(answer.yoga.body));
    }
    expect(derived().kept - before.kept).toBeGreaterThanOrEqual(2);
    const kept = derived();
    const body = ask();
    const answer = await send(body);
    expect(derived().hits - kept.hits).toBeGreaterThanOrEqual(2);
    expectSame(answer.fast.body, answer.yoga.body);
    // Counts per (hour, stage) from the rows written; every stage gets every hour.
    const inRange = ds.latency.filter((x) => x.micros >= body.range.from && x.micros < body.range.to);
    const stages = [...new Set(inRange.map((x) => x.stage))].sort();
    const counts = new Map<string, number>();
    for (const x of inRange) {
      const key = `${iso((x.micros / HOUR_US) * HOUR_US)}|${x.stage}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const expected: string[] = [];
    for (let hour = (body.range.from / HOUR_US) * HOUR_US; hour < body.range.to; hour += HOUR_US) {
      for (const stage of stages) expected.push(`${iso(hour)}|${stage}|${counts.get(`${iso(hour)}|${stage}`) ?? 0}`);
    }
    const buckets = JSON.parse(answer.fast.body).data.latencyStats.buckets as {
      bucket: string;
      stage: string;
      count: number;
    }[];
    expect(buckets.map((b) => `${b.bucket}|${b.stage}|${b.count}`)).toEqual(expected);
  });

  it("refuses an answer over MAX_RESPONSE_BYTES with the size Yoga's path reports, kept texts or not", async () => {
    const small = await startTestApp("spliced-limit", {
      ALLOWED_ORIGINS: "http://dashboard.example",
      QUESTDB_TABLE_PREFIX: t.prefix,
      MAX_RESPONSE_BYTES: "20000",
    });
    for (let i = 0; i < 2; i++) {
      const { query, variables } = hourly();
      const answer = await both(small.url, { query, variables });
      expect(answer.fast).toEqual(answer.yoga);
      expect(JSON.parse(answer.fast.body).errors?.[0]?.extensions?.code).toBe("RESPONSE_TOO_LARGE");
    }
  });
});
