// The demo data of `npm run seed` (scripts/seed-data.ts) has the features the dashboard is meant to
// show: several strategies and pairs, MEV outcomes that depend on the protection, latency with
// heavy tails, losing streaks; and it is the same for the same seed and end.
import { describe, expect, it } from "vitest";
import { type SeedEvent, seedEvents } from "../scripts/seed-data.ts";
import { statusAgrees } from "../src/analytics/mev-vocabulary.ts";

const END = Date.parse("2026-11-20T00:00:00Z");
const events: SeedEvent[] = [...seedEvents({ days: 3, tradesPerDay: 4000, strategies: 4, pairs: 4, end: END })];

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
};

describe("seed data", () => {
  it("spreads the trades over the days, strategies and pairs, oldest first, all before the end", () => {
    expect(events.length).toBe(12_000);
    const times = events.map((e) => Date.parse(e.trade.timestamp));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(END - 3 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(END);
    expect(new Set(events.map((e) => e.trade.strategy)).size).toBe(4);
    expect(new Set(events.map((e) => `${e.trade.baseToken}/${e.trade.quoteToken}`)).size).toBe(4);
    expect(new Set(events.map((e) => e.trade.tradeId)).size).toBe(12_000);
  });

  it("gets public transactions attacked far more often than Jito bundles, and some bundles do not land", () => {
    const rate = (protection: string, outcomes: string[]) => {
      const rows = events.filter((e) => e.mev.protection === protection);
      return rows.filter((e) => outcomes.includes(e.mev.outcome)).length / rows.length;
    };
    const attacks = ["SANDWICHED", "FRONT_RUN", "BACK_RUN"];
    expect(rate("NONE", attacks)).toBeGreaterThan(0.08);
    expect(rate("JITO_BUNDLE", attacks)).toBeLessThan(0.02);
    expect(rate("JITO_BUNDLE", ["DROPPED"])).toBeGreaterThan(0.05);
    // A trade's MEV status agrees with its MEV row.
    for (const { trade, mev } of events) {
      if (attacks.includes(mev.outcome)) expect(trade.mevStatus).toBe(mev.outcome);
      else if (mev.outcome === "LANDED")
        expect(trade.mevStatus).toBe(mev.protection === "NONE" ? "UNPROTECTED" : "PROTECTED");
      else expect(trade.mevStatus).toBe("UNKNOWN");
      // So mevEffectiveness.statusMismatches is 0 on the demo data (the vocabulary's table).
      expect(statusAgrees(mev.outcome, trade.mevStatus)).toBe(true);
      // Issue 16: the MEV row carries its trade's pair and venue.
      expect([mev.baseToken, mev.quoteToken, mev.venue]).toEqual([trade.baseToken, trade.quoteToken, trade.venue]);
    }
  });

  it("gives every trade six latency stages, e2e their sum, with heavy tails", () => {
    for (const { latency } of events.slice(0, 500)) {
      expect(latency.map((l) => l.stage)).toEqual(["quote", "build", "sign", "submit", "confirm", "e2e"]);
      const stages = latency.slice(0, 5).reduce((sum, l) => sum + l.latencyUs, 0);
      expect(latency[5]?.latencyUs).toBe(stages);
    }
    // One strategy (one latency scale): its submit stage's log-normal body (sigma 0.6) alone puts
    // p99.9 at e^(0.6 × 3.09) ≈ 6.4 × p50; the Pareto tail of 2 % of the samples goes further.
    const submit = events
      .filter((e) => e.trade.strategy === "momentum_v2")
      .map((e) => e.latency[3]?.latencyUs as number);
    expect(quantile(submit, 0.999) / quantile(submit, 0.5)).toBeGreaterThan(8);
  });

  it("has losing streaks of at least 5 closed trades in a row for some strategy", () => {
    let longest = 0;
    for (const strategy of new Set(events.map((e) => e.trade.strategy))) {
      let run = 0;
      for (const { trade } of events) {
        if (trade.strategy !== strategy || trade.realizedPnl === undefined) continue;
        run = trade.realizedPnl < 0 ? run + 1 : 0;
        longest = Math.max(longest, run);
      }
    }
    expect(longest).toBeGreaterThanOrEqual(5);
  });

  it("is the same for the same seed and end", () => {
    const again = [...seedEvents({ days: 3, tradesPerDay: 4000, strategies: 4, pairs: 4, end: END })];
    expect(again).toEqual(events);
  });
});
