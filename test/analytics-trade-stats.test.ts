// tradeStats against the real QuestDB through the real HTTP server, every figure compared with an
// independent computation over the generated records (test/support/expected.ts).
import { beforeAll, describe, expect, it } from "vitest";
import {
  type TimeBucket,
  TradeStatsDocument,
  type TradeStatsQuery,
  TradeTransferFeesDocument,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { DAY_US, type Dataset, generateDataset, HOUR_US, iso, loadDataset, micros } from "./support/dataset.ts";
import {
  type Bucket,
  bucketsOf,
  floorTo,
  groupsOf,
  inRange,
  type TradeGroupKey,
  tradeFigures,
  tradeGroup,
} from "./support/expected.ts";

/** p95 slippage comes from 1-basis-point bins: within half a bin of the exact value. */
const P95_TOLERANCE = 0.00005;

let t: TestApp;
let ds: Dataset;
beforeAll(async () => {
  t = await startTestApp("tradestats");
  ds = generateDataset(7);
  await loadDataset(t, ds);
});

type Row = NonNullable<TradeStatsQuery["tradeStats"]>["totals"][number];
const GROUP_ORDER = ["baseToken", "quoteToken", "strategy", "action", "mevStatus", "venue"] as const;

function expected(from: bigint, to: bigint, bucket: Bucket | null, groupBy: TradeGroupKey[]) {
  const trades = ds.trades.filter((trade) => inRange(trade.micros, from, to));
  const row = (bucketStart: bigint | null, group: ReturnType<typeof tradeGroup>, rows: typeof trades) => ({
    bucket: bucketStart === null ? null : iso(bucketStart),
    group,
    ...tradeFigures(rows),
  });
  const sameGroup = (a: ReturnType<typeof tradeGroup>, b: ReturnType<typeof tradeGroup>) =>
    JSON.stringify(a) === JSON.stringify(b);
  const groups = groupsOf(
    trades.map((trade) => tradeGroup(trade, groupBy)),
    [...GROUP_ORDER],
  );
  // No data, no row (docs/queries.md): ungrouped, the one group exists when the range has a trade.
  const ungrouped = trades.length > 0 ? [tradeGroup(ds.trades[0] as (typeof ds.trades)[number], [])] : [];
  const totals =
    groupBy.length === 0
      ? ungrouped.map((g) => row(null, g, trades))
      : groups.map((g) =>
          row(
            null,
            g,
            trades.filter((trade) => sameGroup(tradeGroup(trade, groupBy), g)),
          ),
        );
  const buckets = !bucket
    ? []
    : bucketsOf(from, to, bucket).flatMap((start) =>
        (groupBy.length === 0 ? ungrouped : groups).map((g) =>
          row(
            start,
            g,
            trades.filter(
              (trade) => floorTo(trade.micros, bucket) === start && sameGroup(tradeGroup(trade, groupBy), g),
            ),
          ),
        ),
      );
  return { totals, buckets };
}

/** Exact equality for every figure but p95, which must be within P95_TOLERANCE. */
function compare(actual: Row[], want: ReturnType<typeof expected>["totals"], what: string) {
  expect(actual.length, `${what}: rows`).toBe(want.length);
  actual.forEach((row, i) => {
    const { p95Slippage, ...rest } = row;
    const { p95Slippage: wantP95, ...wantRest } = want[i] as (typeof want)[number];
    expect(rest, `${what} row ${i}`).toEqual(wantRest);
    if (wantP95 === null) expect(p95Slippage, `${what} row ${i} p95`).toBeNull();
    else expect(Math.abs((p95Slippage as number) - wantP95), `${what} row ${i} p95`).toBeLessThanOrEqual(P95_TOLERANCE);
  });
}

async function check(from: bigint, to: bigint, bucket: Bucket | null, groupBy: TradeGroupKey[]) {
  const what = `${iso(from)}..${iso(to)} ${bucket} [${groupBy}]`;
  const result = await t.gql(TradeStatsDocument, {
    range: { from: iso(from), to: iso(to) },
    ...(bucket ? { bucket: bucket as TimeBucket } : {}),
    groupBy,
  });
  expect(result.errors, what).toBeUndefined();
  const stats = result.data?.tradeStats;
  const want = expected(from, to, bucket, groupBy);
  expect(stats?.from).toBe(iso(from));
  expect(stats?.bucket).toBe(bucket);
  compare(stats?.totals ?? [], want.totals, `${what} totals`);
  compare(stats?.buckets ?? [], want.buckets, `${what} buckets`);
  return stats;
}

describe("tradeStats", () => {
  it("matches an independent computation over 36 hours across three day partitions, ungrouped and by every group key", async () => {
    const from = ds.day0 - 6n * HOUR_US;
    const to = ds.day0 + 30n * HOUR_US;
    const stats = await check(from, to, "HOUR", []);
    expect(stats?.totals[0]?.count).toBe(ds.trades.length);
    for (const groupBy of [
      ["PAIR"],
      ["STRATEGY"],
      ["ACTION"],
      ["MEV_STATUS"],
      ["VENUE"],
      ["PAIR", "STRATEGY"],
    ] as const) {
      await check(from, to, null, [...groupBy]);
    }
  });

  it("folds the totals from the buckets' rows when both are asked for, without statements of their own", async () => {
    const byName = () => t.app.services.sql.stats().byName;
    const count = (prefix: string) =>
      Object.entries(byName())
        .filter(([name]) => name.startsWith(prefix))
        .reduce((sum, [, n]) => sum + n, 0);
    // A range no other test asks for, so nothing comes from the cache.
    const from = ds.day0 - 5n * HOUR_US + 13n;
    const to = ds.day0 + 29n * HOUR_US - 17n;
    const [totals, buckets] = [count("tradeStats.totals."), count("tradeStats.buckets.")];
    await check(from, to, "HOUR", ["PAIR"]);
    expect(count("tradeStats.totals.") - totals).toBe(0);
    expect(count("tradeStats.buckets.") - buckets).toBeGreaterThan(0);
    // Totals alone read on their own.
    await check(from, to, null, ["PAIR"]);
    expect(count("tradeStats.totals.") - totals).toBeGreaterThan(0);
  });

  it("reports buckets without trades with count 0 and null prices, and keeps the hour buckets aligned to UTC", async () => {
    const stats = await check(ds.day0 + 4n * HOUR_US, ds.day0 + 9n * HOUR_US, "HOUR", []);
    expect(stats?.buckets.map((b) => [b.bucket, b.count > 0])).toEqual([
      [iso(ds.day0 + 4n * HOUR_US), true],
      [iso(ds.day0 + 5n * HOUR_US), false],
      [iso(ds.day0 + 6n * HOUR_US), false],
      [iso(ds.day0 + 7n * HOUR_US), false],
      [iso(ds.day0 + 8n * HOUR_US), true],
    ]);
    const empty = stats?.buckets[1];
    expect(empty).toEqual({
      bucket: iso(ds.day0 + 5n * HOUR_US),
      group: { baseToken: null, quoteToken: null, strategy: null, action: null, mevStatus: null, venue: null },
      count: 0,
      baseVolume: 0,
      quoteVolume: 0,
      vwap: null,
      minPrice: null,
      maxPrice: null,
      firstPrice: null,
      lastPrice: null,
      transactionFees: "0",
      priorityFees: "0",
      totalFees: "0",
      transferFees: 0,
      meanSlippage: null,
      p95Slippage: null,
      meanSlippageError: null,
      overExpectedSlippageShare: null,
    });
  });

  it("fills every bucket of every group that traded in the range", async () => {
    await check(ds.day0 + 3n * HOUR_US, ds.day0 + 10n * HOUR_US, "HOUR", ["PAIR", "VENUE"]);
  });

  it("splits UTC days exactly at midnight: a trade at 23:59:59.999999 and one at 00:00:00 land in different days", async () => {
    const before = ds.trades.find((trade) => trade.micros === ds.day0 - 1n);
    const at = ds.trades.find((trade) => trade.micros === ds.day0);
    expect(before && at).toBeTruthy();
    const stats = await check(ds.day0 - 6n * HOUR_US, ds.day0 + 30n * HOUR_US, "DAY", ["STRATEGY"]);
    const days = [...new Set(stats?.buckets.map((b) => b.bucket))];
    expect(days).toEqual([iso(ds.day0 - DAY_US), iso(ds.day0), iso(ds.day0 + DAY_US)]);
    // Last price of the previous day is the 23:59:59.999999 trade, first of the day the 00:00 one.
    const prevDay = await check(ds.day0 - HOUR_US, ds.day0 + HOUR_US, "DAY", []);
    expect(prevDay?.buckets[0]?.lastPrice).toBe(before?.executedPrice);
    expect(prevDay?.buckets[1]?.firstPrice).toBe(at?.executedPrice);
  });

  it("matches for every bucket size, including calendar weeks and months and ranges that start mid-bucket", async () => {
    const from = ds.day0 - 6n * HOUR_US + 1_234_567n;
    const to = ds.day0 + 30n * HOUR_US;
    for (const bucket of ["MINUTE", "FIVE_MINUTES", "FIFTEEN_MINUTES", "FOUR_HOURS", "WEEK", "MONTH"] as const) {
      await check(
        from,
        bucket === "MINUTE" ? from + 3n * HOUR_US : to,
        bucket,
        bucket === "FOUR_HOURS" ? ["ACTION"] : [],
      );
    }
  });

  it("answers a range with one trade, and an empty range with no rows, grouped or not", async () => {
    const one = await check(ds.day0, ds.day0 + 1n, "MINUTE", []);
    expect(one?.totals[0]?.count).toBe(1);
    expect(one?.totals[0]?.p95Slippage).toBe(ds.trades.find((trade) => trade.micros === ds.day0)?.actualSlippage);
    const empty = await check(ds.day0 + 5n * HOUR_US, ds.day0 + 8n * HOUR_US, "HOUR", []);
    expect(empty?.totals).toEqual([]);
    expect(empty?.buckets).toEqual([]);
    const grouped = await check(ds.day0 + 5n * HOUR_US, ds.day0 + 8n * HOUR_US, "HOUR", ["PAIR"]);
    expect(grouped?.totals).toEqual([]);
    expect(grouped?.buckets).toEqual([]);
  });

  it("refuses an empty or reversed range and too many buckets, saying how to fix it", async () => {
    const reversed = await t.gql(TradeStatsDocument, {
      range: { from: iso(ds.day0), to: iso(ds.day0) },
      groupBy: [],
    });
    expect(reversed.errors?.[0]?.message).toBe(
      `range: from (${iso(ds.day0)}) must be before to (${iso(ds.day0)}); to is exclusive`,
    );
    expect(reversed.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const tooMany = await t.gql(TradeStatsDocument, {
      range: { from: iso(ds.day0 - 8n * DAY_US), to: iso(ds.day0) },
      bucket: "MINUTE",
    });
    expect(tooMany.errors?.[0]?.message).toBe(
      "bucket: the range holds more than 10000 MINUTE buckets; choose a larger bucket or a shorter range",
    );
  });

  it("reports transfer fees per quote token, never added across currencies, in totals and buckets", async () => {
    const from = ds.day0 - 6n * HOUR_US;
    const to = ds.day0 + 30n * HOUR_US;
    for (const [bucket, groupBy] of [
      [null, []],
      ["DAY", ["STRATEGY"]],
      ["FOUR_HOURS", ["PAIR", "ACTION"]],
    ] as [Bucket | null, TradeGroupKey[]][]) {
      const what = `${bucket} [${groupBy}]`;
      const r = await t.gql(TradeTransferFeesDocument, {
        range: { from: iso(from), to: iso(to) },
        ...(bucket ? { bucket: bucket as TimeBucket } : {}),
        groupBy,
      });
      expect(r.errors, what).toBeUndefined();
      const trades = ds.trades.filter((trade) => inRange(trade.micros, from, to));
      // Per quote token, in name order, summed in JavaScript (amounts are multiples of 2^-10: exact).
      const byCurrency = (rows: typeof trades) =>
        [...new Set(rows.map((trade) => trade.quoteToken))].sort().map((token) => ({
          token,
          amount: rows.filter((trade) => trade.quoteToken === token).reduce((a, trade) => a + trade.transferFees, 0),
        }));
      const key = (g: object) => JSON.stringify(g);
      const data = r.data?.tradeStats;
      for (const row of data?.totals ?? []) {
        const rows = trades.filter((trade) => key(tradeGroup(trade, groupBy)) === key(row.group));
        expect(row.transferFeesByCurrency, `${what} totals`).toEqual(byCurrency(rows));
      }
      expect(data?.totals.length).toBe(expected(from, to, bucket, groupBy).totals.length);
      for (const row of data?.buckets ?? []) {
        const rows = trades.filter(
          (trade) =>
            key(tradeGroup(trade, groupBy)) === key(row.group) &&
            iso(floorTo(trade.micros, bucket as Bucket)) === row.bucket,
        );
        expect(row.transferFeesByCurrency, `${what} ${row.bucket}`).toEqual(byCurrency(rows));
      }
      if (bucket) expect(data?.buckets.length).toBe(expected(from, to, bucket, groupBy).buckets.length);
    }
  });

  it("agrees with itself whatever order groupBy lists its keys in", async () => {
    const range = { from: iso(ds.day0), to: iso(ds.day0 + 6n * HOUR_US) };
    const a = await t.gql(TradeStatsDocument, { range, groupBy: ["VENUE", "PAIR"] });
    const b = await t.gql(TradeStatsDocument, { range, groupBy: ["PAIR", "VENUE", "PAIR"] });
    expect(a.data?.tradeStats.totals).toEqual(b.data?.tradeStats.totals);
    expect(a.data?.tradeStats.groupBy).toEqual(["PAIR", "VENUE"]);
  });
});

// Keep the helper honest: the generator's timestamps survive the ISO round trip.
it("the generator's timestamps round-trip through ISO text", () => {
  for (const trade of generateDataset(7).trades.slice(0, 50)) expect(micros(trade.timestamp)).toBe(trade.micros);
});
