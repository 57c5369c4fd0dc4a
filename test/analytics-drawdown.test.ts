// The drawdown summaries of src/analytics/drawdown.ts, as properties over random PnL series: the
// summaries of consecutive pieces (some empty) combined in order are the summary one pass over the
// whole series gives (written here from the definitions, as the SQL computes a piece), `combine` is
// associative with EMPTY as its identity, and folding the pieces in order (foldPiece, then one
// look into the piece it names for the recovery) gives what strategyDrawdowns' window statement
// gives: Freqtrade's max drawdown, its peak, and the peak, trough and recovery times. PnL values
// are multiples of 2^-6 (as the API's test data), so every partial sum is exact and the
// comparisons are `toEqual`.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  combine,
  type DrawdownSummary,
  EMPTY,
  emptyFold,
  figuresOf,
  foldPiece,
  type SummaryRow,
  single,
} from "../src/analytics/drawdown.ts";
import { hourRuns } from "../src/analytics/drawdown-periods.ts";

interface Trade {
  pnl: number;
  at: bigint;
}

/** One pass over a piece, straight from the definitions (what the SQL computes per hour). */
function direct(rows: readonly Trade[]): DrawdownSummary {
  if (rows.length === 0) return EMPTY;
  const prefix: number[] = [];
  let c = 0;
  let high = 0;
  let highAt: bigint | null = null;
  let top = Number.NEGATIVE_INFINITY;
  let topAt: bigint | null = null;
  let low = Number.POSITIVE_INFINITY;
  let drop = Number.NEGATIVE_INFINITY;
  let lowRow = 0;
  let dropRow = 0;
  const seen: SummaryRow[] = [];
  for (const { pnl, at } of rows) {
    c += pnl;
    prefix.push(c);
    if (c > top) [top, topAt] = [c, at];
    if (c > high) [high, highAt] = [c, at];
    seen.push({ n: seen.length + 1, at, high, highAt: high > 0 ? highAt : null, after: Number.NEGATIVE_INFINITY });
    if (c < low) [low, lowRow] = [c, seen.length - 1];
    if (high - c > drop) [drop, dropRow] = [high - c, seen.length - 1];
  }
  const after = (i: number) => {
    const row = seen[i] as SummaryRow;
    return { ...row, after: Math.max(Number.NEGATIVE_INFINITY, ...prefix.slice(row.n)) };
  };
  return { count: rows.length, sum: c, top, topAt, low, lowRow: after(lowRow), drop, dropRow: after(dropRow) };
}

/** strategyDrawdowns' statement, row by row: cumulative, peak = max(0, running max), dd = peak − cumulative. */
function windowStatement(rows: readonly Trade[]) {
  let cum = 0;
  let peak = 0;
  const series = rows.map(({ pnl, at }) => {
    cum += pnl;
    peak = Math.max(peak, cum);
    return { at, cum, peak, dd: peak - cum };
  });
  let trough = 0;
  series.forEach((row, i) => {
    if (row.dd > (series[trough] as (typeof series)[0]).dd) trough = i;
  });
  const t = series[trough];
  if (!t || t.dd === 0) return { maxDrawdown: 0, peak: t?.peak ?? 0, peakAt: null, troughAt: null, recoveredAt: null };
  return {
    maxDrawdown: t.dd,
    peak: t.peak,
    peakAt: t.peak > 0 ? (series.find((r) => r.cum === t.peak)?.at ?? null) : null,
    troughAt: t.at,
    recoveredAt: series.find((r, i) => i > trough && r.dd === 0)?.at ?? null,
  };
}

/** Splits a series into consecutive pieces at the given cut points (repeated cuts: empty pieces). */
function pieces<T>(rows: readonly T[], cuts: readonly number[]): T[][] {
  const at = cuts.map((c) => c % (rows.length + 1)).sort((a, b) => a - b);
  const out: T[][] = [];
  let start = 0;
  for (const cut of at) {
    out.push(rows.slice(start, cut));
    start = cut;
  }
  out.push(rows.slice(start));
  return out;
}

/** Folds the pieces in order and looks into the one piece the fold names for the recovery. */
function folded(parts: readonly Trade[][]) {
  let state = emptyFold<readonly Trade[]>();
  for (const part of parts) state = foldPiece(state, part, direct(part));
  const { recovers, ...figures } = figuresOf(state.summary);
  expect(state.recovery !== null).toBe(recovers);
  let recoveredAt: bigint | null = null;
  if (state.recovery) {
    const { piece, after, threshold } = state.recovery;
    let c = 0;
    for (const [i, row] of piece.entries()) {
      c += row.pnl;
      if (i + 1 > after && c >= threshold) {
        recoveredAt = row.at;
        break;
      }
    }
  }
  return { ...figures, recoveredAt };
}

const fold = (summaries: readonly DrawdownSummary[]) => summaries.reduce(combine, EMPTY);
const trades = (pnl: readonly number[]): Trade[] => pnl.map((x, i) => ({ pnl: x, at: BigInt(1000 + i) }));

// Small integer steps make ties (equal drawdowns, equal lows, equal highs, zero PnL) frequent.
const tiny = fc.integer({ min: -4, max: 4 }).map((n) => n / 64);
const wide = fc.integer({ min: -64_000, max: 64_000 }).map((n) => n / 64);
const losses = fc.integer({ min: -1000, max: 0 }).map((n) => n / 64);
const series = fc
  .oneof(fc.array(tiny, { maxLength: 60 }), fc.array(wide, { maxLength: 60 }), fc.array(losses, { maxLength: 30 }))
  .map(trades);
const cuts = fc.array(fc.nat(), { maxLength: 8 });
const RUNS = { numRuns: 2000 };

describe("drawdown summaries", () => {
  it("combined piece by piece, give the summary of the whole series (ties, zeros, empty pieces)", () => {
    fc.assert(
      fc.property(series, cuts, (rows, at) => {
        expect(fold(pieces(rows, at).map(direct))).toEqual(direct(rows));
      }),
      RUNS,
    );
  });

  it("combine is associative, with EMPTY as its identity", () => {
    fc.assert(
      fc.property(series, series, series, (a, b, c) => {
        const [x, y, z] = [direct(a), direct(b), direct(c)];
        expect(combine(combine(x, y), z)).toEqual(combine(x, combine(y, z)));
        expect(combine(EMPTY, x)).toEqual(x);
        expect(combine(x, EMPTY)).toEqual(x);
      }),
      RUNS,
    );
  });

  it("folded in order, give the window statement's drawdown, peak, and peak, trough and recovery times", () => {
    fc.assert(
      fc.property(series, cuts, (rows, at) => {
        expect(folded(pieces(rows, at))).toEqual(windowStatement(rows));
      }),
      RUNS,
    );
  });

  it("folded one trade at a time or in any tree of pieces, give the same summary", () => {
    fc.assert(
      fc.property(series, cuts, cuts, (rows, outer, inner) => {
        const tree = pieces(rows, outer).map((part) => fold(pieces(part, inner).map(direct)));
        expect(fold(tree)).toEqual(fold(rows.map((r) => single(r.pnl, r.at))));
      }),
      RUNS,
    );
  });

  it("names the recovery of a trough whose peak came from an earlier piece, in a later piece", () => {
    // Cumulative 5 | 1, −3 | −2, −1 | 2, 4, 5: peak 5 in the first piece, trough −3 in the second,
    // back at 5 only with the fourth piece's third trade.
    const rows = trades([5, -4, -4, 1, 1, 3, 2, 1]);
    const parts = [rows.slice(0, 1), rows.slice(1, 3), rows.slice(3, 5), rows.slice(5)];
    expect(folded(parts)).toEqual({
      maxDrawdown: 8,
      peak: 5,
      peakAt: 1000n,
      troughAt: 1002n,
      recoveredAt: 1007n,
    });
  });
});

describe("hourRuns", () => {
  const H = 3_600_000_000n;
  it("merges consecutive stale hours into runs within a day, and more than 8 runs of a day into one span", () => {
    expect(hourRuns([3n * H, H, 2n * H, 7n * H, 3n * H])).toEqual([
      { from: H, to: 4n * H },
      { from: 7n * H, to: 8n * H },
    ]);
    const scattered = Array.from({ length: 9 }, (_, i) => BigInt(i * 2) * H);
    expect(hourRuns(scattered)).toEqual([{ from: 0n, to: 17n * H }]);
    // A month of hours: one span a day, none across midnight.
    const month = Array.from({ length: 30 * 24 }, (_, i) => BigInt(i) * H);
    const days = hourRuns(month);
    expect(days).toHaveLength(30);
    expect(days[1]).toEqual({ from: 24n * H, to: 48n * H });
    // Scattered hours over two days: each day's runs apart.
    const two = [...scattered, ...scattered.map((h) => h + 24n * H)];
    expect(hourRuns(two)).toEqual([
      { from: 0n, to: 17n * H },
      { from: 24n * H, to: 41n * H },
    ]);
  });
});
