// Issue 10, point 1: analytics memory is bounded by the answer. Against the real QuestDB: a month
// of latency rows whose hourly bins are several times MAX_RESULT_ROWS is charted with no
// statement bringing more than the bound into Node, and the same figures as the one-statement
// answer and an independent computation; answers of more than MAX_RESULT_ROWS rows
// (buckets × groups) are refused up front with the limit named, and the API goes on answering.
import { type DocumentNode, parse } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import type { SqlStatement } from "../src/analytics/sql.ts";
import { LatencyStatsDocument, type LatencyStatsQuery } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
  DAY_US,
  type GenLatency,
  type GenMev,
  type GenTrade,
  HOUR_US,
  iso,
  loadDataset,
  rng,
} from "./support/dataset.ts";
import { floorTo, latencyFigures } from "./support/expected.ts";
import { makeTrade } from "./support/load.ts";

const SMALL = 2_000;
const TINY = 100;
const STRATEGIES = 300;
const MINUTE_US = 60_000_000n;
/** Bins span a factor e^(1/100); the reported value is within half a bin. */
const RELATIVE_TOLERANCE = (Math.exp(0.01) - 1) / 2 + 1e-12;

const today = ((BigInt(Date.now()) * 1000n) / DAY_US) * DAY_US;
/** 29 whole days of latency rows, inside the 30-day retention. */
const monthFrom = today - 29n * DAY_US;
/** The hour holding the 300 trades and MEV records of 300 strategies. */
const hour = ((BigInt(Date.now()) * 1000n) / HOUR_US) * HOUR_US - 2n * HOUR_US;
const strategy = (i: number) => `s-${String(i).padStart(3, "0")}`;

type Seen = { name: string; rows: number };
const hook = (list: Seen[]) => ({
  onStatement: (statement: SqlStatement, _ms: number, _error: unknown, rows: number) =>
    list.push({ name: statement.name, rows }),
});

let t: TestApp;
let small: TestApp;
let tiny: TestApp;
const seenDefault: Seen[] = [];
const seenSmall: Seen[] = [];
const latency: GenLatency[] = [];
const trades: GenTrade[] = [];
const mev: GenMev[] = [];

beforeAll(async () => {
  t = await startTestApp("bounds", {}, hook(seenDefault));
  small = await startTestApp(
    "boundsmall",
    { QUESTDB_TABLE_PREFIX: t.prefix, MAX_RESULT_ROWS: String(SMALL) },
    hook(seenSmall),
  );
  tiny = await startTestApp("boundtiny", { QUESTDB_TABLE_PREFIX: t.prefix, MAX_RESULT_ROWS: String(TINY) });
  // 300 measurements a day of two stages, latencies spread over e^4..e^11 µs (700 log bins), so
  // nearly every measurement has a bin of its own in its hour; a few exact zeros (the NULL bin).
  const random = rng(10);
  for (let day = 0n; day < 29n; day++) {
    for (let i = 0; i < 300; i++) {
      const micros = monthFrom + day * DAY_US + BigInt(Math.floor(random() * Number(DAY_US)));
      const roll = random();
      latency.push({
        micros,
        timestamp: iso(micros),
        stage: i % 2 === 0 ? "quote" : "e2e",
        latencyUs: roll < 0.01 ? 0 : Math.round(Math.exp(4 + random() * 7)),
        metricId: `m-${day}-${i}`,
      });
    }
  }
  for (let i = 0; i < STRATEGIES; i++) {
    const micros = hour + BigInt(i) * 10_000_000n;
    trades.push({
      ...makeTrade(`bt-${i}`, iso(micros)),
      tradeId: `bt-${i}`,
      timestamp: iso(micros),
      micros,
      strategy: strategy(i),
      quoteAmount: 100 + i,
    });
    mev.push({
      micros: micros + 1n,
      timestamp: iso(micros + 1n),
      tradeId: `bt-${i}`,
      protection: "JITO_BUNDLE",
      outcome: "LANDED",
      tipLamports: 1000 + i,
      strategy: strategy(i),
    });
  }
  await loadDataset(t, { day0: today, trades, latency, mev });
});

const gql = <R = Record<string, unknown>>(app: TestApp, query: string, variables: Record<string, unknown>) =>
  app.gql(parse(query) as DocumentNode as never, variables as never) as Promise<{
    data?: R | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  }>;

const refusal = (actual: number, max: number) =>
  `The answer's rows (buckets × groups) is ${actual}, above the limit of ${max} (MAX_RESULT_ROWS); choose a larger bucket, a shorter range or fewer groupBy keys`;

describe("latencyStats over a month of hourly buckets", () => {
  it("reads the bins in runs of whole hours, no statement above the bound, with the figures of the one-statement answer", async () => {
    const range = { from: iso(monthFrom), to: iso(today) };
    // What the code before issue 10 held at once: every (hour, stage, bin) row of the month.
    const old = await t.app.services.pool.query(
      `SELECT timestamp, stage, floor(ln(latency_us) * 100) k, count() n FROM ${t.prefix}latency_metrics WHERE timestamp >= $1 AND timestamp < $2 SAMPLE BY 1h ALIGN TO CALENDAR`,
      [range.from, range.to],
    );
    expect(old.rows.length).toBeGreaterThan(4 * SMALL);

    seenSmall.length = 0;
    const chunked = await small.gql(LatencyStatsDocument, { range, bucket: "HOUR" });
    expect(chunked.errors).toBeUndefined();
    const statements = [...seenSmall];
    // 696 hours could hold more bins than the bound: no read of the whole range, but a plan,
    // then runs that each stay within the bound.
    // (Besides the transaction watcher's own statements, txn.*: the probe, and the TTL on first use.)
    expect(
      statements
        .map((s) => s.name)
        .filter((name) => !name.startsWith("txn."))
        .sort(),
    ).toEqual(
      [
        "latencyStats.totals",
        "latencyStats.plan.buckets",
        ...statements.filter((s) => s.name === "latencyStats.buckets.run").map((s) => s.name),
      ].sort(),
    );
    for (const s of statements)
      expect(s.rows, s.name).toBeLessThanOrEqual(s.name === "latencyStats.buckets" ? SMALL + 1 : SMALL);
    const runs = statements.filter((s) => s.name === "latencyStats.buckets.run");
    expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(old.rows.length / SMALL));
    expect(runs.reduce((n, s) => n + s.rows, 0)).toBe(old.rows.length);

    // The default bound (runs of up to BINS_PER_STATEMENT bins): the same answer, row for row.
    const whole = await t.gql(LatencyStatsDocument, { range, bucket: "HOUR" });
    expect(whole.errors).toBeUndefined();
    const buckets = (chunked.data as LatencyStatsQuery).latencyStats.buckets;
    expect(buckets).toHaveLength(29 * 24 * 2);
    expect(buckets).toEqual(whole.data?.latencyStats.buckets);

    // And an independent computation for a few hours and both stages.
    for (const index of [0, 1, 333, 1000, buckets.length - 1]) {
      const row = buckets[index] as (typeof buckets)[number];
      const start = BigInt(Date.parse(row.bucket as string)) * 1000n;
      const exact = latencyFigures(latency.filter((m) => m.stage === row.stage && floorTo(m.micros, "HOUR") === start));
      expect(exact.count).toBeGreaterThan(0);
      expect({ count: row.count, minUs: row.minUs, maxUs: row.maxUs, meanUs: row.meanUs }).toEqual({
        count: exact.count,
        minUs: exact.min,
        maxUs: exact.max,
        meanUs: exact.mean,
      });
      for (const p of ["p50", "p90", "p95", "p99", "p999"] as const) {
        const want = exact[p] as number;
        const got = row[`${p}Us`] as number;
        expect(want === 0 ? got : Math.abs(got - want) / want, `${row.bucket} ${row.stage} ${p}`).toBeLessThanOrEqual(
          RELATIVE_TOLERANCE,
        );
      }
    }
  });

  it("refuses a chart of more hours × stages than the bound, naming it, before reading the bins", async () => {
    const result = await tiny.gql(LatencyStatsDocument, {
      range: { from: iso(today - 3n * DAY_US), to: iso(today) },
      bucket: "HOUR",
    });
    // 72 hours × 2 stages: the plan (one row per non-empty hour and stage) already overflows the bound.
    expect(result.errors?.[0]?.message).toBe(refusal(TINY, TINY).replace(`is ${TINY},`, `is more than ${TINY},`));
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: "LIMIT_EXCEEDED",
      limit: "MAX_RESULT_ROWS",
      max: TINY,
    });
  });
});

describe("tradeStats and mevEffectiveness with 300 strategies", () => {
  const sixDays = { from: iso(hour + HOUR_US - 6n * DAY_US), to: iso(hour + HOUR_US) };
  const oneHour = { from: iso(hour), to: iso(hour + HOUR_US) };
  const tradeQuery =
    "query($r: TimeRange!) { tradeStats(range: $r, bucket: MINUTE, groupBy: [STRATEGY]) { buckets { bucket group { strategy } count quoteVolume } } }";
  const mevQuery =
    "query($r: TimeRange!) { mevEffectiveness(range: $r, bucket: MINUTE, groupBy: [STRATEGY]) { buckets { bucket strategy transactions tipsLamports } } }";
  /** Every (minute, strategy) of the hour, strategies by name, with the figures of its trade (or none). */
  const expected = <T>(figures: (i: number | undefined) => T) =>
    Array.from({ length: 60 }, (_, m) => hour + BigInt(m) * MINUTE_US).flatMap((minute) =>
      Array.from({ length: STRATEGIES }, (_, s) => {
        const i = trades.findIndex(
          (trade) => trade.strategy === strategy(s) && floorTo(trade.micros, "MINUTE") === minute,
        );
        return { minute: iso(minute), s: strategy(s), ...figures(i < 0 ? undefined : i) };
      }),
    );

  it("refuses MINUTE buckets over six days (8,640 × 300 rows) up front, and answers the hour exactly", async () => {
    seenDefault.length = 0;
    const refused = await gql(t, tradeQuery, { r: sixDays });
    expect(refused.errors?.[0]?.message).toBe(refusal(8640 * STRATEGIES, 50_000));
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: "LIMIT_EXCEEDED",
      limit: "MAX_RESULT_ROWS",
      max: 50_000,
      actual: 8640 * STRATEGIES,
    });
    for (const s of seenDefault) expect(s.rows, s.name).toBeLessThanOrEqual(50_001);

    const answered = await gql<{
      tradeStats: { buckets: { bucket: string; group: { strategy: string }; count: number; quoteVolume: number }[] };
    }>(t, tradeQuery, { r: oneHour });
    expect(answered.errors).toBeUndefined();
    expect(
      answered.data?.tradeStats.buckets.map((b) => ({
        minute: b.bucket,
        s: b.group.strategy,
        count: b.count,
        quoteVolume: b.quoteVolume,
      })),
    ).toEqual(expected((i) => ({ count: i === undefined ? 0 : 1, quoteVolume: i === undefined ? 0 : 100 + i })));
  });

  it("refuses and answers mevEffectiveness the same way", async () => {
    const refused = await gql(t, mevQuery, { r: sixDays });
    expect(refused.errors?.[0]?.message).toBe(refusal(8640 * STRATEGIES, 50_000));
    const answered = await gql<{
      mevEffectiveness: { buckets: { bucket: string; strategy: string; transactions: number; tipsLamports: string }[] };
    }>(t, mevQuery, { r: oneHour });
    expect(answered.errors).toBeUndefined();
    expect(
      answered.data?.mevEffectiveness.buckets.map((b) => ({
        minute: b.bucket,
        s: b.strategy,
        n: b.transactions,
        tips: b.tipsLamports,
      })),
    ).toEqual(expected((i) => ({ n: i === undefined ? 0 : 1, tips: String(i === undefined ? 0 : 1000 + i) })));
  });

  it("refuses totals and strategyPerformance of more groups than the bound without reading them, and answers one strategy", async () => {
    const totals = await gql(
      tiny,
      "query($r: TimeRange!) { tradeStats(range: $r, groupBy: [STRATEGY]) { totals { count } } }",
      {
        r: oneHour,
      },
    );
    expect(totals.errors?.[0]?.message).toBe(
      `The answer's rows (buckets × groups) is more than ${TINY}, above the limit of ${TINY} (MAX_RESULT_ROWS); choose a larger bucket, a shorter range or fewer groupBy keys`,
    );
    const mevTotals = await gql(
      tiny,
      "query($r: TimeRange!) { mevEffectiveness(range: $r, groupBy: [STRATEGY]) { totals { transactions } } }",
      {
        r: oneHour,
      },
    );
    expect(mevTotals.errors?.[0]?.extensions).toMatchObject({ code: "LIMIT_EXCEEDED", limit: "MAX_RESULT_ROWS" });
    const perf = await gql(tiny, "query($r: TimeRange!) { strategyPerformance(range: $r) { strategy trades } }", {
      r: oneHour,
    });
    expect(perf.errors?.[0]?.message).toBe(
      `The answer's rows (strategies) is more than ${TINY}, above the limit of ${TINY} (MAX_RESULT_ROWS); choose a shorter range or one strategy`,
    );
    const one = await gql(
      tiny,
      'query($r: TimeRange!) { strategyPerformance(range: $r, strategy: "s-007") { strategy trades quoteVolume } }',
      {
        r: oneHour,
      },
    );
    expect(one).toEqual({ data: { strategyPerformance: [{ strategy: "s-007", trades: 1, quoteVolume: 107 }] } });
    const all = await gql<{ strategyPerformance: { strategy: string; trades: number }[] }>(
      t,
      "query($r: TimeRange!) { strategyPerformance(range: $r) { strategy trades } }",
      { r: oneHour },
    );
    expect(all.data?.strategyPerformance).toEqual(
      Array.from({ length: STRATEGIES }, (_, i) => ({ strategy: strategy(i), trades: 1 })),
    );
  });
});
