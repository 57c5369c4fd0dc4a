// A deterministic data set for the analytics tests: trades, latency measurements and MEV records
// from a seeded generator, written through the real mutations.
//
// Exactness: amounts are multiples of 2^-8, prices of 2^-6, slippages of 2^-16, fees integers,
// PnL multiples of 2^-6. Every product and every partial sum is then exactly representable in a
// double, so sums come out identical in whatever order QuestDB adds them (in parallel, per
// worker) and the tests can compare counts, sums, VWAP, means, min, max, first and last with
// `toBe`, not with a tolerance.
//
// Shape (times relative to day0 = UTC midnight three days ago, so everything is inside the
// retention and never in the future): trades from day0 − 6 h to day0 + 30 h, 20–60 s apart, none
// in [day0 + 5 h, day0 + 8 h) (empty buckets), plus trades at day0 − 1 µs, day0 and
// day0 + 24 h − 1 µs (UTC day and partition boundaries).

import { expect } from "vitest";
import { prng } from "../../scripts/seed-data.ts";
import {
  type LatencyMetricInput,
  type MevMetricInput,
  RecordLatencyMetricsDocument,
  RecordMevMetricsDocument,
  RecordTradesDocument,
  type TradeInput,
} from "../generated/graphql.ts";
import type { TestApp } from "./app.ts";
import { viewsCaughtUp, walApplied } from "./questdb.ts";

export const HOUR_US = 3_600_000_000n;
export const DAY_US = 24n * HOUR_US;

export interface GenTrade extends TradeInput {
  tradeId: string;
  micros: bigint;
  timestamp: string;
}
export interface GenLatency extends LatencyMetricInput {
  micros: bigint;
  stage: string;
  latencyUs: number;
}
export interface GenMev extends MevMetricInput {
  micros: bigint;
  tipLamports: number;
  tipFloorLamports?: number;
}

export interface Dataset {
  day0: bigint;
  trades: GenTrade[];
  latency: GenLatency[];
  mev: GenMev[];
}

/** mulberry32: small, fast, deterministic (the demo data's generator). */
export const rng: (seed: number) => () => number = prng;

/** `2026-01-31T12:00:00.123456Z` from µs, written independently of src/time.ts. */
export function iso(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = (micros % 1000n).toString().padStart(3, "0");
  return `${new Date(Number(ms)).toISOString().slice(0, 23)}${rest}Z`;
}

export function micros(isoText: string): bigint {
  const match = /^(.*)\.(\d{6})Z$/.exec(isoText);
  if (!match) throw new Error(`unexpected timestamp ${isoText}`);
  return BigInt(Date.parse(`${match[1]}Z`)) * 1000n + BigInt(match[2] as string);
}

const PAIRS = [
  ["SOL", "USDC"],
  ["JUP", "USDC"],
  ["BONK", "SOL"],
] as const;
const MEV_STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;
const STRATEGIES = ["alpha", "beta", null] as const;
const VENUES = ["orca", "raydium", null] as const;
export const STAGES = ["quote", "build", "sign", "submit", "confirm"] as const;
const PROTECTIONS = ["JITO_BUNDLE", "PRIVATE_RPC", "NONE", "OTHER"] as const;
const OUTCOMES = ["LANDED", "FAILED", "DROPPED", "SANDWICHED", "FRONT_RUN", "BACK_RUN"] as const;

export function generateDataset(seed = 42, now = Date.now()): Dataset {
  const random = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const day0 = ((BigInt(now) * 1000n - 3n * DAY_US) / DAY_US) * DAY_US;

  const times: bigint[] = [];
  for (let t = day0 - 6n * HOUR_US; t < day0 + 30n * HOUR_US; t += BigInt(int(20_000_000, 60_000_000) + int(0, 999))) {
    if (t >= day0 + 5n * HOUR_US && t < day0 + 8n * HOUR_US) continue;
    times.push(t);
  }
  for (const edge of [day0 - 1n, day0, day0 + DAY_US - 1n]) if (!times.includes(edge)) times.push(edge);
  times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  const trades: GenTrade[] = times.map((t, i) => {
    const [baseToken, quoteToken] = pick(PAIRS);
    const baseAmount = int(1, 2560) / 256;
    const executedPrice = int(64, 12_800) / 64;
    const strategy = pick(STRATEGIES);
    const venue = pick(VENUES);
    const pnlRoll = random();
    return {
      tradeId: `gen-${String(i).padStart(5, "0")}`,
      micros: t,
      timestamp: iso(t),
      action: random() < 0.5 ? "BUY" : "SELL",
      baseToken,
      quoteToken,
      baseAmount,
      quoteAmount: baseAmount * executedPrice,
      executedPrice,
      transactionFee: int(5000, 15_000),
      priorityFee: int(0, 2_000_000),
      expectedSlippage: int(0, 3200) / 65_536,
      actualSlippage: (int(0, 4000) - 800) / 65_536,
      mevStatus: pick(MEV_STATUSES),
      transferFees: int(0, 8) / 1024,
      ...(strategy ? { strategy } : {}),
      ...(venue ? { venue } : {}),
      // A third without PnL (opening legs); some exact zeros (draws).
      ...(pnlRoll < 0.33 ? {} : { realizedPnl: pnlRoll < 0.38 ? 0 : (int(0, 1000) - 480) / 64 }),
    };
  });

  const latency: GenLatency[] = [];
  trades.forEach((trade, i) => {
    if (i % 3 !== 0) return;
    STAGES.forEach((stage, s) => {
      // Log-normal-ish integer µs from 0 (a few exact zeros) to a few seconds.
      const roll = random();
      const latencyUs = roll < 0.01 ? 0 : Math.round(Math.exp(4 + s * 0.6 + random() * 4 + random() * 3));
      latency.push({
        micros: trade.micros + BigInt(1000 * (s + 1)),
        timestamp: iso(trade.micros + BigInt(1000 * (s + 1))),
        stage,
        latencyUs,
        success: random() > 0.05,
        tradeId: trade.tradeId,
        ...(trade.strategy ? { strategy: trade.strategy } : {}),
      });
    });
  });

  const mev: GenMev[] = [];
  // The issue-16 fields draw from a generator of their own, so the rest of the data set (and the
  // other tests' figures) stays what it was.
  const extra = rng(seed + 7919);
  const extraInt = (lo: number, hi: number) => lo + Math.floor(extra() * (hi - lo + 1));
  trades.forEach((trade, i) => {
    if (i % 4 !== 1) return;
    const t = trade.micros + 400_000n;
    const own = random() < 0.4;
    const protection = pick(PROTECTIONS);
    const venue = extra() < 0.8 ? trade.venue : undefined;
    const pair = extra() < 0.8;
    const floor = protection === "JITO_BUNDLE" && extra() < 0.7;
    const computeUnits = extra() < 0.6;
    mev.push({
      micros: t,
      timestamp: iso(t),
      tradeId: trade.tradeId,
      protection,
      outcome: pick(OUTCOMES),
      tipLamports: int(0, 100_000),
      ...(own ? { expectedProfit: int(0, 640) / 64 } : {}),
      ...(own && random() < 0.8 ? { realizedProfit: (int(0, 700) - 100) / 64 } : {}),
      ...(random() < 0.5 ? { lossAvoided: int(0, 320) / 64 } : {}),
      attackDetected: random() < 0.1,
      ...(random() < 0.7 ? { slotsToLand: int(0, 40) } : {}),
      ...(trade.strategy ? { strategy: trade.strategy } : {}),
      ...(venue ? { venue } : {}),
      ...(pair ? { baseToken: trade.baseToken, quoteToken: trade.quoteToken } : {}),
      ...(floor ? { tipFloorLamports: extraInt(0, 100_000) } : {}),
      ...(computeUnits ? { computeUnits: extraInt(1, 1_400_000) } : {}),
    });
  });

  return { day0, trades, latency, mev };
}

const strip = <T extends { micros: bigint }>({ micros: _micros, ...rest }: T) => rest;

/** Writes the data set through the mutations and waits until QuestDB shows all of it. */
export async function loadDataset(t: TestApp, dataset: Dataset): Promise<void> {
  const trades = await t.gql(RecordTradesDocument, { inputs: dataset.trades.map(strip), durability: "COMMITTED" });
  expect(trades.errors).toBeUndefined();
  if (dataset.latency.length > 0) {
    const latency = await t.gql(RecordLatencyMetricsDocument, {
      inputs: dataset.latency.map(strip),
      durability: "COMMITTED",
    });
    expect(latency.errors).toBeUndefined();
  }
  if (dataset.mev.length > 0) {
    const mev = await t.gql(RecordMevMetricsDocument, { inputs: dataset.mev.map(strip), durability: "COMMITTED" });
    expect(mev.errors).toBeUndefined();
  }
  for (const table of ["trades", "latency_metrics", "mev_metrics"]) await walApplied(`${t.prefix}${table}`);
  // Statistics then read whole hours from the rollups (a lagging view would be read around).
  await viewsCaughtUp(t.prefix);
}
