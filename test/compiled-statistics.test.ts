// Statistics queries run compiled (graphql-jit, src/http/compiled-statistics.ts) once their
// document repeats. Against the real QuestDB and HTTP server: every statistics operation the
// tests know answers byte for byte the same compiled as through graphql-js (the first executions),
// errors included; variables that do not coerce keep graphql-js's errors; other operations are
// never compiled. The figures themselves are checked against independent computations by the
// analytics-* tests, whose repeated documents also run compiled.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { GraphQLError, type GraphQLObjectType, print } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";
import { beforeAll, describe, expect, it } from "vitest";
import { COMPILE_AFTER, compiledOperations, useCompiledStatistics } from "../src/http/compiled-statistics.ts";
import { schema as appSchema } from "../src/schema/index.ts";
import {
  LatencyStatsDocument,
  MevEffectivenessDocument,
  MevNetBenefitDocument,
  PerformanceByPeriodDocument,
  StrategyDrawdownDocument,
  StrategyPerformanceDocument,
  StrategyRiskDocument,
  TradeStatsDocument,
  TradesDocument,
  TradeTransferFeesDocument,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type Dataset, generateDataset, HOUR_US, iso, loadDataset, micros } from "./support/dataset.ts";

let t: TestApp;
let ds: Dataset;
beforeAll(async () => {
  t = await startTestApp("compiled");
  ds = generateDataset(11);
  await loadDataset(t, ds);
});

/** The raw body, as a client reads it (key order, numbers' text, nulls). */
async function post(query: string, variables: unknown): Promise<string> {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return `${response.status} ${await response.text()}`;
}

/**
 * The answers of COMPILE_AFTER + 2 executions, and how many compilations they caused. Each sends
 * an extra, undeclared variable (ignored by both executors) so that no answer comes from the
 * whole-answer cache (keyed by the variables as sent).
 */
async function repeat(query: string, variables: Record<string, unknown>) {
  const first = !seen.has(query);
  seen.add(query);
  const before = compiledOperations();
  const answers: string[] = [];
  for (let i = 0; i < COMPILE_AFTER + 2; i++) answers.push(await post(query, { ...variables, nonce: i }));
  return { answers, compiled: compiledOperations() - before, first };
}

/** Documents sent so far: a document is compiled once, however many variables it is run with. */
const seen = new Set<string>();
// biome-ignore lint/suspicious/noExplicitAny: any generated document, whatever its variables
type AnyDocument = TypedDocumentNode<any, any>;
const text = (document: AnyDocument) => print(document);

describe("compiled statistics queries", () => {
  const range = () => ({ from: iso(ds.day0 - 5n * HOUR_US + 13n), to: iso(ds.day0 + 29n * HOUR_US - 17n) });
  const prices = [
    { token: "USDC", price: 1 },
    { token: "SOL", price: 187.5 },
  ];
  const cases: [string, AnyDocument, () => Record<string, unknown>][] = [
    ["tradeStats hourly by pair", TradeStatsDocument, () => ({ range: range(), bucket: "HOUR", groupBy: ["PAIR"] })],
    [
      "tradeStats daily by strategy and venue",
      TradeStatsDocument,
      () => ({ range: range(), bucket: "DAY", groupBy: ["STRATEGY", "VENUE"] }),
    ],
    ["transfer fees per currency", TradeTransferFeesDocument, () => ({ range: range(), bucket: "DAY", groupBy: [] })],
    ["latencyStats hourly", LatencyStatsDocument, () => ({ range: range(), bucket: "HOUR" })],
    [
      "mevEffectiveness daily by protection",
      MevEffectivenessDocument,
      () => ({ range: range(), bucket: "DAY", groupBy: ["PROTECTION"], solPrice: 187.5, prices }),
    ],
    ["MEV net benefit", MevNetBenefitDocument, () => ({ range: range(), prices })],
    ["strategyPerformance", StrategyPerformanceDocument, () => ({ range: range() })],
    ["drawdown by pair", StrategyDrawdownDocument, () => ({ range: range(), groupBy: ["PAIR"] })],
    ["risk", StrategyRiskDocument, () => ({ range: range(), startingBalance: 5000 })],
    ["performanceByPeriod", PerformanceByPeriodDocument, () => ({ range: range(), bucket: "DAY" })],
  ];

  it.each(cases)("%s: compiled once, the same bytes as graphql-js", async (_name, document, variables) => {
    const { answers, compiled, first } = await repeat(text(document), variables());
    expect(compiled).toBe(first ? 1 : 0);
    expect(answers[0]).toMatch(/^200 \{"data":\{/);
    expect(answers[0]).not.toContain('"errors"');
    for (const answer of answers.slice(1)) expect(answer).toBe(answers[0]);
  });

  it("answers a resolver's error (a range that ends before it starts) the same way, path and code included", async () => {
    const to = iso(ds.day0);
    const from = iso(micros(to) + HOUR_US);
    // A document of its own, so that this request is the one compiled.
    const query = text(TradeStatsDocument).replace("query TradeStats(", "query TradeStatsBackwards(");
    const { answers, compiled } = await repeat(query, { range: { from, to }, bucket: "HOUR" });
    expect(compiled).toBe(1);
    const first = JSON.parse((answers[0] as string).slice(4)) as { errors: { extensions: { code: string } }[] };
    expect(first.errors[0]?.extensions.code).toBe("BAD_USER_INPUT");
    for (const answer of answers.slice(1)) expect(answer).toBe(answers[0]);
  });

  it("keeps graphql-js's errors for variables that do not coerce, naming the field", async () => {
    const query = text(TradeStatsDocument);
    for (let i = 0; i < COMPILE_AFTER + 1; i++) await post(query, { range: range(), bucket: "HOUR", nonce: i });
    const bad = await post(query, { range: { from: "yesterday", to: range().to }, bucket: "HOUR" });
    expect(bad).toContain("BAD_USER_INPUT");
    expect(bad).toContain("range.from");
    const worse = await post(query, { range: range(), bucket: "FORTNIGHT" });
    expect(worse).toContain("BAD_USER_INPUT");
    expect(worse).toContain("FORTNIGHT");
  });

  it("embeds hostile string literals as values, never as code", async () => {
    // Quotes, backslashes, template and comment syntax, a line separator: inline arguments end up
    // in the compiled function's source as literals, and must answer as graphql-js does.
    const hostile = ['x"); globalThis.pwned = 1; //', "\u2028", "`$", "{1}`", "*/\\"].join("");
    const query = `query Hostile($range: TimeRange!) {
      latencyStats(range: $range, stage: ${JSON.stringify(hostile)}) { totals { stage count } }
      strategyPerformance(range: $range, strategy: ${JSON.stringify(hostile)}) { strategy trades }
    }`;
    const { answers, compiled } = await repeat(query, { range: range() });
    expect(compiled).toBe(1);
    expect(answers[0]).toMatch(/^200 /);
    for (const answer of answers.slice(1)) expect(answer).toBe(answers[0]);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
  });

  it("never compiles an operation with other root fields or a trades page", async () => {
    const mixed = `query Mixed($range: TimeRange!) { tradeStats(range: $range) { totals { count } } trades(first: 1) { edges { node { id } } } }`;
    expect((await repeat(mixed, { range: range() })).compiled).toBe(0);
    expect((await repeat(text(TradesDocument), { first: 3 })).compiled).toBe(0);
  });

  it("answers a document with aliases, fragments and @include the same compiled", async () => {
    const query = `query Aliased($range: TimeRange!, $withBuckets: Boolean!) {
      a: tradeStats(range: $range, bucket: HOUR) { ...F }
      b: tradeStats(range: $range, groupBy: [STRATEGY]) { totals { strategy: group { strategy } n: count } }
      latencyStats(range: $range) { totals { stage p99Us } }
    }
    fragment F on TradeStats { totals { count vwap } buckets @include(if: $withBuckets) { bucket count } }`;
    for (const withBuckets of [true, false]) {
      const { answers } = await repeat(query, { range: range(), withBuckets });
      expect(answers[0]).toMatch(/^200 \{"data":\{"a":\{/);
      for (const answer of answers.slice(1)) expect(answer).toBe(answers[0]);
    }
  });
});

describe("the statistics rows' figures", () => {
  // graphql-jit reads a field without a resolver inline; a resolver per figure cost ~20 ms for an
  // hourly month by pair (4,320 rows × 17 fields) in bench:query.
  it("are read as properties, without a resolver per field, except those that run statements", () => {
    const resolved = (type: string) =>
      Object.values((appSchema.getType(type) as GraphQLObjectType).getFields())
        .filter((field) => field.resolve !== undefined)
        .map((field) => field.name)
        .sort();
    expect(resolved("TradeStatsRow")).toEqual(["p95Slippage", "transferFeesByCurrency"]);
    expect(resolved("TradeGroup")).toEqual([]);
    expect(resolved("LatencyStatsRow")).toEqual([]);
  });
});

describe("compiled execution on a schema of failures (no QuestDB)", () => {
  // A resolver that throws a plain Error (masked as "Unexpected error."), one that throws a
  // GraphQLError with a code, a non-null field that resolves null (the null bubbles up), a Float
  // that is NaN (refused by the scalar), a number that is 1/0 (Infinity), in lists
  // and behind aliases and fragments: compiled, the answers are graphql-js's byte for byte.
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Row { n: Int!, half: Float, ratio: Float, broken: Int, refused: Int, missing: Int! }
      type Stats { rows: [Row!]!, totals: Row }
      type Query { stats(size: Int!): Stats, other: Int }
    `,
    resolvers: {
      Query: { stats: async (_: unknown, { size }: { size: number }) => ({ size }), other: () => 1 },
      Stats: {
        rows: ({ size }: { size: number }) => Array.from({ length: size }, (_, n) => ({ n })),
        totals: ({ size }: { size: number }) => ({ n: size }),
      },
      Row: {
        half: ({ n }: { n: number }) => n / 2,
        ratio: ({ n }: { n: number }) => (n === 4 ? Number.NaN : 1 / n),
        broken: ({ n }: { n: number }) => {
          if (n === 2) throw new Error("secret connection string postgres://admin:quest@db");
          return n;
        },
        refused: async ({ n }: { n: number }) => {
          if (n === 1) throw new GraphQLError("refused here", { extensions: { code: "BAD_USER_INPUT", field: "n" } });
          return n;
        },
        missing: ({ n }: { n: number }) => (n === 3 ? null : n),
      },
    },
  });
  const yogaOf = (compiled: boolean) =>
    createYoga({
      schema,
      maskedErrors: true,
      logging: false,
      plugins: compiled ? [useCompiledStatistics({ fields: new Set(["stats"]), compileAfter: 0 })] : [],
    });
  const plain = yogaOf(false);
  const jit = yogaOf(true);
  const ask = async (yoga: ReturnType<typeof yogaOf>, query: string, variables: unknown) => {
    const response = await yoga.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return `${response.status} ${await response.text()}`;
  };

  it.each([
    [
      "plain errors and codes in a list",
      "query Q($s: Int!) { stats(size: $s) { rows { n broken refused } } }",
      { s: 4 },
    ],
    [
      "a null in a non-null field bubbles up",
      "query Q($s: Int!) { stats(size: $s) { rows { n missing } totals { n } } }",
      { s: 5 },
    ],
    [
      "aliases and fragments locate the error",
      "query Q($s: Int!) { a: stats(size: $s) { ...F } b: stats(size: 1) { totals { n } } } fragment F on Stats { rows { x: broken ... on Row { refused } } }",
      { s: 3 },
    ],
    ["no error", "query Q($s: Int!) { stats(size: $s) { rows { n half } totals { half } } }", { s: 6 }],
    ["a scalar that refuses its value (NaN)", "query Q($s: Int!) { stats(size: $s) { rows { n ratio } } }", { s: 6 }],
    ["variables that do not coerce", "query Q($s: Int!) { stats(size: $s) { totals { n } } }", { s: "many" }],
  ])("%s", async (_name, query, variables) => {
    const before = compiledOperations();
    const expected = await ask(plain, query, variables);
    for (let i = 0; i < 2; i++) expect(await ask(jit, query, variables)).toBe(expected);
    expect(expected).not.toContain("secret");
    expect(compiledOperations() - before).toBe(1);
  });

  it("bounds what it compiles and keeps: documents over maxFields never, at most maxCompiled held", async () => {
    const plugin = useCompiledStatistics({ fields: new Set(["stats"]), compileAfter: 0, maxFields: 6, maxCompiled: 3 });
    const small = createYoga({ schema, maskedErrors: true, logging: false, plugins: [plugin] });
    const before = compiledOperations();
    // 7 field nodes: over the bound, graphql-js answers it every time.
    const big = "{ stats(size: 2) { rows { n half ratio broken } totals { n } } }";
    for (let i = 0; i < 3; i++) expect(await ask(small, big, {})).toBe(await ask(plain, big, {}));
    expect(compiledOperations() - before).toBe(0);
    // Five small documents: each compiled once, then the first is compiled again after eviction.
    const docs = [1, 2, 3, 4, 5].map((k) => `{ stats(size: ${k}) { totals { n half } } }`);
    for (const doc of docs)
      for (let i = 0; i < 2; i++) expect(await ask(small, doc, {})).toBe(await ask(plain, doc, {}));
    expect(compiledOperations() - before).toBe(5);
    expect(plugin.held()).toBe(3);
    expect(await ask(small, docs[0] as string, {})).toBe(await ask(plain, docs[0] as string, {}));
    expect(compiledOperations() - before).toBe(6);
  });

  it("leaves other root fields to graphql-js", async () => {
    const before = compiledOperations();
    expect(await ask(jit, "{ other stats(size: 1) { totals { n } } }", {})).toBe(
      await ask(plain, "{ other stats(size: 1) { totals { n } } }", {}),
    );
    expect(compiledOperations() - before).toBe(0);
  });
});
