// The conventions every query shares (issue 16, point 5; docs/queries.md "Units", "Row order",
// "No data, no row"): an empty range answers [] grouped or not, every list has its documented
// order, `trades` refuses a reversed range like the statistics, a slippage or a rate threshold
// sent in the wrong unit is refused with the unit probably meant, and alert rules say their unit.
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";

let t: TestApp;
const HOUR = 3_600_000;
/** Two hours ago, whole hour: the data's hour; the hour before it is empty. */
const base = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
const dataRange = { from: iso(base), to: iso(base + HOUR) };
const emptyRange = { from: iso(base - HOUR), to: iso(base) };
/** Strategy names whose order is easy to get wrong: null, digits, upper before lower case. */
const STRATEGIES = ["b", "B", null, "a", "10", "9"] as const;
const STAGES = ["submit", "Quote", "e2e", "10ms"] as const;

async function gql<T>(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const answer = await gql<T>(query, variables);
  expect(answer.errors).toBeUndefined();
  return answer.data as T;
}

beforeAll(async () => {
  t = await startTestApp("conventions");
  const trades = STRATEGIES.map((strategy, i) => ({
    ...makeTrade(`conv-${i}`, iso(base + 60_000 * (i + 1))),
    ...(strategy === null ? {} : { strategy }),
    realizedPnl: i % 2 === 0 ? 1 : -1,
  }));
  await ok("mutation($i: [TradeInput!]!) { recordTrades(inputs: $i, durability: COMMITTED) { accepted } }", {
    i: trades,
  });
  await ok(
    "mutation($i: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $i, durability: COMMITTED) { accepted } }",
    {
      i: STAGES.map((stage, k) => ({
        metricId: `lat-${k}`,
        timestamp: iso(base + 1_000 * k),
        stage,
        latencyUs: 100 + k,
      })),
    },
  );
  await ok("mutation($i: [MevMetricInput!]!) { recordMevMetrics(inputs: $i, durability: COMMITTED) { accepted } }", {
    i: STRATEGIES.map((strategy, k) => ({
      metricId: `mev-${k}`,
      timestamp: iso(base + 2_000 * k),
      protection: "JITO_BUNDLE",
      outcome: "LANDED",
      tipLamports: "1000",
      ...(strategy === null ? {} : { strategy }),
    })),
  });
});

describe("no data, no row", () => {
  it("an empty range answers [] from every statistic, grouped or not, and for a named stage or strategy", async () => {
    const data = await ok<Record<string, unknown>>(
      `query($r: TimeRange!) {
        ungrouped: tradeStats(range: $r, bucket: HOUR) { totals { count } buckets { count } }
        grouped: tradeStats(range: $r, bucket: HOUR, groupBy: [STRATEGY]) { totals { count } buckets { count } }
        latency: latencyStats(range: $r, bucket: HOUR) { totals { count } buckets { count } }
        named: latencyStats(range: $r, stage: "submit", bucket: HOUR) { totals { count } buckets { count } }
        mev: mevEffectiveness(range: $r, bucket: HOUR) { totals { transactions } buckets { transactions } }
        mevGrouped: mevEffectiveness(range: $r, groupBy: [PROTECTION]) { totals { transactions } }
        strategies: strategyPerformance(range: $r) { strategy }
        strategy: strategyPerformance(range: $r, strategy: "a") { strategy }
        system: systemMetrics(range: $r, bucket: HOUR) { instance }
        trades(filter: { from: "${emptyRange.from}", to: "${emptyRange.to}" }) { edges { cursor } }
      }`,
      { r: emptyRange },
    );
    expect(data).toEqual({
      ungrouped: { totals: [], buckets: [] },
      grouped: { totals: [], buckets: [] },
      latency: { totals: [], buckets: [] },
      named: { totals: [], buckets: [] },
      mev: { totals: [], buckets: [] },
      mevGrouped: { totals: [] },
      strategies: [],
      strategy: [],
      system: [],
      trades: { edges: [] },
    });
  });

  it("the same range with data: one row ungrouped, one per group, a series per group", async () => {
    const data = await ok<{
      ungrouped: { totals: { count: number }[]; buckets: { count: number }[] };
      grouped: { totals: { count: number }[] };
    }>(
      `query($r: TimeRange!) {
        ungrouped: tradeStats(range: $r, bucket: HOUR) { totals { count } buckets { count } }
        grouped: tradeStats(range: $r, groupBy: [STRATEGY]) { totals { count } }
      }`,
      { r: dataRange },
    );
    expect(data.ungrouped).toEqual({ totals: [{ count: 6 }], buckets: [{ count: 6 }] });
    expect(data.grouped.totals).toHaveLength(6);
  });
});

describe("row order", () => {
  // null first, then JavaScript's string order (code units): digits, upper case, lower case.
  const byGroup = [null, "10", "9", "B", "a", "b"];

  it("groups, strategies and stages in the documented order", async () => {
    const data = await ok<{
      tradeStats: { totals: { group: { strategy: string | null } }[] };
      mevEffectiveness: { totals: { strategy: string | null }[] };
      strategyPerformance: { strategy: string | null }[];
      latencyStats: { totals: { stage: string }[] };
    }>(
      `query($r: TimeRange!) {
        tradeStats(range: $r, groupBy: [STRATEGY]) { totals { group { strategy } } }
        mevEffectiveness(range: $r, groupBy: [STRATEGY]) { totals { strategy } }
        strategyPerformance(range: $r) { strategy }
        latencyStats(range: $r) { totals { stage } }
      }`,
      { r: dataRange },
    );
    expect(data.tradeStats.totals.map((r) => r.group.strategy)).toEqual(byGroup);
    expect(data.mevEffectiveness.totals.map((r) => r.strategy)).toEqual(byGroup);
    expect(data.strategyPerformance.map((r) => r.strategy)).toEqual(byGroup);
    expect(data.latencyStats.totals.map((r) => r.stage)).toEqual(["10ms", "Quote", "e2e", "submit"]);
  });

  it("trades newest first by default and oldest first with order: ASC", async () => {
    const ids = (order: string) =>
      ok<{ trades: { edges: { node: { tradeId: string } }[] } }>(
        `{ trades(order: ${order}, filter: { from: "${dataRange.from}", to: "${dataRange.to}" }) { edges { node { tradeId } } } }`,
      ).then((d) => d.trades.edges.map((e) => e.node.tradeId));
    const ascending = STRATEGIES.map((_s, i) => `conv-${i}`);
    expect(await ids("ASC")).toEqual(ascending);
    expect(await ids("DESC")).toEqual([...ascending].reverse());
  });
});

describe("ranges and units", () => {
  it("trades refuses from >= to with the statistics' message", async () => {
    const message = (field: string, at: string) =>
      `${field}: from (${at.replace(/\.(\d{3})000Z$/, ".$1000Z")}) must be before to (${at}); to is exclusive`;
    const at = dataRange.from;
    const trades = await gql(`{ trades(filter: { from: "${at}", to: "${at}" }) { edges { cursor } } }`);
    expect(trades.errors?.[0]?.message).toBe(message("filter", at));
    const stats = await gql("query($r: TimeRange!) { tradeStats(range: $r) { totals { count } } }", {
      r: { from: at, to: at },
    });
    expect(stats.errors?.[0]?.message).toBe(message("range", at));
  });

  it("a slippage in percent or basis points is refused with both readings named, and nothing is stored", async () => {
    const answer = await gql("mutation($i: [TradeInput!]!) { recordTrades(inputs: $i) { accepted } }", {
      i: [
        { ...makeTrade("bps"), expectedSlippage: 50 },
        { ...makeTrade("neg"), actualSlippage: -2 },
      ],
    });
    const text = answer.errors?.map((e) => e.message).join("\n") ?? "";
    expect(text).toContain(
      "inputs[0].expectedSlippage must be a fraction from 0 to 1 (0.005 is 0.5 %); 50 looks like percent (0.5) or basis points (0.005)",
    );
    expect(text).toContain(
      "inputs[1].actualSlippage must be a fraction from -1 to 1 (0.005 is 0.5 %); -2 looks like percent (-0.02) or basis points (-0.0002)",
    );
    const stored = await ok<{ trades: { edges: unknown[] } }>(
      '{ trades(filter: { tradeId: "bps" }) { edges { cursor } } }',
    );
    expect(stored.trades.edges).toEqual([]);
  });

  it("alert thresholds are read in their kind's unit: a rate above 1 is refused with the fraction meant; rules and events say their unit", async () => {
    const refused = await gql(
      'mutation { upsertAlertRule(input: { id: "pct", kind: SANDWICH_RATE, threshold: 2 }) { id } }',
    );
    expect(refused.errors?.[0]?.message).toBe(
      "Invalid alert rule: input.threshold: SANDWICH_RATE thresholds are fractions from 0 to 1 (0.02 is 2 %); 2 looks like a percentage, did you mean 0.02?",
    );
    expect(refused.errors?.[0]?.extensions?.field).toBe("input.threshold");
    const rows = await gql(
      'mutation { upsertAlertRule(input: { id: "half", kind: QUEUE_DEPTH, threshold: 10.5 }) { id } }',
    );
    expect(rows.errors?.[0]?.message).toBe(
      "Invalid alert rule: input.threshold: QUEUE_DEPTH thresholds are whole rows",
    );
    const made = await ok<{ a: { unit: string }; b: { unit: string } }>(
      `mutation {
        a: upsertAlertRule(input: { id: "p99", kind: LATENCY_P99, stage: "submit", threshold: 250000 }) { unit }
        b: upsertAlertRule(input: { id: "sw", kind: SANDWICH_RATE, threshold: 0.02 }) { unit }
      }`,
    );
    expect(made).toEqual({ a: { unit: "MICROSECONDS" }, b: { unit: "FRACTION" } });
    // The same check on ALERT_RULES, at start-up.
    const error = (() => {
      try {
        loadConfig({ ALERT_RULES: JSON.stringify([{ id: "x", kind: "SANDWICH_RATE", threshold: 5 }]) });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "ALERT_RULES[0].threshold: SANDWICH_RATE thresholds are fractions from 0 to 1 (0.02 is 2 %); 5 looks like a percentage, did you mean 0.05?",
    ]);
  });
});
