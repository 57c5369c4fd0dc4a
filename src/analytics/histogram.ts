// Percentiles from a histogram that QuestDB builds with an ordinary, parallel GROUP BY: one row per
// bin with the bin's count and its smallest and largest value. QuestDB 9.3's approx_percentile
// (HdrHistogram) runs single-threaded and builds one histogram per percentile asked for, about
// 0.4 s per percentile per 10 million rows on our hardware; one histogram scan gives all five
// percentiles for the price of one. See docs/queries.md ("Percentiles").
//
// The reported percentile is the midpoint of the smallest and largest value in the bin that holds
// the nearest rank, so its error is at most half the bin's width (and zero when the bin holds a
// single distinct value).

export interface Bin {
  /** Bin number; bins are ordered by it. null sorts first (latency 0: ln(0) is NULL). */
  key: number | null;
  count: number;
  min: number;
  max: number;
}

/** The percentiles we report, in per mille (integers, so ranks are exact). */
export const PERCENTILES = { p50: 500, p90: 900, p95: 950, p99: 990, p999: 999 } as const;
export type PercentileName = keyof typeof PERCENTILES;

/** Nearest rank (1-based) of the `perMille`/1000 percentile of n values: ceil(perMille × n / 1000). */
export function nearestRank(perMille: number, n: number): number {
  return Math.max(1, Math.floor((perMille * n + 999) / 1000));
}

const keyOrder = (key: number | null) => (key === null ? Number.NEGATIVE_INFINITY : key);

/** Bins sorted by key, null first. */
export function sortBins<B extends Bin>(bins: B[]): B[] {
  return bins.sort((a, b) => keyOrder(a.key) - keyOrder(b.key));
}

/** Estimates each percentile from sorted bins; null when the bins are empty. */
export function percentilesFromBins(sorted: readonly Bin[], perMilles: readonly number[]): (number | null)[] {
  let total = 0;
  for (const bin of sorted) total += bin.count;
  if (total === 0) return perMilles.map(() => null);
  // One pass over the bins for every percentile (perMilles ascending, as PERCENTILES are).
  const result: (number | null)[] = perMilles.map(() => null);
  const order = perMilles.map((_, i) => i).sort((a, b) => (perMilles[a] as number) - (perMilles[b] as number));
  let next = 0;
  let seen = 0;
  for (const bin of sorted) {
    seen += bin.count;
    while (next < order.length) {
      const i = order[next] as number;
      if (seen < nearestRank(perMilles[i] as number, total)) break;
      result[i] = bin.min === bin.max ? bin.min : (bin.min + bin.max) / 2;
      next++;
    }
    if (next === order.length) break;
  }
  return result;
}

/**
 * Latency bins: floor(ln(µs) × 100), so a bin spans a factor e^(1/100) (1.005) and the reported
 * value is within 0.503 % of the exact nearest-rank percentile. 0 µs falls in the NULL bin.
 */
export const LATENCY_BIN_SQL = "floor(ln(latency_us) * 100)";
export const LATENCY_RELATIVE_ERROR = (Math.exp(1 / 100) - 1) / 2;

/**
 * Slippage bins: one basis point wide (slippage is a fraction and may be negative, which
 * HdrHistogram refuses), so the reported value is within 0.5 bp (0.00005) of the exact one.
 */
export const SLIPPAGE_BIN_SQL = "floor(actual_slippage * 10000)";
export const SLIPPAGE_ABSOLUTE_ERROR = 0.00005;
