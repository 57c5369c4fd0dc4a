// Independent computations of every figure the analytics queries report, straight from the
// generated records, written without the app's code (no SQL, no shared helpers).
import type { GenLatency, GenMev, GenTrade } from "./dataset.ts";

export type Bucket = "MINUTE" | "FIVE_MINUTES" | "FIFTEEN_MINUTES" | "HOUR" | "FOUR_HOURS" | "DAY" | "WEEK" | "MONTH";

const MIN_MS = 60_000;
const FIXED_MS: Partial<Record<Bucket, number>> = {
  MINUTE: MIN_MS,
  FIVE_MINUTES: 5 * MIN_MS,
  FIFTEEN_MINUTES: 15 * MIN_MS,
  HOUR: 60 * MIN_MS,
  FOUR_HOURS: 240 * MIN_MS,
  DAY: 1440 * MIN_MS,
};

/** Bucket start in µs, computed with Date arithmetic in UTC. */
export function floorTo(micros: bigint, bucket: Bucket): bigint {
  const ms = Number(micros / 1000n);
  const fixed = FIXED_MS[bucket];
  if (fixed) return BigInt(Math.floor(ms / fixed) * fixed) * 1000n;
  const d = new Date(ms);
  if (bucket === "MONTH") return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)) * 1000n;
  const daysSinceMonday = (d.getUTCDay() + 6) % 7;
  return BigInt(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - daysSinceMonday)) * 1000n;
}

export function bucketsOf(from: bigint, to: bigint, bucket: Bucket): bigint[] {
  const starts: bigint[] = [];
  // Walk minute by minute and keep every new bucket start (slow, but obviously right).
  for (let m = from; m < to; m += 60_000_000n) {
    const start = floorTo(m, bucket);
    if (starts.at(-1) !== start) starts.push(start);
  }
  const last = floorTo(to - 1n, bucket);
  if (starts.at(-1) !== last) starts.push(last);
  return starts;
}

/** Nearest-rank percentile: the value at rank ceil(q·n) of the sorted values. */
export function exactPercentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(Math.round(q * values.length * 1e9) / 1e9));
  return sorted[rank - 1] as number;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export function tradeFigures(trades: GenTrade[]) {
  const n = trades.length;
  const sorted = [...trades].sort((a, b) => (a.micros < b.micros ? -1 : 1));
  const base = sum(trades.map((t) => t.baseAmount));
  const prices = trades.map((t) => t.executedPrice);
  return {
    count: n,
    baseVolume: base,
    quoteVolume: sum(trades.map((t) => t.quoteAmount)),
    vwap: base !== 0 ? sum(trades.map((t) => t.executedPrice * t.baseAmount)) / base : null,
    minPrice: n ? Math.min(...prices) : null,
    maxPrice: n ? Math.max(...prices) : null,
    firstPrice: sorted[0]?.executedPrice ?? null,
    lastPrice: sorted.at(-1)?.executedPrice ?? null,
    transactionFees: String(sum(trades.map((t) => Number(t.transactionFee)))),
    priorityFees: String(sum(trades.map((t) => Number(t.priorityFee)))),
    totalFees: String(sum(trades.map((t) => Number(t.transactionFee) + Number(t.priorityFee)))),
    transferFees: sum(trades.map((t) => t.transferFees)),
    meanSlippage: n ? sum(trades.map((t) => t.actualSlippage)) / n : null,
    p95Slippage: exactPercentile(
      trades.map((t) => t.actualSlippage),
      0.95,
    ),
    meanSlippageError: n ? sum(trades.map((t) => t.actualSlippage - t.expectedSlippage)) / n : null,
    overExpectedSlippageShare: n ? trades.filter((t) => t.actualSlippage > t.expectedSlippage).length / n : null,
  };
}

export type TradeGroupKey = "PAIR" | "STRATEGY" | "ACTION" | "MEV_STATUS" | "VENUE";

export function tradeGroup(t: GenTrade, groupBy: TradeGroupKey[]) {
  return {
    baseToken: groupBy.includes("PAIR") ? t.baseToken : null,
    quoteToken: groupBy.includes("PAIR") ? t.quoteToken : null,
    strategy: groupBy.includes("STRATEGY") ? (t.strategy ?? null) : null,
    action: groupBy.includes("ACTION") ? t.action : null,
    mevStatus: groupBy.includes("MEV_STATUS") ? t.mevStatus : null,
    venue: groupBy.includes("VENUE") ? (t.venue ?? null) : null,
  };
}

/** Groups in the API's order: by the grouped columns' values, nulls first. */
export function groupsOf<G extends Record<string, string | null>>(groups: G[], order: (keyof G)[]): G[] {
  const unique = new Map(groups.map((g) => [JSON.stringify(order.map((k) => g[k])), g]));
  return [...unique.values()].sort((a, b) => {
    for (const key of order) {
      const x = a[key];
      const y = b[key];
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      return (x as string) < (y as string) ? -1 : 1;
    }
    return 0;
  });
}

export const inRange = (micros: bigint, from: bigint, to: bigint) => micros >= from && micros < to;

export function latencyFigures(rows: GenLatency[]) {
  const values = rows.map((r) => r.latencyUs);
  const n = values.length;
  return {
    count: n,
    failures: rows.filter((r) => r.success === false).length,
    min: n ? String(Math.min(...values)) : null,
    max: n ? String(Math.max(...values)) : null,
    mean: n ? sum(values) / n : null,
    p50: exactPercentile(values, 0.5),
    p90: exactPercentile(values, 0.9),
    p95: exactPercentile(values, 0.95),
    p99: exactPercentile(values, 0.99),
    p999: exactPercentile(values, 0.999),
  };
}

/**
 * The agreement table of an MEV outcome and its trade's mevStatus, written out (issue 16): the
 * statuses each outcome agrees with.
 */
export const AGREES: Record<string, string[]> = {
  LANDED: ["PROTECTED", "UNPROTECTED", "UNKNOWN"],
  FAILED: ["PROTECTED", "UNPROTECTED", "UNKNOWN"],
  DROPPED: ["PROTECTED", "UNPROTECTED", "UNKNOWN"],
  SANDWICHED: ["SANDWICHED", "UNKNOWN"],
  FRONT_RUN: ["FRONT_RUN", "UNKNOWN"],
  BACK_RUN: ["BACK_RUN", "UNKNOWN"],
};

export function mevFigures(rows: GenMev[], tradeOf: (tradeId: string) => GenTrade | undefined) {
  const n = rows.length;
  const outcome = (name: string) => rows.filter((r) => r.outcome === name).length;
  const attacks = outcome("SANDWICHED") + outcome("FRONT_RUN") + outcome("BACK_RUN");
  const bundles = rows.filter((r) => r.protection === "JITO_BUNDLE");
  const landed = (r: GenMev) => r.outcome !== "FAILED" && r.outcome !== "DROPPED";
  const landedBundles = bundles.filter(landed);
  const floored = landedBundles.filter((r) => r.tipFloorLamports != null);
  const withSlots = rows.filter((r) => landed(r) && r.slotsToLand != null).map((r) => r.slotsToLand as number);
  const own = rows.filter((r) => r.expectedProfit != null);
  const expected = sum(own.map((r) => r.expectedProfit as number));
  const realized = sum(own.map((r) => r.realizedProfit ?? 0));
  const tips = sum(rows.map((r) => r.tipLamports));
  const linked = rows.flatMap((r) => {
    const trade = r.tradeId ? tradeOf(r.tradeId) : undefined;
    return trade ? [{ r, trade }] : [];
  });
  const priority = sum(linked.map(({ trade }) => Number(trade.priorityFee)));
  const withUnits = linked.filter(({ r }) => r.computeUnits != null);
  const units = sum(withUnits.map(({ r }) => r.computeUnits as number));
  const lossAvoided = sum(rows.map((r) => r.lossAvoided ?? 0));
  const tokens = [...new Set(rows.map((r) => r.quoteToken ?? null))].sort((a, b) =>
    a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1,
  );
  const byCurrency = tokens.map((token) => {
    const of = rows.filter((r) => (r.quoteToken ?? null) === token);
    const ownOf = of.filter((r) => r.expectedProfit != null);
    const e = sum(ownOf.map((r) => r.expectedProfit as number));
    const z = sum(ownOf.map((r) => r.realizedProfit ?? 0));
    return {
      token,
      transactions: of.length,
      lossAvoided: sum(of.map((r) => r.lossAvoided ?? 0)),
      opportunities: ownOf.length,
      expectedProfit: e,
      realizedProfit: z,
      captureRatio: ownOf.length && e !== 0 ? z / e : null,
    };
  });
  const slotCount = (test: (slots: number) => boolean) => withSlots.filter(test).length;
  const slotBuckets = [
    ["0", slotCount((s) => s === 0)],
    ["1", slotCount((s) => s === 1)],
    ["2", slotCount((s) => s === 2)],
    ["3+", slotCount((s) => s >= 3)],
  ] as const;
  const floorSum = sum(floored.map((r) => r.tipFloorLamports as number));
  return {
    transactions: n,
    protectedShare: n ? rows.filter((r) => r.protection !== "NONE").length / n : null,
    attacks,
    attackRate: n ? attacks / n : null,
    sandwiched: outcome("SANDWICHED"),
    frontRun: outcome("FRONT_RUN"),
    backRun: outcome("BACK_RUN"),
    landed: rows.filter(landed).length,
    landingRate: n ? rows.filter(landed).length / n : null,
    slotsToLand: slotBuckets.map(([slots, count]) => ({
      slots,
      count,
      share: withSlots.length ? count / withSlots.length : null,
    })),
    bundles: bundles.length,
    bundlesLanded: landedBundles.length,
    bundleLandingRate: bundles.length ? landedBundles.length / bundles.length : null,
    tipsLamports: String(tips),
    landedBundleTips: landedBundles.map((r) => r.tipLamports),
    tipOverFloor: {
      bundles: floored.length,
      meanExcessLamports: floored.length
        ? sum(floored.map((r) => r.tipLamports - (r.tipFloorLamports as number))) / floored.length
        : null,
      ratio: floorSum > 0 ? sum(floored.map((r) => r.tipLamports)) / floorSum : null,
    },
    priorityFeesLamports: String(priority),
    priorityFeePerComputeUnit:
      units > 0 ? (sum(withUnits.map(({ trade }) => Number(trade.priorityFee))) * 1e6) / units : null,
    linkedTrades: linked.length,
    statusMismatches: linked.filter(({ r, trade }) => !AGREES[r.outcome]?.includes(trade.mevStatus)).length,
    lossAvoided,
    byCurrency,
    opportunities: own.length,
    expectedProfit: expected,
    realizedProfit: realized,
    captureRatio: own.length && expected !== 0 ? realized / expected : null,
    netBenefit: (solPrice: number) => lossAvoided - ((tips + priority) / 1e9) * solPrice,
    /** Converted parts only, in token order, then the lamport costs at the price of SOL. */
    netBenefitAt: (prices: Record<string, number>) => {
      let value = 0;
      const unconvertedTokens: (string | null)[] = [];
      for (const c of byCurrency) {
        if (c.lossAvoided === 0) continue;
        const price = c.token === null ? undefined : prices[c.token];
        if (price === undefined) unconvertedTokens.push(c.token);
        else value += c.lossAvoided * price;
      }
      if (tips + priority !== 0) {
        const sol = prices.SOL;
        if (sol === undefined) {
          if (!unconvertedTokens.includes("SOL")) unconvertedTokens.push("SOL");
        } else value -= ((tips + priority) / 1e9) * sol;
      }
      return { value, unconvertedTokens };
    },
  };
}

/** Freqtrade-style performance over trades sorted by (timestamp, tradeId). */
export function performanceFigures(trades: GenTrade[], startingBalance: number | null) {
  const sorted = [...trades].sort((a, b) =>
    a.micros === b.micros ? (a.tradeId < b.tradeId ? -1 : 1) : a.micros < b.micros ? -1 : 1,
  );
  const closed = sorted.filter((t) => t.realizedPnl != null).map((t) => t.realizedPnl as number);
  const wins = closed.filter((p) => p > 0);
  const losses = closed.filter((p) => p < 0);
  const grossProfit = sum(wins);
  const grossLoss = sum(losses.map((p) => -p));
  const n = closed.length;
  const averageWin = wins.length ? grossProfit / wins.length : 0;
  const averageLoss = losses.length ? grossLoss / losses.length : 0;
  const winRate = n ? wins.length / n : null;
  const lossRate = n ? losses.length / n : null;
  // Drawdown as freqtrade/data/metrics.py _calc_drawdown_series: high = max(0, cummax(cumsum)).
  let cumulative = 0;
  let high = 0;
  let maxDrawdown = 0;
  let highAtMax = 0;
  for (const pnl of closed) {
    cumulative += pnl;
    high = Math.max(high, cumulative);
    if (high - cumulative > maxDrawdown) {
      maxDrawdown = high - cumulative;
      highAtMax = high;
    }
  }
  const base = (startingBalance ?? 0) + highAtMax;
  return {
    trades: trades.length,
    closedTrades: n,
    baseVolume: sum(trades.map((t) => t.baseAmount)),
    quoteVolume: sum(trades.map((t) => t.quoteAmount)),
    transactionFees: String(sum(trades.map((t) => Number(t.transactionFee)))),
    priorityFees: String(sum(trades.map((t) => Number(t.priorityFee)))),
    transferFees: sum(trades.map((t) => t.transferFees)),
    realizedPnl: sum(closed),
    wins: wins.length,
    losses: losses.length,
    draws: n - wins.length - losses.length,
    winRate,
    grossProfit,
    grossLoss,
    profitFactor: grossLoss > 0 ? grossProfit / grossLoss : null,
    averageWin: wins.length ? averageWin : null,
    averageLoss: losses.length ? averageLoss : null,
    expectancy: n ? (winRate as number) * averageWin - (lossRate as number) * averageLoss : null,
    expectancyRatio: averageLoss > 0 ? (1 + averageWin / averageLoss) * (winRate as number) - 1 : null,
    maxDrawdown,
    maxDrawdownRelative: maxDrawdown === 0 ? 0 : base > 0 ? maxDrawdown / base : null,
  };
}
