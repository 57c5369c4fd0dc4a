// latencyStats against the real QuestDB: counts, min, max and mean exact; percentiles compared
// with exact nearest-rank percentiles computed here, within the stated bound.
import { beforeAll, describe, expect, it } from "vitest";
import { LatencyStatsDocument, type LatencyStatsQuery, type TimeBucket } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { DAY_US, type Dataset, generateDataset, HOUR_US, iso, loadDataset, STAGES } from "./support/dataset.ts";
import { type Bucket, bucketsOf, floorTo, inRange, latencyFigures } from "./support/expected.ts";

/** Bins span a factor e^(1/100); the reported value is within half a bin: (e^0.01 − 1) / 2 relative. */
const RELATIVE_TOLERANCE = (Math.exp(0.01) - 1) / 2 + 1e-12;
const PERCENTILES = ["p50", "p90", "p95", "p99", "p999"] as const;

let t: TestApp;
let ds: Dataset;
beforeAll(async () => {
  t = await startTestApp("latstats");
  ds = generateDataset(23);
  await loadDataset(t, ds);
});

type Row = LatencyStatsQuery["latencyStats"]["totals"][number];
let worst = 0;

function compare(
  actual: Row[],
  want: { bucket: bigint | null; stage: string; rows: Dataset["latency"] }[],
  what: string,
) {
  expect(
    actual.map((r) => [r.bucket, r.stage]),
    `${what}: rows`,
  ).toEqual(want.map((w) => [w.bucket === null ? null : iso(w.bucket), w.stage]));
  actual.forEach((row, i) => {
    const exact = latencyFigures(want[i]?.rows ?? []);
    expect(
      { count: row.count, minUs: row.minUs, maxUs: row.maxUs, meanUs: row.meanUs },
      `${what} row ${i} (${row.stage})`,
    ).toEqual({ count: exact.count, minUs: exact.min, maxUs: exact.max, meanUs: exact.mean });
    for (const p of PERCENTILES) {
      const got = row[`${p}Us`];
      const expected = exact[p];
      if (expected === null) {
        expect(got, `${what} row ${i} ${p}`).toBeNull();
        continue;
      }
      const error = expected === 0 ? Math.abs(got as number) : Math.abs((got as number) - expected) / expected;
      worst = Math.max(worst, error);
      expect(error, `${what} row ${i} ${row.stage} ${p}: got ${got}, exact ${expected}`).toBeLessThanOrEqual(
        RELATIVE_TOLERANCE,
      );
    }
  });
}

async function check(from: bigint, to: bigint, stage: string | null, bucket: Bucket | null) {
  const what = `${iso(from)}..${iso(to)} ${stage} ${bucket}`;
  const result = await t.gql(LatencyStatsDocument, {
    range: { from: iso(from), to: iso(to) },
    ...(stage ? { stage } : {}),
    ...(bucket ? { bucket: bucket as TimeBucket } : {}),
  });
  expect(result.errors, what).toBeUndefined();
  const stats = result.data?.latencyStats as LatencyStatsQuery["latencyStats"];
  const rows = ds.latency.filter((m) => inRange(m.micros, from, to) && (stage === null || m.stage === stage));
  // No data, no row (docs/queries.md): a named stage too has rows only when it has measurements.
  const stages = [...new Set(rows.map((m) => m.stage))].sort();
  compare(
    stats.totals,
    stages.map((s) => ({ bucket: null, stage: s, rows: rows.filter((m) => m.stage === s) })),
    `${what} totals`,
  );
  const buckets = bucket ? bucketsOf(from, to, bucket) : [];
  compare(
    stats.buckets,
    buckets.flatMap((b) =>
      stages.map((s) => ({
        bucket: b,
        stage: s,
        rows: rows.filter((m) => m.stage === s && floorTo(m.micros, bucket as Bucket) === b),
      })),
    ),
    `${what} buckets`,
  );
  return stats;
}

describe("latencyStats", () => {
  it("matches exact figures per stage over 36 hours across day partitions, per hour and per day", async () => {
    const from = ds.day0 - 6n * HOUR_US;
    const to = ds.day0 + 31n * HOUR_US;
    const stats = await check(from, to, null, "HOUR");
    expect(stats.totals.map((r) => r.stage)).toEqual([...STAGES].sort());
    expect(stats.totals.reduce((n, r) => n + r.count, 0)).toBe(ds.latency.length);
    await check(from, to, null, "DAY");
    await check(from, to, "confirm", "FOUR_HOURS");
    // The bins are doing real work: some percentile is not exact, and none is outside the bound.
    expect(worst).toBeGreaterThan(0);
  });

  it("reports hours without measurements with count 0 and null figures, and a zero-µs measurement exactly", async () => {
    const stats = await check(ds.day0 + 4n * HOUR_US, ds.day0 + 9n * HOUR_US, "sign", "HOUR");
    expect(stats.buckets.map((r) => r.count > 0)).toEqual([true, false, false, false, true]);
    expect(stats.buckets[1]).toEqual({
      bucket: iso(ds.day0 + 5n * HOUR_US),
      stage: "sign",
      count: 0,
      minUs: null,
      meanUs: null,
      p50Us: null,
      p90Us: null,
      p95Us: null,
      p99Us: null,
      p999Us: null,
      maxUs: null,
    });
    const zero = ds.latency.find((m) => m.latencyUs === 0);
    expect(zero).toBeDefined();
    const single = await check(zero?.micros as bigint, (zero?.micros as bigint) + 1n, null, "MINUTE");
    expect(single.totals).toEqual([
      {
        bucket: null,
        stage: zero?.stage,
        count: 1,
        minUs: "0",
        meanUs: 0,
        p50Us: 0,
        p90Us: 0,
        p95Us: 0,
        p99Us: 0,
        p999Us: 0,
        maxUs: "0",
      },
    ]);
  });

  it("answers one measurement with every percentile equal to it, and an empty range with no rows, for a named stage too", async () => {
    const m = ds.latency.find((x) => x.latencyUs > 1000) as Dataset["latency"][number];
    const one = await check(m.micros, m.micros + 1n, null, null);
    expect(one.totals[0]).toMatchObject({
      count: 1,
      p50Us: m.latencyUs,
      p999Us: m.latencyUs,
      minUs: String(m.latencyUs),
      maxUs: String(m.latencyUs),
    });
    const empty = await check(ds.day0 + 5n * HOUR_US, ds.day0 + 8n * HOUR_US, null, "HOUR");
    expect(empty.totals).toEqual([]);
    expect(empty.buckets).toEqual([]);
    const named = await check(ds.day0 + 5n * HOUR_US, ds.day0 + 8n * HOUR_US, "quote", "HOUR");
    expect(named.totals).toEqual([]);
    expect(named.buckets).toEqual([]);
  });

  it("splits UTC days at midnight", async () => {
    const stats = await check(ds.day0 - HOUR_US, ds.day0 + HOUR_US, "quote", "DAY");
    expect(stats.buckets.map((r) => r.bucket)).toEqual([iso(ds.day0 - DAY_US), iso(ds.day0)]);
  });
});
