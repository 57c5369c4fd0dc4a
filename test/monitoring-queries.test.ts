// The monitoring reads the dashboard uses (issue 14), against the real QuestDB: systemMetrics
// (the instances' health samples per bucket), alertEvents (what the rules raised, from every
// instance) and latencyStats' strategy filter.
import { beforeAll, describe, expect, it } from "vitest";
import { formatIsoMicros } from "../src/time.ts";
import {
  AlertEventsDocument,
  LatencyByStrategyDocument,
  RecordLatencyMetricsDocument,
  SystemMetricsDocument,
} from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { exec, walApplied } from "./support/questdb.ts";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("monitoring", {
    SYSTEM_METRICS_INTERVAL_MS: "0",
    ALERT_INTERVAL_MS: "0",
    ALERT_RULES: JSON.stringify([{ id: "quiet", kind: "NO_TRADES", threshold: 1 }]),
  });
});

const DAY = "2026-11-20";
const RANGE = { from: `${DAY}T00:00:00Z`, to: `${DAY}T01:00:00Z` };

describe("systemMetrics", () => {
  it("gives each instance's samples per bucket: maxima of queue depth and flush time, the counters' highest values", async () => {
    const table = `${t.prefix}system_metrics`;
    // instance, minute:second, queue_depth, flush_ms, rows_written, rejected_rows
    const samples: [string, string, number, number, number, number][] = [
      ["a", "00:10", 5, 2.5, 100, 0],
      ["a", "00:40", 9, 1.5, 180, 2],
      ["b", "00:20", 1, 7.25, 50, 0],
      ["a", "02:00", 0, 3, 400, 2],
    ];
    for (const [instance, at, q, f, w, r] of samples) {
      await exec(
        `INSERT INTO ${table} (timestamp, instance, queue_depth, oldest_queued_ms, flush_ms, rows_written, retries, rejected_rows, event_loop_lag_ms, rss_bytes, cpu_percent)
         VALUES ('${DAY}T00:${at}.000000Z', '${instance}', ${q}, 0, ${f}, ${w}, 0, ${r}, 1, 1000, 5)`,
      );
    }
    await walApplied(table);
    const answer = await t.gql(SystemMetricsDocument, { range: RANGE, bucket: "MINUTE" });
    expect(answer).toEqual({
      data: {
        systemMetrics: [
          {
            bucket: `${DAY}T00:00:00.000000Z`,
            instance: "a",
            samples: 2,
            maxQueueDepth: 9,
            maxFlushMs: 2.5,
            rowsWritten: 180,
            rejectedRows: 2,
          },
          {
            bucket: `${DAY}T00:00:00.000000Z`,
            instance: "b",
            samples: 1,
            maxQueueDepth: 1,
            maxFlushMs: 7.25,
            rowsWritten: 50,
            rejectedRows: 0,
          },
          {
            bucket: `${DAY}T00:02:00.000000Z`,
            instance: "a",
            samples: 1,
            maxQueueDepth: 0,
            maxFlushMs: 3,
            rowsWritten: 400,
            rejectedRows: 2,
          },
        ],
      },
    });
  });
});

describe("alertEvents", () => {
  it("returns the events the rules raised, stored in QuestDB, newest first", async () => {
    const [fired] = await t.app.services.alerts.evaluate();
    expect(fired).toMatchObject({ ruleId: "quiet", kind: "NO_TRADES", state: "FIRING" });
    if (!fired) throw new Error("no event");
    await t.app.writer.drain();
    await walApplied(`${t.prefix}alert_events`);
    const around = { from: formatIsoMicros(fired.at - 60_000_000n), to: formatIsoMicros(fired.at + 1n) };
    const answer = await t.gql(AlertEventsDocument, { range: around });
    expect(answer).toEqual({
      data: {
        alertEvents: [
          {
            eventId: fired.eventId,
            ruleId: "quiet",
            kind: "NO_TRADES",
            state: "FIRING",
            value: fired.value,
            threshold: 1,
            at: formatIsoMicros(fired.at),
            message: fired.message,
          },
        ],
      },
    });
    // Outside the range: none.
    expect(await t.gql(AlertEventsDocument, { range: RANGE })).toEqual({ data: { alertEvents: [] } });
    expect((await t.gql(AlertEventsDocument, { range: around, first: 0 })).errors?.[0]?.message).toBe(
      "first: must be from 1 to 1000, got 0",
    );
  });
});

describe("latencyStats(strategy)", () => {
  it("counts only the measurements recorded with that strategy", async () => {
    const rows = [
      ["alpha", 100],
      ["alpha", 300],
      ["beta", 5000],
    ] as const;
    const recorded = await t.gql(RecordLatencyMetricsDocument, {
      inputs: rows.map(([strategy, latencyUs], i) => ({
        metricId: `m-${i}`,
        timestamp: `${DAY}T00:30:0${i}Z`,
        stage: "submit",
        latencyUs,
        strategy,
      })),
      durability: "COMMITTED",
    });
    expect(recorded.errors).toBeUndefined();
    await walApplied(`${t.prefix}latency_metrics`);
    const totals = async (strategy?: string) =>
      (await t.gql(LatencyByStrategyDocument, { range: RANGE, stage: "submit", ...(strategy ? { strategy } : {}) }))
        .data?.latencyStats.totals;
    expect(await totals("alpha")).toEqual([{ stage: "submit", count: 2, maxUs: "300" }]);
    expect(await totals("beta")).toEqual([{ stage: "submit", count: 1, maxUs: "5000" }]);
    expect(await totals()).toEqual([{ stage: "submit", count: 3, maxUs: "5000" }]);
  });
});
