// Risk-adjusted figures of strategyPerformance (issue 16, point 1): Sharpe, Sortino, CAGR (and
// Calmar, SQN from the other statements' figures), best and worst day, days won / drawn / lost,
// longest winning and losing streaks. Formulas, conventions and the differences from
// freqtrade/data/metrics.py and Jesse: docs/queries.md ("Risk-adjusted figures").
//
// Two statements, each run only when one of its figures is selected: the daily realized PnL per
// group (one row per day with a closed trade: the answer's size, read with LIMIT; a UTC day at a
// time over more than two days, rollup.ts's readInPieces), and the
// longest streaks (gaps and islands over the series in QuestDB; two rows per group come back).
// The daily returns are computed here, from those rows, for the days of the range.
import type { Micros } from "../time.ts";
import { limited, tooManyRows, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { checkRange, sampleBy } from "./range.ts";
import { piecesFor, readInPieces } from "./rollup.ts";
import { groupKey } from "./series.ts";
import {
  groupColumns,
  groupValuesOf,
  partitionBy,
  type StrategyPerformanceArgs,
  selectColumns,
  tooManyGroups,
  where,
} from "./strategy-performance.ts";

/** Days in a year for annualising: crypto trades every day (Freqtrade and Jesse use 365 too). */
export const DAYS_PER_YEAR = 365;

export interface DayPnl {
  /** UTC midnight starting the day. */
  day: Micros;
  pnl: number;
}

const GROUP_DAYS = "The answer's rows (days with closed trades × groups)";
const DAYS_HINT = "choose a shorter range, one strategy or fewer groupBy keys";

interface DailyRow {
  strategy?: string | null;
  base_token?: string | null;
  quote_token?: string | null;
  timestamp: Micros;
  pnl: number;
}

/**
 * Realized PnL per UTC day with at least one closed trade, per group (groupKey), days in order.
 * Read with LIMIT max + 1: more (day, group) rows than MAX_RESULT_ROWS are refused unread.
 */
export async function dailyPnl(
  cache: QueryReader,
  table: string,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<Map<string, DayPnl[]>> {
  const columns = groupColumns(args.groupBy);
  // A UTC day at a time (rollup.ts, readInPieces): each day's sum comes whole from one piece, and a
  // write into today re-reads today, not the month; a group's days are joined in time order.
  return readInPieces(
    piecesFor(args.range, "DAY"),
    max,
    (range) => {
      const params: unknown[] = [];
      const filter = where({ ...args, range }, params, " AND realized_pnl IS NOT NULL");
      const sql = `SELECT ${selectColumns(columns)}timestamp, sum(realized_pnl) pnl FROM ${table} WHERE ${filter} ${sampleBy("DAY")}`;
      return cache.read<DailyRow, Map<string, DayPnl[]> | null>({
        statement: limited({ name: "strategyPerformance.daily", sql, params }, max + 1),
        tables: [table],
        range,
        map: unlessOver(max, (rows) => {
          const byGroup = new Map<string, DayPnl[]>();
          for (const row of rows) {
            const key = groupKey(groupValuesOf(row, columns));
            const list = byGroup.get(key) ?? [];
            list.push({ day: row.timestamp, pnl: row.pnl });
            byGroup.set(key, list);
          }
          for (const list of byGroup.values()) list.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
          return byGroup;
        }),
      });
    },
    {
      rows: (list) => list.length,
      merge: (earlier, later) => [...earlier, ...later],
      refuse: () => tooManyRows(max, GROUP_DAYS, DAYS_HINT),
    },
  );
}

export interface DayCounts {
  bestDay: DayPnl | null;
  worstDay: DayPnl | null;
  daysWon: number;
  daysDrawn: number;
  daysLost: number;
}

/** Over the days with a closed trade: the best and worst (the earliest on ties), and the count by sign. */
export function dayCounts(days: readonly DayPnl[]): DayCounts {
  let bestDay: DayPnl | null = null;
  let worstDay: DayPnl | null = null;
  let daysWon = 0;
  let daysDrawn = 0;
  let daysLost = 0;
  for (const day of days) {
    if (bestDay === null || day.pnl > bestDay.pnl) bestDay = day;
    if (worstDay === null || day.pnl < worstDay.pnl) worstDay = day;
    if (day.pnl > 0) daysWon++;
    else if (day.pnl < 0) daysLost++;
    else daysDrawn++;
  }
  return { bestDay, worstDay, daysWon, daysDrawn, daysLost };
}

export interface ReturnFigures {
  sharpe: number | null;
  sortino: number | null;
  cagr: number | null;
}

const NO_RETURNS: ReturnFigures = { sharpe: null, sortino: null, cagr: null };

/**
 * Daily returns over every UTC day the range touches (days without a closed trade return 0), on a
 * compounding balance: r_d = pnl_d / balance at the start of day d, the balance starting at
 * `startingBalance`. Null when a start-of-day balance is not positive (a return is not defined).
 */
export function dailyReturns(days: readonly DayPnl[], dayStarts: readonly Micros[], startingBalance: number) {
  const pnlOf = new Map(days.map((d) => [d.day, d.pnl]));
  const returns: number[] = [];
  let balance = startingBalance;
  for (const day of dayStarts) {
    if (!(balance > 0)) return null;
    const pnl = pnlOf.get(day) ?? 0;
    returns.push(pnl / balance);
    balance += pnl;
  }
  return { returns, finalBalance: balance };
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
/** GraphQL's Float has no ±Infinity: a figure that overflows a double (a huge growth annualised) is null. */
const finite = (x: number) => (Number.isFinite(x) ? x : null);

/**
 * Sharpe = mean(r) / sd(r) × √365 (sample sd, n − 1; risk-free rate 0); Sortino = mean(r) /
 * downside deviation × √365 (√(Σ min(r, 0)² / n), target 0); CAGR = (final / starting
 * balance)^(365 / days) − 1. Null where undefined: fewer than 2 days (ratios), a zero deviation,
 * no positive starting balance, a balance that fell to or below 0 before a day (ratios), a
 * negative final balance or a CAGR beyond a double's range. Freqtrade answers −100 for a zero
 * deviation instead.
 */
export function returnFigures(
  days: readonly DayPnl[],
  range: StrategyPerformanceArgs["range"],
  startingBalance: number,
): ReturnFigures {
  if (!(startingBalance > 0)) return NO_RETURNS;
  const dayStarts = checkRange(range, "DAY");
  const series = dailyReturns(days, dayStarts, startingBalance);
  const n = dayStarts.length;
  const finalBalance = startingBalance + days.reduce((a, d) => a + d.pnl, 0);
  const cagr = finalBalance >= 0 ? finite((finalBalance / startingBalance) ** (DAYS_PER_YEAR / n) - 1) : null;
  if (series === null || n < 2) return { sharpe: null, sortino: null, cagr };
  const { returns } = series;
  const average = mean(returns);
  const deviation = Math.sqrt(returns.reduce((a, r) => a + (r - average) ** 2, 0) / (n - 1));
  const downside = Math.sqrt(returns.reduce((a, r) => a + Math.min(r, 0) ** 2, 0) / n);
  const annual = Math.sqrt(DAYS_PER_YEAR);
  return {
    sharpe: deviation > 0 ? (average / deviation) * annual : null,
    sortino: downside > 0 ? (average / downside) * annual : null,
    cagr,
  };
}

/** SQN (Van Tharp, as Freqtrade's calculate_sqn): √N × mean PnL / sd PnL over the N closed trades. */
export function sqn(closedTrades: number, realizedPnl: number, pnlStdDev: number | null): number | null {
  if (closedTrades < 2 || pnlStdDev === null || !(pnlStdDev > 0)) return null;
  return Math.sqrt(closedTrades) * (realizedPnl / closedTrades / pnlStdDev);
}

/** Calmar = CAGR / relative max drawdown (Young; Jesse); null without either, or without drawdown. */
export function calmar(cagr: number | null, maxDrawdownRelative: number | null): number | null {
  if (cagr === null || maxDrawdownRelative === null || maxDrawdownRelative === 0) return null;
  return finite(cagr / maxDrawdownRelative);
}

export interface Streaks {
  winning: number;
  losing: number;
}

interface StreakRow {
  strategy?: string | null;
  base_token?: string | null;
  quote_token?: string | null;
  s: number;
  longest: bigint;
}

/**
 * Longest runs of consecutive closed trades with PnL > 0 (winning) and < 0 (losing) per group, in
 * (timestamp, trade_id, writer) order; a draw (PnL = 0) ends both. Gaps and islands: a run is the
 * rows of one sign whose n − (their row number among that sign) is the same.
 */
export async function strategyStreaks(
  cache: QueryReader,
  table: string,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<Map<string, Streaks>> {
  const columns = groupColumns(args.groupBy);
  const head = selectColumns(columns);
  const params: unknown[] = [];
  const filter = where(args, params, " AND realized_pnl IS NOT NULL");
  const sql = [
    `WITH c AS (SELECT ${head}CASE WHEN realized_pnl > 0 THEN 1 WHEN realized_pnl < 0 THEN -1 ELSE 0 END s,`,
    `row_number() OVER (${partitionBy(columns)}ORDER BY timestamp, trade_id, writer) n FROM ${table} WHERE ${filter}),`,
    `d AS (SELECT ${head}s, n - row_number() OVER (${partitionBy(columns, ["s"])}ORDER BY n) run FROM c),`,
    `e AS (SELECT ${head}s, run, count() len FROM d WHERE s <> 0)`,
    `SELECT ${head}s, max(len) longest FROM e`,
  ].join(" ");
  const streaks = await cache.read<StreakRow, Map<string, Streaks> | null>({
    statement: limited({ name: "strategyPerformance.streaks", sql, params }, 2 * max + 1),
    tables: [table],
    range: args.range,
    map: unlessOver(2 * max, (rows) => {
      const byGroup = new Map<string, Streaks>();
      for (const row of rows) {
        const key = groupKey(groupValuesOf(row, columns));
        const streak = byGroup.get(key) ?? { winning: 0, losing: 0 };
        if (row.s > 0) streak.winning = Number(row.longest);
        else streak.losing = Number(row.longest);
        byGroup.set(key, streak);
      }
      return byGroup;
    }),
  });
  if (!streaks) throw tooManyGroups(max, args.groupBy);
  return streaks;
}
