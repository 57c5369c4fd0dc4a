// Rollups (issue 13, points 1 and 2): the views are created at start-up, and every statistic read
// through them (whole hours from the views, edges and unrefreshed hours from the tables) equals the
// computation over the base tables alone, for ranges that start and end inside buckets, across day
// boundaries, with late rows and DEDUP upserts of old rows. The analytics functions run in process
// with a runner of their own, so the statements they ran can be told apart (`.view` / `.raw`).
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { createQueryCache } from "../src/analytics/cache.ts";
import { latencyStatsBuckets, latencyStatsTotals } from "../src/analytics/latency-stats.ts";
import { mevBuckets, mevTotals } from "../src/analytics/mev-effectiveness.ts";
import { performanceByPeriod } from "../src/analytics/performance-by-period.ts";
import type { TimeBucket, TimeRange } from "../src/analytics/range.ts";
import {
  dayPieces,
  edgeOf,
  hourCutPieces,
  indexHour,
  type PartialRow,
  planSegments,
  rawSource,
} from "../src/analytics/rollup.ts";
import { createRollups, hoursWithin, type Rollups } from "../src/analytics/rollup-coverage.ts";
import { createSqlRunner, type SqlRunner } from "../src/analytics/sql.ts";
import { strategyPerformance } from "../src/analytics/strategy-performance.ts";
import { type TradeGroupKey, tradeStatsBuckets, tradeStatsTotals } from "../src/analytics/trade-stats.ts";
import { tableNames } from "../src/questdb/tables.ts";
import { createTxnWatch, type TxnWatch } from "../src/questdb/txn-watch.ts";
import { ensureViews, type Measure, viewNames } from "../src/questdb/views.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { DAY_US, type Dataset, generateDataset, HOUR_US, loadDataset } from "./support/dataset.ts";
import { exec, viewsCaughtUp, walApplied } from "./support/questdb.ts";

const MINUTE_US = 60_000_000n;
const MAX = 50_000;

let t: TestApp;
let ds: Dataset;
let runner: SqlRunner;
let views: Rollups;
let raw: Rollups;
let watch: TxnWatch;

beforeAll(async () => {
  t = await startTestApp("rollups");
  ds = generateDataset(13);
  await loadDataset(t, ds);
  runner = createSqlRunner({ pool: t.app.pool, log: pino({ level: "silent" }), timeoutMs: 60_000 });
  const tables = tableNames(t.prefix);
  watch = createTxnWatch({ runner });
  views = createRollups(tables, viewNames(t.prefix), watch);
  raw = {
    trades: rawSource(tables.trades),
    latency: rawSource(tables.latency_metrics),
    mev: rawSource(tables.mev_metrics),
    pnl: rawSource(tables.trades),
  };
});

/** Each read runs its statement (no cache), so the statements counted are this read's. */
const reads = () => createQueryCache({ runner, maxBytes: 0, watch });

/** Deep equality, doubles within 1e-9 relative (sums in another order), the rest exact. */
function expectClose(actual: unknown, expected: unknown, path = "answer"): void {
  if (typeof expected === "number" && typeof actual === "number") {
    const scale = Math.max(Math.abs(expected), Math.abs(actual), 1e-300);
    expect(Math.abs(actual - expected) / scale, `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, `${path} length`).toBe(expected.length);
    expected.forEach((item, i) => {
      expectClose((actual as unknown[])[i], item, `${path}[${i}]`);
    });
    return;
  }
  if (expected !== null && typeof expected === "object") {
    expect(actual !== null && typeof actual === "object", path).toBe(true);
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual as object)]);
    for (const key of keys) {
      expectClose(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
    }
    return;
  }
  expect(actual, path).toEqual(expected);
}

const statementsEnding = (suffix: string) =>
  Object.entries(runner.stats().byName)
    .filter(([name]) => name.endsWith(suffix))
    .reduce((sum, [, n]) => sum + n, 0);
const viewStatements = () => statementsEnding(".view");

/** Ranges over the data set (day0 − 6 h to day0 + 30 h): edges inside hours, across midnight, whole days. */
function ranges(): TimeRange[] {
  const d = ds.day0;
  return [
    { from: d - 6n * HOUR_US, to: d + 30n * HOUR_US },
    { from: d - 5n * HOUR_US + 17n * MINUTE_US + 3n, to: d + 29n * HOUR_US + 41n * MINUTE_US },
    { from: d - 2n * HOUR_US - 1n, to: d + 2n * HOUR_US + 1n },
    { from: d, to: d + DAY_US },
    { from: d + 3n * HOUR_US + 5n * MINUTE_US, to: d + 3n * HOUR_US + 50n * MINUTE_US },
    { from: d + 9n * HOUR_US + 30n * MINUTE_US, to: d + 23n * HOUR_US + 59n * MINUTE_US + 59_999_999n },
  ];
}

const BUCKETS: (TimeBucket | null)[] = [null, "FIFTEEN_MINUTES", "HOUR", "FOUR_HOURS", "DAY", "WEEK", "MONTH"];
const GROUPS: TradeGroupKey[][] = [
  [],
  ["PAIR"],
  ["STRATEGY", "VENUE"],
  ["PAIR", "STRATEGY", "ACTION", "MEV_STATUS", "VENUE"],
];

/** Every statistic over `range` (with `buckets`), read from `source`. */
async function everything(source: Rollups, range: TimeRange, buckets = BUCKETS) {
  const answers: Record<string, unknown> = {};
  for (const bucket of buckets) {
    for (const groupBy of GROUPS) {
      const args = { range, bucket, groupBy };
      answers[`trades ${bucket} ${groupBy}`] = bucket
        ? await tradeStatsBuckets(reads(), source.trades, args, MAX)
        : await tradeStatsTotals(reads(), source.trades, args, MAX);
    }
    for (const [stage, strategy] of [
      [null, null],
      ["sign", null],
      [null, "alpha"],
    ] as const) {
      const args = { range, bucket, stage, strategy };
      answers[`latency ${bucket} ${stage} ${strategy}`] = bucket
        ? await latencyStatsBuckets(reads(), source.latency, args, MAX)
        : await latencyStatsTotals(reads(), source.latency, args, MAX);
    }
    for (const groupBy of [[], ["PROTECTION"], ["PROTECTION", "STRATEGY", "VENUE"]] as const) {
      const args = { range, bucket, groupBy };
      answers[`mev ${bucket} ${groupBy}`] = bucket
        ? await mevBuckets(reads(), source.mev, args, MAX)
        : await mevTotals(reads(), source.mev, args, MAX);
    }
  }
  for (const groupBy of [["STRATEGY"], ["PAIR"], ["STRATEGY", "PAIR"], []] as const) {
    for (const strategy of [null, "beta"]) {
      answers[`performance ${groupBy} ${strategy}`] = await strategyPerformance(
        reads(),
        source.trades,
        { range, groupBy, strategy, writer: null },
        MAX,
      );
    }
  }
  for (const bucket of ["DAY", "WEEK", "MONTH"] as const) {
    answers[`periods ${bucket}`] = await performanceByPeriod(
      reads(),
      source.trades,
      { range, bucket, strategy: null, writer: null },
      MAX,
    );
  }
  return answers;
}

describe("rollup views", { timeout: 300_000 }, () => {
  it("are created at start-up beside the tables, valid, with the tables' retention; a second start changes nothing", async () => {
    const { dataset } = await exec(
      `SELECT view_name, view_status, base_table_name FROM materialized_views() WHERE view_name LIKE '${t.prefix}%' ORDER BY view_name`,
    );
    expect(dataset).toEqual([
      [`${t.prefix}latency_metrics_1h`, "valid", `${t.prefix}latency_metrics`],
      [`${t.prefix}mev_metrics_1h`, "valid", `${t.prefix}mev_metrics`],
      [`${t.prefix}trades_1h`, "valid", `${t.prefix}trades`],
      [`${t.prefix}trades_pnl_1h`, "valid", `${t.prefix}trades`],
    ]);
    const ttl = await exec(
      `SELECT table_name, ttlValue, ttlUnit FROM tables() WHERE table_name LIKE '${t.prefix}%_1h'`,
    );
    for (const row of ttl.dataset) expect(row.slice(1), String(row[0])).toEqual([30, "DAY"]);
    const changes: string[] = [];
    await ensureViews(t.app.pool, {
      tables: tableNames(t.prefix),
      views: viewNames(t.prefix),
      retentionDays: 30,
      onChange: (m) => changes.push(m),
    });
    expect(changes).toEqual([]);
    // A new RETENTION_DAYS reaches the views as it reaches the tables.
    await ensureViews(t.app.pool, {
      tables: tableNames(t.prefix),
      views: viewNames(t.prefix),
      retentionDays: 400,
      onChange: (m) => changes.push(m),
    });
    expect(changes).toEqual([
      `ALTER MATERIALIZED VIEW ${t.prefix}trades_1h SET TTL 400 DAYS`,
      `ALTER MATERIALIZED VIEW ${t.prefix}latency_metrics_1h SET TTL 400 DAYS`,
      `ALTER MATERIALIZED VIEW ${t.prefix}mev_metrics_1h SET TTL 400 DAYS`,
      `ALTER MATERIALIZED VIEW ${t.prefix}trades_pnl_1h SET TTL 400 DAYS`,
    ]);
    const longer = await exec(
      `SELECT table_name, ttlValue, ttlUnit FROM tables() WHERE table_name LIKE '${t.prefix}%_1h'`,
    );
    for (const row of longer.dataset) expect(row.slice(1), String(row[0])).toEqual([400, "DAY"]);
  });

  it("answer every statistic as the base tables do, for ranges that start and end inside buckets", async () => {
    await viewsCaughtUp(t.prefix);
    for (const [i, range] of ranges().entries()) {
      // Totals and three bucket sizes per range, every bucket size over the ranges.
      const buckets = [null, ...BUCKETS.filter((_, b) => b > 0 && b % 2 === i % 2)];
      const before = viewStatements();
      const hours = statementsEnding(".hour");
      const fromViews = await everything(views, range, buckets);
      // Ranges holding a whole hour read it from a view.
      if (range.to - range.from > 2n * HOUR_US) expect(viewStatements()).toBeGreaterThan(before);
      // A range starting inside an hour reads that (quiet) hour per timestamp (readHour).
      if (range.from % HOUR_US !== 0n) expect(statementsEnding(".hour")).toBeGreaterThan(hours);
      const fromTables = await everything(raw, range, buckets);
      expectClose(fromViews, fromTables, `${range.from}..${range.to}`);
    }
  });

  it("read a quiet edge hour once per timestamp, and a write into it reaches the next answer", async () => {
    await viewsCaughtUp(t.prefix);
    const cached = createQueryCache({ runner, maxBytes: 64 * 1024 * 1024, watch });
    const hour = ds.day0 + 7n * HOUR_US;
    const range = { from: hour + 13n * MINUTE_US + 1n, to: ds.day0 + 20n * HOUR_US };
    const args = { range, bucket: "HOUR" as const, groupBy: ["PAIR"] as TradeGroupKey[] };
    const read = () => tradeStatsBuckets(cached, views.trades, args, MAX);
    const hours = statementsEnding(".hour");
    const first = await read();
    expectClose(first, await tradeStatsBuckets(reads(), raw.trades, args, MAX), "first");
    expect(statementsEnding(".hour")).toBe(hours + 1);
    // Another start inside the same hour: its rows come from the cache.
    const later = { ...args, range: { ...range, from: range.from + 20n * MINUTE_US } };
    expectClose(
      await tradeStatsBuckets(cached, views.trades, later, MAX),
      await tradeStatsBuckets(reads(), raw.trades, later, MAX),
      "later start",
    );
    expect(statementsEnding(".hour")).toBe(hours + 1);
    // A late trade into the edge hour, after the range's start: the next answer has it.
    await exec(
      `INSERT INTO ${t.prefix}trades (timestamp, trade_id, action, base_token, quote_token, base_amount, quote_amount, executed_price, transaction_fee, priority_fee, expected_slippage, actual_slippage, mev_status, transfer_fees, writer) VALUES ` +
        `('${new Date(Number((hour + 50n * MINUTE_US) / 1000n)).toISOString()}', 'edge-late', 'BUY', 'SOL', 'USDC', 3.0, 30.0, 10.0, 1, 1, 0.0, 0.0, 'UNKNOWN', 0.0, 'edge')`,
    );
    await walApplied(`${t.prefix}trades`);
    const after = await read();
    expectClose(after, await tradeStatsBuckets(reads(), raw.trades, args, MAX), "after the write");
    const solUsdc = (rows: typeof first) =>
      rows.find((row) => row.bucket === hour && row.group.baseToken === "SOL" && row.group.quoteToken === "USDC")
        ?.trades ?? 0;
    expect(solUsdc(after)).toBe(solUsdc(first) + 1);
  });

  it("include late rows and DEDUP upserts of old rows, before and after the views refresh", async () => {
    const range = ranges()[1] as TimeRange;
    const buckets: (TimeBucket | null)[] = [null, "HOUR", "DAY"];
    const before = await everything(views, range, buckets);
    const old = ds.trades.find((trade) => trade.micros > ds.day0 - 4n * HOUR_US) as Dataset["trades"][number];
    const { dataset } = await exec(
      `SELECT writer FROM ${t.prefix}trades WHERE trade_id = '${old.tradeId}' AND timestamp = '${old.timestamp}'`,
    );
    const writer = (dataset[0] as [string])[0];
    // An upsert of an old trade (same timestamp, id and writer: DEDUP replaces it) with a new
    // price, and a late trade into an old hour.
    await exec(
      `INSERT INTO ${t.prefix}trades (timestamp, trade_id, action, base_token, quote_token, base_amount, quote_amount, executed_price, transaction_fee, priority_fee, expected_slippage, actual_slippage, mev_status, transfer_fees, strategy, realized_pnl, writer) VALUES ` +
        `('${old.timestamp}', '${old.tradeId}', '${old.action}', '${old.baseToken}', '${old.quoteToken}', ${old.baseAmount}, ${old.baseAmount * 0.5}, 0.5, 1, 1, 0.0, 0.0, 'UNKNOWN', 0.0, 'alpha', 1000.0, '${writer}'), ` +
        `('${old.timestamp}', 'late-1', 'BUY', 'SOL', 'USDC', 2.0, 20000.0, 10000.0, 1, 1, 0.0, 0.0, 'UNKNOWN', 0.0, 'beta', -7.0, '${writer}')`,
    );
    await walApplied(`${t.prefix}trades`);
    // At once (the view may not have refreshed yet: those hours are read from the table)…
    const now = await everything(views, range, buckets);
    expectClose(now, await everything(raw, range, buckets), "right after the write");
    expect(now).not.toEqual(before);
    // …and once the view has refreshed, from the view.
    await viewsCaughtUp(t.prefix);
    const viewsBefore = viewStatements();
    const later = await everything(views, range, buckets);
    expect(viewStatements()).toBeGreaterThan(viewsBefore);
    expectClose(later, now, "after the refresh");
  });
});

describe("planSegments", () => {
  const d = 20_000n * DAY_US;
  const range = { from: d - 2n * HOUR_US - 7n, to: d + DAY_US + 3n * HOUR_US + 11n };
  const covers = (segments: { range: TimeRange }[], whole: TimeRange) => {
    expect(segments[0]?.range.from).toBe(whole.from);
    expect(segments.at(-1)?.range.to).toBe(whole.to);
    for (let i = 1; i < segments.length; i++) {
      expect(segments[i]?.range.from).toBe(segments[i - 1]?.range.to);
    }
  };

  it("reads whole hours from the view (the first day's rest, the days up to today, today's hours), edges from the table", () => {
    const segments = planSegments(range, "HOUR", { usable: true, dirty: [] });
    covers(segments, range);
    expect(segments.map((s) => [s.range.from - d, s.range.to - d, s.fromView])).toEqual([
      [-2n * HOUR_US - 7n, -2n * HOUR_US, false],
      [-2n * HOUR_US, 0n, true],
      [0n, DAY_US, true],
      [DAY_US, DAY_US + 3n * HOUR_US, true],
      [DAY_US + 3n * HOUR_US, DAY_US + 3n * HOUR_US + 11n, false],
    ]);
    // Five days: with buckets inside a day, each whole day between the first and the last is a
    // segment of its own (its key never changes: a new day reads one day, a late write into a day
    // drops that day alone); totals, weeks and months read those days in one segment.
    const longer = { from: range.from, to: range.to + 3n * DAY_US };
    const edges = (middle: bigint[][]) => [
      [-2n * HOUR_US - 7n, -2n * HOUR_US, false],
      [-2n * HOUR_US, 0n, true],
      ...middle.map(([from, to]) => [from, to, true]),
      [4n * DAY_US, 4n * DAY_US + 3n * HOUR_US, true],
      [4n * DAY_US + 3n * HOUR_US, 4n * DAY_US + 3n * HOUR_US + 11n, false],
    ];
    for (const bucket of [null, "DAY", "WEEK", "MONTH"] as const) {
      const five = planSegments(longer, bucket, { usable: true, dirty: [] });
      covers(five, longer);
      expect(five.map((s) => [s.range.from - d, s.range.to - d, s.fromView])).toEqual(
        edges(
          bucket === "DAY"
            ? [
                [0n, DAY_US],
                [DAY_US, 2n * DAY_US],
                [2n * DAY_US, 3n * DAY_US],
                [3n * DAY_US, 4n * DAY_US],
              ]
            : [[0n, 4n * DAY_US]],
        ),
      );
    }
    // A dirty hour inside the whole days is cut out and read raw.
    const dirty = [{ from: 2n * DAY_US + d + 1n, to: 2n * DAY_US + d + 2n }];
    const cut = planSegments(longer, "DAY", { usable: true, dirty });
    covers(cut, longer);
    expect(cut.slice(2, 7).map((s) => [s.range.from - d, s.range.to - d, s.fromView])).toEqual([
      [0n, DAY_US, true],
      [DAY_US, 2n * DAY_US, true],
      [2n * DAY_US, 2n * DAY_US + HOUR_US, false],
      [2n * DAY_US + HOUR_US, 3n * DAY_US, true],
      [3n * DAY_US, 4n * DAY_US, true],
    ]);
  });

  it("reads the hours a dirty range touches from the table, and everything when the dirty ranges are unknown", () => {
    const dirty = [{ from: d + 5n * HOUR_US + 1n, to: d + 6n * HOUR_US + 2n }];
    const segments = planSegments(range, null, { usable: true, dirty });
    covers(segments, range);
    const rawHours = segments.filter((s) => !s.fromView && s.range.from >= d && s.range.to <= d + DAY_US);
    expect(rawHours.map((s) => [s.range.from - d, s.range.to - d])).toEqual([[5n * HOUR_US, 7n * HOUR_US]]);
    for (const coverage of [{ usable: true, dirty: null }, { usable: false, dirty: [] }, null]) {
      const all = planSegments(range, "DAY", coverage);
      covers(all, range);
      expect(all.every((s) => !s.fromView)).toBe(true);
      expect(all).toHaveLength(3);
    }
    // Buckets shorter than an hour come from the table.
    expect(planSegments(range, "FIFTEEN_MINUTES", { usable: true, dirty: [] }).every((s) => !s.fromView)).toBe(true);
  });

  it("cuts a long range into at most 64 chunks", () => {
    const year = { from: d, to: d + 365n * DAY_US };
    const segments = planSegments(year, "DAY", { usable: true, dirty: [] });
    covers(segments, year);
    expect(segments.length).toBeLessThanOrEqual(64);
  });
});

describe("dayPieces and hourCutPieces (statements of their own)", () => {
  const d = 20_000n * DAY_US;
  const H = HOUR_US;
  const m = 60_000_000n;
  const relative = (pieces: TimeRange[]) => pieces.map((p) => [p.from - d, p.to - d]);

  it("cut at UTC days, the first day also at the range's first whole hour, the last at its last whole hour less the margin", () => {
    const range = { from: d + 10n * H + 30n * m, to: d + 3n * DAY_US + 15n * H + 45n * m };
    expect(relative(dayPieces(range))).toEqual([
      [10n * H + 30n * m, DAY_US],
      [DAY_US, 2n * DAY_US],
      [2n * DAY_US, 3n * DAY_US],
      [3n * DAY_US, 3n * DAY_US + 15n * H + 45n * m],
    ]);
    expect(relative(hourCutPieces(range, H))).toEqual([
      [10n * H + 30n * m, 11n * H],
      [11n * H, DAY_US],
      [DAY_US, 2n * DAY_US],
      [2n * DAY_US, 3n * DAY_US],
      [3n * DAY_US, 3n * DAY_US + 14n * H],
      [3n * DAY_US + 14n * H, 3n * DAY_US + 15n * H + 45n * m],
    ]);
    expect(relative(hourCutPieces(range, 0n)).at(-2)).toEqual([3n * DAY_US, 3n * DAY_US + 15n * H]);
    // Inside one hour, or with cuts on the range's own ends: nothing to cut.
    const short = { from: d + 10n * H + 10n * m, to: d + 10n * H + 50n * m };
    expect(relative(hourCutPieces(short, H))).toEqual([[10n * H + 10n * m, 10n * H + 50n * m]]);
    const whole = { from: d, to: d + 2n * DAY_US };
    expect(relative(hourCutPieces(whole, 0n))).toEqual([
      [0n, DAY_US],
      [DAY_US, 2n * DAY_US],
    ]);
    // One day: both cuts in the same piece.
    const day = { from: d + 10n * H + 30n * m, to: d + 20n * H + 5n * m };
    expect(relative(hourCutPieces(day, H))).toEqual([
      [10n * H + 30n * m, 11n * H],
      [11n * H, 19n * H],
      [19n * H, 20n * H + 5n * m],
    ]);
  });

  it("cover the range, contiguous and in order, in at most 64 pieces plus the two cuts, for ranges of any length", () => {
    for (const days of [1n, 2n, 30n, 64n, 65n, 365n, 3650n]) {
      const range = { from: d + 7n * H + 13n, to: d + days * DAY_US + 5n * H + 17n };
      for (const pieces of [dayPieces(range), hourCutPieces(range, H), hourCutPieces(range, 0n)]) {
        expect(pieces[0]?.from).toBe(range.from);
        expect(pieces.at(-1)?.to).toBe(range.to);
        for (let i = 1; i < pieces.length; i++) expect(pieces[i]?.from).toBe(pieces[i - 1]?.to);
        expect(pieces.every((p) => p.from < p.to)).toBe(true);
        expect(pieces.length).toBeLessThanOrEqual(64 + 2);
      }
    }
  });
});

describe("an edge hour's index (indexHour, edgeOf)", () => {
  const hour = 20_000n * DAY_US + 7n * HOUR_US;
  const m = 60_000_000n;
  const measures: Measure[] = [
    { alias: "n", sql: "", merge: "sum" },
    { alias: "v", sql: "", merge: "sum" },
    { alias: "lo", sql: "", merge: "min" },
    { alias: "hi", sql: "", merge: "max" },
    { alias: "t0", sql: "", merge: "min" },
    { alias: "t1", sql: "", merge: "max" },
    { alias: "open", sql: "", merge: "first", at: "t0" },
    { alias: "close", sql: "", merge: "last", at: "t1" },
  ];
  // A deterministic hour: rows per exact timestamp and pair, in time order (as readHour reads them).
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const rows: PartialRow[] = [];
  let at = hour;
  while (rows.length < 600) {
    at += BigInt(1 + Math.floor(next() * 11_000_000));
    if (at >= hour + HOUR_US) break;
    for (const pair of ["SOL", "JUP", null]) {
      if (next() < 0.4) continue;
      const price = Math.round(next() * 1000) / 10;
      rows.push({
        timestamp: at,
        pair,
        n: 1n,
        v: next() * 10,
        lo: price,
        hi: price,
        t0: at,
        t1: at,
        open: price,
        close: price,
      });
    }
  }
  const index = indexHour(rows, ["pair"], measures);

  /** Adds a row's figures (one row, or rows folded) to the map's row of its key. */
  const add = (out: Map<string, Record<string, unknown>>, key: string, row: Record<string, unknown>) => {
    const o = out.get(key);
    if (!o) {
      out.set(key, { ...row });
      return;
    }
    o.n = (o.n as bigint) + (row.n as bigint);
    o.v = (o.v as number) + (row.v as number);
    o.lo = Math.min(o.lo as number, row.lo as number);
    o.hi = Math.max(o.hi as number, row.hi as number);
    if ((row.t0 as bigint) < (o.t0 as bigint)) [o.t0, o.open] = [row.t0, row.open];
    if ((row.t1 as bigint) > (o.t1 as bigint)) [o.t1, o.close] = [row.t1, row.close];
  };
  /** The figures of [from, to) per (bucket,) pair, computed from the rows one by one. */
  const expected = (from: bigint, to: bigint, bucket: TimeBucket | null) => {
    const out = new Map<string, Record<string, unknown>>();
    for (const row of rows) {
      const t = row.timestamp as bigint;
      if (t < from || t >= to) continue;
      const stride = bucket === "FIFTEEN_MINUTES" ? 15n * m : bucket === "DAY" ? DAY_US : HOUR_US;
      const b = bucket === null ? undefined : t - (t % stride);
      add(out, `${b ?? ""}|${row.pair}`, { ...row, timestamp: b });
    }
    return out;
  };
  const actual = (from: bigint, to: bigint, bucket: TimeBucket | null) => {
    const out = new Map<string, Record<string, unknown>>();
    for (const row of edgeOf(index, { from, to }, bucket, hour)) add(out, `${row.timestamp ?? ""}|${row.pair}`, row);
    return out;
  };

  it("folds the rows of a range's edge, or of any part of the hour, as the rows one by one do", () => {
    expect(rows.length).toBeGreaterThan(300);
    const cuts = [
      hour,
      hour + 1n,
      hour + 7n * m + 3n,
      hour + 15n * m,
      hour + 29n * m,
      hour + 59n * m,
      hour + HOUR_US - 1n,
    ];
    cuts.push(...rows.slice(0, 40).map((row) => row.timestamp as bigint));
    cuts.push(...rows.slice(0, 40).map((row) => (row.timestamp as bigint) + 1n));
    let edges = 0;
    for (const bucket of [null, "HOUR", "FIFTEEN_MINUTES", "DAY"] as const) {
      for (const cut of cuts) {
        // The range's first hour [cut, hour end), its last [hour, cut), and a part inside the hour.
        for (const [from, to] of [
          [cut, hour + HOUR_US],
          [hour, cut],
          [cut, cut + 20n * m],
        ] as const) {
          if (from >= to || to > hour + HOUR_US) continue;
          edges++;
          const want = expected(from, to, bucket);
          const got = actual(from, to, bucket);
          expect([...got.keys()].sort(), `${bucket} ${from - hour}..${to - hour}`).toEqual([...want.keys()].sort());
          for (const [key, row] of want) {
            const mine = got.get(key) as Record<string, unknown>;
            for (const k of ["n", "lo", "hi", "t0", "t1", "open", "close", "pair", "timestamp"]) {
              expect(mine[k], `${bucket} ${from - hour}..${to - hour} ${key} ${k}`).toEqual(row[k]);
            }
            expect(Math.abs((mine.v as number) - (row.v as number))).toBeLessThan(
              1e-9 * Math.abs(row.v as number) + 1e-12,
            );
          }
        }
      }
    }
    expect(edges).toBeGreaterThan(400);
    // The index's folded rows are never the cached rows themselves folded into.
    expect(rows.every((row) => row.n === 1n)).toBe(true);
  });
});

describe("rollup coverage", () => {
  // A fake watch and reader: the snapshot as a probe would show it (the base applied, the view as
  // given) and the view's apply as given.
  const tables = tableNames("c_");
  const names = viewNames("c_");
  const hour = 20_000n * 24n * HOUR_US;
  function rollups(
    view: { writerTxn: bigint; sequencerTxn: bigint },
    appliesWithin: boolean,
    settled?: { ownWriterTxn: bigint; baseTxn: bigint; periodHi: bigint; valid?: boolean },
    /** What the view's own transactions since the settled reading wrote (null: unknown). */
    writes: readonly { from: bigint; to: bigint }[] | null = null,
  ) {
    const waited: number[] = [];
    const asked: bigint[][] = [];
    const snapshot = {
      probe: 1,
      tables: new Map([
        [tables.trades, { writerTxn: 10n, sequencerTxn: 10n }],
        [names.trades, view],
      ]),
      views: new Map([
        [
          names.trades,
          {
            name: names.trades,
            baseTable: tables.trades,
            baseTxn: 9n,
            valid: settled?.valid ?? true,
            periodHi: hour + HOUR_US,
          },
        ],
      ]),
      touched: (table: string, after: bigint, upto: bigint) =>
        table !== tables.trades || upto !== 10n
          ? null
          : after === 9n
            ? [{ from: hour, to: hour + 1n }]
            : after === 10n
              ? []
              : after === 8n
                ? [
                    { from: hour - HOUR_US, to: hour - HOUR_US + 1n },
                    { from: hour, to: hour + 1n },
                  ]
                : null,
    };
    const watch = {
      appliedWithin: async (_base: unknown, _tables: readonly string[], waitMs: number) => {
        waited.push(waitMs);
        return appliesWithin ? snapshot : null;
      },
      settledView: () =>
        settled && {
          ownWriterTxn: settled.ownWriterTxn,
          state: {
            name: names.trades,
            baseTable: tables.trades,
            baseTxn: settled.baseTxn,
            valid: true,
            periodHi: settled.periodHi,
          },
        },
      viewWrites: async (_view: string, after: bigint, upto: bigint) => {
        asked.push([after, upto]);
        return writes;
      },
    } as unknown as TxnWatch;
    const reads = { snapshot: async () => snapshot, read: async () => [] } as never;
    return { source: createRollups(tables, names, watch, 250).trades, reads, waited, asked };
  }

  it("reads from the view what the base's transactions since its refresh did not touch, and the open period raw", async () => {
    const { source, reads, waited } = rollups({ writerTxn: 5n, sequencerTxn: 5n }, true);
    expect(await source.coverage(reads)).toEqual({
      usable: true,
      dirty: [
        { from: hour, to: hour + 1n },
        { from: hour + HOUR_US, to: 2n ** 62n },
      ],
    });
    expect(waited).toEqual([]);
  });

  it("waits for a view that has committed transactions it has not applied, and reads raw if it does not apply in time", async () => {
    const applying = rollups({ writerTxn: 5n, sequencerTxn: 7n }, true);
    expect((await applying.source.coverage(applying.reads)).dirty).toHaveLength(2);
    expect(applying.waited).toEqual([250]);
    const stuck = rollups({ writerTxn: 5n, sequencerTxn: 7n }, false);
    expect(await stuck.source.coverage(stuck.reads)).toEqual({ usable: true, dirty: null });
    // Settled at another applied transaction than the view's now: no state known to be shown.
    const moved = rollups({ writerTxn: 6n, sequencerTxn: 7n }, false, {
      ownWriterTxn: 5n,
      baseTxn: 8n,
      periodHi: hour,
    });
    expect(await moved.source.coverage(moved.reads)).toEqual({ usable: true, dirty: null });
    expect(moved.waited).toEqual([250]);
  });

  it("reads a view that has applied nothing since its latest settled reading as of that reading, without waiting", async () => {
    const behind = rollups({ writerTxn: 5n, sequencerTxn: 7n }, false, {
      ownWriterTxn: 5n,
      baseTxn: 8n,
      periodHi: hour,
    });
    expect(await behind.source.coverage(behind.reads)).toEqual({
      usable: true,
      // The base's transactions since the settled refresh (8), and that reading's open period.
      dirty: [
        { from: hour - HOUR_US, to: hour - HOUR_US + 1n },
        { from: hour, to: hour + 1n },
        { from: hour, to: 2n ** 62n },
      ],
    });
    expect(behind.waited).toEqual([]);
    // A view invalid now is not read, whatever it showed before.
    const invalid = rollups({ writerTxn: 5n, sequencerTxn: 7n }, false, {
      ownWriterTxn: 5n,
      baseTxn: 8n,
      periodHi: hour,
      valid: false,
    });
    expect(await invalid.source.coverage(invalid.reads)).toEqual({ usable: false, dirty: null });
  });

  it("reads a view that applied refreshes since its settled reading as of that reading when they wrote only hours read raw", async () => {
    const settled = { ownWriterTxn: 5n, baseTxn: 8n, periodHi: hour };
    const asOfSettled = {
      usable: true,
      dirty: [
        { from: hour - HOUR_US, to: hour - HOUR_US + 1n },
        { from: hour, to: hour + 1n },
        { from: hour, to: 2n ** 62n },
      ],
    };
    // Refresh marks without rows (a period view's), the late hour and the open period rewritten.
    for (const writes of [
      [],
      [{ from: hour - HOUR_US, to: hour - HOUR_US + 1n }],
      [{ from: hour, to: hour + 3n * HOUR_US }],
    ]) {
      const applied = rollups({ writerTxn: 6n, sequencerTxn: 9n }, false, settled, writes);
      expect(await applied.source.coverage(applied.reads)).toEqual(asOfSettled);
      expect(applied.waited).toEqual([]);
      // Its own transactions since the settled reading, applied or not.
      expect(applied.asked).toEqual([[5n, 9n]]);
    }
    // An hour outside (a full refresh writes them all), or nothing known: waited for as before.
    for (const writes of [
      [{ from: hour - 30n * 24n * HOUR_US, to: hour + HOUR_US }],
      [{ from: hour - 2n * HOUR_US, to: hour - 2n * HOUR_US + 1n }],
      null,
    ]) {
      const outside = rollups({ writerTxn: 6n, sequencerTxn: 9n }, false, settled, writes);
      expect(await outside.source.coverage(outside.reads)).toEqual({ usable: true, dirty: null });
      expect(outside.waited).toEqual([250]);
    }
    // A refresh state gone back since (a full refresh under way shows -1): nothing settled is shown.
    const back = rollups({ writerTxn: 6n, sequencerTxn: 9n }, false, { ...settled, baseTxn: 10n }, []);
    expect(await back.source.coverage(back.reads)).toEqual({ usable: true, dirty: null });
    expect(back.asked).toEqual([]);
  });
});

describe("hoursWithin", () => {
  it("holds when every hour a span reaches overlaps a range read raw", () => {
    const h = 3_600_000_000n;
    const dirty = [
      { from: 5n * h + 10n, to: 5n * h + 11n },
      { from: 8n * h, to: 2n ** 62n },
    ];
    expect(hoursWithin({ from: 5n * h, to: 5n * h + 1n }, dirty)).toBe(true);
    expect(hoursWithin({ from: 5n * h + 30n, to: 6n * h }, dirty)).toBe(true);
    expect(hoursWithin({ from: 5n * h, to: 6n * h + 1n }, dirty)).toBe(false);
    expect(hoursWithin({ from: 9n * h, to: 40n * h }, dirty)).toBe(true);
    expect(hoursWithin({ from: 4n * h, to: 40n * h }, dirty)).toBe(false);
    expect(hoursWithin({ from: -3n * h + 5n, to: -3n * h + 6n }, [{ from: -3n * h, to: -3n * h + 1n }])).toBe(true);
    expect(hoursWithin({ from: -3n * h + 5n, to: -3n * h + 6n }, [{ from: -4n * h, to: -3n * h }])).toBe(false);
  });
});
