// Pure units of the analytics layer: calendar buckets, percentiles from bins, request contexts.
import { describe, expect, it } from "vitest";
import { createQueryCache } from "../src/analytics/cache.ts";
import { nearestRank, percentilesFromBins, sortBins } from "../src/analytics/histogram.ts";
import { bucketStart, checkRange, nextBucket } from "../src/analytics/range.ts";
import { createContext, forEvent } from "../src/context.ts";
import { parseIsoMicros } from "../src/time.ts";

const at = (text: string) => parseIsoMicros(text) as bigint;

describe("calendar buckets (UTC)", () => {
  it("floors to the start of the minute, hour, four hours, day, ISO week (Monday) and month", () => {
    const t = at("2024-02-29T23:59:59.999999Z"); // a Thursday in a leap year
    expect(bucketStart(t, "MINUTE")).toBe(at("2024-02-29T23:59:00Z"));
    expect(bucketStart(t, "FIFTEEN_MINUTES")).toBe(at("2024-02-29T23:45:00Z"));
    expect(bucketStart(t, "FOUR_HOURS")).toBe(at("2024-02-29T20:00:00Z"));
    expect(bucketStart(t, "DAY")).toBe(at("2024-02-29T00:00:00Z"));
    expect(bucketStart(t, "WEEK")).toBe(at("2024-02-26T00:00:00Z"));
    expect(bucketStart(t, "MONTH")).toBe(at("2024-02-01T00:00:00Z"));
    expect(bucketStart(at("2024-03-04T00:00:00Z"), "WEEK")).toBe(at("2024-03-04T00:00:00Z"));
    expect(bucketStart(at("1969-12-31T23:30:00Z"), "HOUR")).toBe(at("1969-12-31T23:00:00Z"));
  });

  it("steps across month and year ends", () => {
    expect(nextBucket(at("2024-12-01T00:00:00Z"), "MONTH")).toBe(at("2025-01-01T00:00:00Z"));
    expect(nextBucket(at("2024-02-01T00:00:00Z"), "MONTH")).toBe(at("2024-03-01T00:00:00Z"));
    expect(nextBucket(at("2024-12-30T00:00:00Z"), "WEEK")).toBe(at("2025-01-06T00:00:00Z"));
  });

  it("lists every bucket a range touches, the first one starting before the range", () => {
    expect(checkRange({ from: at("2024-01-31T10:30:00Z"), to: at("2024-03-01T00:00:00Z") }, "MONTH")).toEqual([
      at("2024-01-01T00:00:00Z"),
      at("2024-02-01T00:00:00Z"),
    ]);
    expect(checkRange({ from: at("2024-01-01T00:00:00Z"), to: at("2024-01-01T00:00:00.000001Z") }, "DAY")).toEqual([
      at("2024-01-01T00:00:00Z"),
    ]);
  });
});

describe("percentiles from bins", () => {
  it("uses the nearest rank ceil(q·n) in integer arithmetic", () => {
    expect(nearestRank(950, 20)).toBe(19);
    expect(nearestRank(500, 1)).toBe(1);
    expect(nearestRank(999, 1000)).toBe(999);
    expect(nearestRank(999, 1001)).toBe(1000);
    expect(nearestRank(500, 0)).toBe(1);
  });

  it("reports the bin's value when it holds one, else the midpoint of its smallest and largest value", () => {
    const bins = sortBins([
      { key: 5, count: 2, min: 150, max: 154 },
      { key: null, count: 1, min: 0, max: 0 },
      { key: 3, count: 7, min: 20, max: 20 },
    ]);
    // Sorted values: 0, 20×7, 150, 154 (n = 10).
    expect(percentilesFromBins(bins, [100, 500, 800, 900, 1000])).toEqual([0, 20, 20, 152, 152]);
    // One pass serves the percentiles in any order, each as if asked alone.
    expect(percentilesFromBins(bins, [1000, 100, 900, 500])).toEqual([152, 0, 152, 20]);
    for (const perMille of [1, 100, 101, 799, 800, 801, 999, 1000]) {
      expect(percentilesFromBins(bins, [perMille, 500])[0]).toEqual(percentilesFromBins(bins, [perMille])[0]);
    }
    expect(percentilesFromBins([], [500])).toEqual([null]);
  });
});

describe("request contexts", () => {
  it("gives each subscription event fresh reads and loaders, and keeps the caller", () => {
    const runner = { query: async () => [], stats: () => ({ statements: 0, failed: 0, byName: {}, rowsByName: {} }) };
    const cache = createQueryCache({ runner, maxBytes: 1024 });
    const services = { cache, tables: { latency_metrics: "l", mev_metrics: "m" } } as unknown as Parameters<
      typeof createContext
    >[0];
    const context = { ...createContext(services), caller: { name: "bot", role: "reader" as const } };
    let views = 0;
    const forRequest = cache.forRequest;
    cache.forRequest = () => {
      views++;
      return forRequest();
    };
    const event = forEvent(context);
    expect(views).toBe(0); // made on first use only: most event selections need neither
    expect(event.reads).toBe(event.reads);
    expect(event.loaders).toBe(event.loaders);
    expect(views).toBe(1);
    expect(event.reads).not.toBe(context.reads);
    expect(event.loaders).not.toBe(context.loaders);
    expect(event.caller).toBe(context.caller);
    expect(event.services).toBe(context.services);
  });
});
