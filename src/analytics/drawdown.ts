// Max drawdown from summaries of consecutive pieces of the PnL series (issue 13, point 3): a 30-day
// drawdown takes one summary per hour and group (drawdown-periods.ts: kept under the hour's
// fingerprint, recomputed when it changes) plus the partial edges read raw, and folds them in time
// order here, instead of running window functions over every closed trade of the range.
//
// The drawdown is Freqtrade's _calc_drawdown_series over the PnL series x1..xn in (timestamp,
// trade_id, writer) order, as strategy-performance.ts's strategyDrawdowns computes it: C_k = x1 + …
// + xk (C_0 = 0), H_k = max(C_0, …, C_k) (the high floored at 0), drawdown_k = H_k − C_k; the
// trough is the first k with the largest drawdown, the peak H there, the peak's time the first row
// with C = peak (none when the peak is 0), the recovery the first row after the trough with C ≥ peak.
//
// A piece is summarised relative to its own start (prefix sums c_0 = 0, c_1…c_m, running high
// m_k = max(c_0…c_k)). Entering it at level L with a running high H ≥ L (g = H − L ≥ 0), the
// drawdown at its row k is max(g, m_k) − c_k, so its largest is max(g − low, drop) with low =
// min c_k and drop = max(m_k − c_k), reached first at the first lowest row or at the first
// largest-drop row (the earlier of the two on a tie: both reach it). Each of these two rows carries
// its place (n), time, running high (and when that high was first reached) and the highest prefix
// after it; with the sum and the highest prefix (and its time), `combine` is associative with EMPTY
// as its identity, and the whole series' summary gives the drawdown, peak, peak time and trough.
//
// The recovery is not in any fixed-size summary: it is the first row after the trough at or above
// a level that depends on what came before (the first passage of a prefix over an arbitrary
// threshold). `foldPiece` finds, folding the pieces in order, the one piece where it happens and
// the threshold within it; one small read of that piece (drawdown-periods.ts) gives its time.
// Proofs by property test against a direct pass: test/analytics-drawdown.test.ts.
//
// Exactness: the same comparisons as the direct computation on the same sums; the sums are added in
// another grouping (per piece, then across pieces), so the result is bit-identical whenever the
// partial sums are exact in a double (PnL values with few significant bits, as the test data), and
// otherwise differs from the direct computation only by the rounding of those sums.
import type { Micros } from "../time.ts";

/** A row of the piece: its place (1…count), time, running high there (and when first reached), highest prefix after it. */
export interface SummaryRow {
  n: number;
  at: Micros | null;
  high: number;
  /** The first row whose prefix is `high`; null when `high` is 0. */
  highAt: Micros | null;
  /** Highest prefix after this row; −∞ when it is the last. */
  after: number;
}

export interface DrawdownSummary {
  /** Closed trades summarised; 0 for EMPTY. */
  count: number;
  /** Σ PnL. */
  sum: number;
  /** Highest prefix of one row or more (−∞ for EMPTY). */
  top: number;
  /** The first row whose prefix is `top`. */
  topAt: Micros | null;
  /** Lowest prefix of one row or more. */
  low: number;
  /** The first row whose prefix is `low`. */
  lowRow: SummaryRow;
  /** Largest drop: max over rows of (running high − prefix), the high floored at 0; 0 or more. */
  drop: number;
  /** The first row whose drop is `drop`. */
  dropRow: SummaryRow;
}

const NO_ROW: SummaryRow = Object.freeze({ n: 0, at: null, high: 0, highAt: null, after: Number.NEGATIVE_INFINITY });

export const EMPTY: DrawdownSummary = Object.freeze({
  count: 0,
  sum: 0,
  top: Number.NEGATIVE_INFINITY,
  topAt: null,
  low: Number.POSITIVE_INFINITY,
  lowRow: NO_ROW,
  drop: 0,
  dropRow: NO_ROW,
});

/** Running high floored at 0 (the empty prefix). */
const highOf = (s: DrawdownSummary) => Math.max(0, s.top);
const highAtOf = (s: DrawdownSummary) => (s.top > 0 ? s.topAt : null);

/** The summary of one closed trade's PnL at `at`. */
export function single(pnl: number, at: Micros | null): DrawdownSummary {
  const high = Math.max(0, pnl);
  const row: SummaryRow = { n: 1, at, high, highAt: pnl > 0 ? at : null, after: Number.NEGATIVE_INFINITY };
  return { count: 1, sum: pnl, top: pnl, topAt: at, low: pnl, lowRow: row, drop: high - pnl, dropRow: row };
}

/** Row `r` of `b` seen from `a`'s start. */
function shifted(a: DrawdownSummary, r: SummaryRow): SummaryRow {
  const aHigh = highOf(a);
  const level = a.sum + r.high;
  const fromA = aHigh >= level;
  return {
    n: a.count + r.n,
    at: r.at,
    high: fromA ? aHigh : level,
    highAt: fromA ? highAtOf(a) : r.highAt,
    after: a.sum + r.after,
  };
}

/** Row `r` of `a` with `b` appended: only the highest prefix after it grows. */
const extended = (r: SummaryRow, a: DrawdownSummary, b: DrawdownSummary): SummaryRow => ({
  ...r,
  after: Math.max(r.after, a.sum + b.top),
});

/** The summary of piece `a` followed by piece `b`. Associative; EMPTY is the identity. */
export function combine(a: DrawdownSummary, b: DrawdownSummary): DrawdownSummary {
  if (b.count === 0) return a;
  if (a.count === 0) return b;
  const bTop = a.sum + b.top;
  const bLow = a.sum + b.low;
  const lowInA = a.low <= bLow;
  // b's largest drawdown entered with a's high: at its first lowest row or its first largest-drop row.
  const dropAtBLow = highOf(a) - bLow;
  const lowFirst = dropAtBLow > b.drop || (dropAtBLow === b.drop && b.lowRow.n <= b.dropRow.n) ? b.lowRow : b.dropRow;
  const bDrop = Math.max(dropAtBLow, b.drop);
  const dropInA = a.drop >= bDrop;
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    top: Math.max(a.top, bTop),
    topAt: a.top >= bTop ? a.topAt : b.topAt,
    low: lowInA ? a.low : bLow,
    lowRow: lowInA ? extended(a.lowRow, a, b) : shifted(a, b.lowRow),
    drop: dropInA ? a.drop : bDrop,
    dropRow: dropInA ? extended(a.dropRow, a, b) : shifted(a, lowFirst),
  };
}

/** What the summary of a whole series answers (the recovery aside: see foldPiece). */
export interface DrawdownFigures {
  maxDrawdown: number;
  /** The running high at the trough (for the relative figure); max(0, first PnL) without drawdown. */
  peak: number;
  peakAt: Micros | null;
  troughAt: Micros | null;
  /** Whether the series gets back to the peak after the trough. */
  recovers: boolean;
}

export function figuresOf(s: DrawdownSummary): DrawdownFigures {
  const row = s.dropRow;
  if (s.drop === 0) return { maxDrawdown: 0, peak: row.high, peakAt: null, troughAt: null, recovers: false };
  return {
    maxDrawdown: s.drop,
    peak: row.high,
    peakAt: row.high > 0 ? row.highAt : null,
    troughAt: row.at,
    recovers: row.after >= row.high,
  };
}

/** Where the recovery happens: in piece `piece`, the first row after row `after` whose prefix (from the piece's start) is `threshold` or more. */
export interface RecoveryPlace<P> {
  piece: P;
  after: number;
  threshold: number;
}

/** A series folded piece by piece from its start. */
export interface FoldState<P> {
  summary: DrawdownSummary;
  /** Where the current trough recovers; null while not found (or without drawdown). */
  recovery: RecoveryPlace<P> | null;
}

export const emptyFold = <P>(): FoldState<P> => ({ summary: EMPTY, recovery: null });

/** The fold with piece `piece` (summary `b`) appended. */
export function foldPiece<P>(state: FoldState<P>, piece: P, b: DrawdownSummary): FoldState<P> {
  const a = state.summary;
  if (b.count === 0) return state;
  const summary = combine(a, b);
  const level = a.sum;
  const row = summary.dropRow;
  if (summary.drop === 0) return { summary, recovery: null };
  if (row.n > a.count) {
    // A new trough in b: recovered within b if b's prefix after it gets back to the peak.
    const recovers = row.after >= row.high;
    return { summary, recovery: recovers ? { piece, after: row.n - a.count, threshold: row.high - level } : null };
  }
  if (state.recovery === null && level + b.top >= row.high) {
    return { summary, recovery: { piece, after: 0, threshold: row.high - level } };
  }
  return { summary, recovery: state.recovery };
}
