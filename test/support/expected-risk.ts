// Independent computations of strategyPerformance's risk-adjusted figures and of
// performanceByPeriod, straight from the generated trades, written without the app's code: days
// and periods from Date arithmetic on ISO strings, every series walked trade by trade in plain loops.
import type { TradeInput } from "../generated/graphql.ts";

export interface RiskTrade extends TradeInput {
  tradeId: string;
  timestamp: string;
  micros: bigint;
}

const DAY_MS = 86_400_000;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const msOf = (micros: bigint) => Number(micros / 1000n);
/** `2026-01-31T00:00:00.000000Z`: the timestamp form the API answers with. */
const dayIso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}.000000Z`;
const utcDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/** Trades in the series order: timestamp, then tradeId (one writer in these tests). */
export function seriesOrder<T extends RiskTrade>(trades: T[]): T[] {
  return [...trades].sort((a, b) =>
    a.micros === b.micros ? (a.tradeId < b.tradeId ? -1 : 1) : a.micros < b.micros ? -1 : 1,
  );
}

/** Every UTC day the range [from, to) touches, as ms at midnight. */
export function rangeDays(from: bigint, to: bigint): number[] {
  const days: number[] = [];
  for (let day = utcDay(msOf(from)); BigInt(day) * 1000n < to; day += DAY_MS) days.push(day);
  return days;
}

/** Realized PnL per UTC day (ms at midnight), days with at least one closed trade only. */
export function dailyPnlOf(trades: RiskTrade[]): Map<number, number> {
  const days = new Map<number, number>();
  for (const t of seriesOrder(trades)) {
    if (t.realizedPnl == null) continue;
    const day = utcDay(msOf(t.micros));
    days.set(day, (days.get(day) ?? 0) + t.realizedPnl);
  }
  return days;
}

export function drawdownTimes(trades: RiskTrade[]) {
  const closed = seriesOrder(trades).filter((t) => t.realizedPnl != null);
  let cumulative = 0;
  let high = 0;
  let highAt: string | null = null;
  let worst = { dd: 0, index: -1, peak: 0, peakAt: null as string | null };
  closed.forEach((t, i) => {
    cumulative += t.realizedPnl as number;
    if (cumulative > high) {
      high = cumulative;
      highAt = t.timestamp;
    }
    if (high - cumulative > worst.dd) worst = { dd: high - cumulative, index: i, peak: high, peakAt: highAt };
  });
  if (worst.index < 0) return { maxDrawdownPeakAt: null, maxDrawdownTroughAt: null, maxDrawdownRecoveredAt: null };
  let recovered: string | null = null;
  let running = sum(closed.slice(0, worst.index + 1).map((t) => t.realizedPnl as number));
  for (const t of closed.slice(worst.index + 1)) {
    running += t.realizedPnl as number;
    if (running >= worst.peak) {
      recovered = t.timestamp;
      break;
    }
  }
  return {
    maxDrawdownPeakAt: worst.peak > 0 ? worst.peakAt : null,
    maxDrawdownTroughAt: closed[worst.index]?.timestamp ?? null,
    maxDrawdownRecoveredAt: recovered,
  };
}

function streaks(trades: RiskTrade[]) {
  let winning = 0;
  let losing = 0;
  let run = 0;
  let sign = 0;
  for (const t of seriesOrder(trades)) {
    if (t.realizedPnl == null) continue;
    const s = Math.sign(t.realizedPnl);
    run = s !== 0 && s === sign ? run + 1 : 1;
    sign = s;
    if (s > 0) winning = Math.max(winning, run);
    if (s < 0) losing = Math.max(losing, run);
  }
  return { longestWinningStreak: winning, longestLosingStreak: losing };
}

function sampleSd(values: number[]): number {
  const m = sum(values) / values.length;
  return Math.sqrt(sum(values.map((v) => (v - m) * (v - m))) / (values.length - 1));
}

/**
 * The figures, given the trades of one group, the range, the starting balance and the row's
 * maxDrawdownRelative (checked separately against performanceFigures).
 */
export function riskFigures(
  trades: RiskTrade[],
  from: bigint,
  to: bigint,
  startingBalance: number,
  maxDrawdownRelative: number | null,
) {
  const daily = dailyPnlOf(trades);
  const days = rangeDays(from, to);
  const n = days.length;
  // Compounding balance: each day's return on the balance it started with.
  const returns: number[] = [];
  let balance = startingBalance;
  let defined = startingBalance > 0;
  for (const day of days) {
    if (balance <= 0) defined = false;
    const pnl = daily.get(day) ?? 0;
    returns.push(pnl / balance);
    balance += pnl;
  }
  const mean = sum(returns) / n;
  const sd = n > 1 ? sampleSd(returns) : 0;
  const downside = Math.sqrt(sum(returns.map((r) => (r < 0 ? r * r : 0))) / n);
  const ok = defined && n > 1;
  const final = startingBalance + sum([...daily.values()]);
  const cagr = startingBalance > 0 && final >= 0 ? (final / startingBalance) ** (365 / n) - 1 : null;
  const closedPnl = seriesOrder(trades)
    .filter((t) => t.realizedPnl != null)
    .map((t) => t.realizedPnl as number);
  const sqnSd = closedPnl.length > 1 ? sampleSd(closedPnl) : 0;
  const entries = [...daily.entries()].sort((a, b) => a[0] - b[0]);
  let best: [number, number] | undefined;
  let worst: [number, number] | undefined;
  for (const entry of entries) {
    if (!best || entry[1] > best[1]) best = entry;
    if (!worst || entry[1] < worst[1]) worst = entry;
  }
  return {
    ...drawdownTimes(trades),
    sharpe: ok && sd > 0 ? (mean / sd) * Math.sqrt(365) : null,
    sortino: ok && downside > 0 ? (mean / downside) * Math.sqrt(365) : null,
    calmar: cagr !== null && maxDrawdownRelative ? cagr / maxDrawdownRelative : null,
    sqn: sqnSd > 0 ? (Math.sqrt(closedPnl.length) * (sum(closedPnl) / closedPnl.length)) / sqnSd : null,
    cagr,
    bestDay: best ? { day: dayIso(best[0]), realizedPnl: best[1] } : null,
    worstDay: worst ? { day: dayIso(worst[0]), realizedPnl: worst[1] } : null,
    daysWon: entries.filter(([, p]) => p > 0).length,
    daysDrawn: entries.filter(([, p]) => p === 0).length,
    daysLost: entries.filter(([, p]) => p < 0).length,
    ...streaks(trades),
  };
}

export type Period = "DAY" | "WEEK" | "MONTH";

/** The period holding `ms` and the next one's start, with Date's UTC calendar. */
function periodOf(ms: number, period: Period): [number, number] {
  const d = new Date(ms);
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  if (period === "DAY") return [Date.UTC(y, m, day), Date.UTC(y, m, day + 1)];
  if (period === "MONTH") return [Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1)];
  const monday = day - ((d.getUTCDay() + 6) % 7);
  return [Date.UTC(y, m, monday), Date.UTC(y, m, monday + 7)];
}

/** performanceByPeriod's rows: every period of the range, its trades' figures. */
export function periodFigures(trades: RiskTrade[], from: bigint, to: bigint, period: Period) {
  const rows = [];
  // No data, no row (docs/queries.md): a range without trades has no periods at all.
  if (!trades.some((t) => t.micros >= from && t.micros < to)) return [];
  let cumulative = 0;
  for (
    let [start, end] = periodOf(msOf(from), period);
    BigInt(start) * 1000n < to;
    [start, end] = periodOf(end, period)
  ) {
    const inside = trades.filter(
      (t) => t.micros >= from && t.micros < to && t.micros >= BigInt(start) * 1000n && t.micros < BigInt(end) * 1000n,
    );
    const closed = inside.filter((t) => t.realizedPnl != null).map((t) => t.realizedPnl as number);
    const wins = closed.filter((p) => p > 0);
    const losses = closed.filter((p) => p < 0);
    const grossLoss = sum(losses.map((p) => -p));
    cumulative += sum(closed);
    rows.push({
      bucket: `${new Date(start).toISOString().slice(0, 19)}.000000Z`,
      end: `${new Date(end).toISOString().slice(0, 19)}.000000Z`,
      trades: inside.length,
      closedTrades: closed.length,
      wins: wins.length,
      losses: losses.length,
      draws: closed.length - wins.length - losses.length,
      winRate: closed.length ? wins.length / closed.length : null,
      realizedPnl: sum(closed),
      cumulativePnl: cumulative,
      grossProfit: sum(wins),
      grossLoss,
      profitFactor: grossLoss > 0 ? sum(wins) / grossLoss : null,
      baseVolume: sum(inside.map((t) => t.baseAmount)),
      quoteVolume: sum(inside.map((t) => t.quoteAmount)),
      transactionFees: String(sum(inside.map((t) => Number(t.transactionFee)))),
      priorityFees: String(sum(inside.map((t) => Number(t.priorityFee)))),
      totalFees: String(sum(inside.map((t) => Number(t.transactionFee) + Number(t.priorityFee)))),
      transferFees: sum(inside.map((t) => t.transferFees)),
    });
  }
  return rows;
}
