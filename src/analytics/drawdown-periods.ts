// strategyPerformance's drawdown from hourly summaries (issue 13, point 3), for every groupBy (by
// strategy, pair, both, or the whole account) and filter. Per hour and group, the drawdown summary
// of the hour's closed trades (drawdown.ts) is computed from `trades` with window functions within
// the hour, and kept beside the hour's fingerprint (count, Σ, Σ², Σ weighted by time, first and
// last timestamp of its closed trades' PnL, from the `trades_pnl_1h` view, or from the table while
// the view lags) in memory and in the `drawdown_hours` table (for every instance), under a scope
// naming the groupBy and filters. A request reads the fingerprints of the range's whole hours (one
// aggregate per span), recomputes only the hours whose fingerprint is new or changed (the open
// hour, late rows, DEDUP upserts), reads the partial first and last hours raw, folds everything in
// time order, and reads one piece (an hour at most) per group for the recovery's time.
import { LRUCache } from "lru-cache";
import { PNL_FINGERPRINT, PNL_VIEW_PERIOD_US, PNL_VIEW_STRIDE } from "../questdb/pnl-view.ts";
import type { Micros } from "../time.ts";
import type { QueryReader } from "./cache.ts";
import {
  type DrawdownSummary,
  emptyFold,
  type FoldState,
  figuresOf,
  foldPiece,
  type RecoveryPlace,
} from "./drawdown.ts";
import {
  type GroupColumns,
  type Piece,
  pieceKey,
  type SummaryRow,
  scopeOf,
  storedPieces,
  storePieces,
  toSummary,
} from "./drawdown-store.ts";
import type { TimeRange } from "./range.ts";
import { forEachInOrder, planSegments, type RollupSource } from "./rollup.ts";
import { type GroupValues, groupKey } from "./series.ts";
import type { SqlRunner } from "./sql.ts";
import {
  type Drawdown,
  groupColumns,
  groupValuesOf,
  NO_DRAWDOWN,
  type PerformanceColumn,
  partitionBy,
  type StrategyPerformanceArgs,
  selectColumns,
  tooManyGroups,
  where,
} from "./strategy-performance.ts";

export interface DrawdownSources {
  /** `trades` and its `trades_pnl_1h` view (per hour, strategy, pair and writer). */
  pnl: RollupSource;
  /** The `drawdown_hours` table: hour summaries shared by every instance. */
  stored: string;
}

/** Hour summaries by scope, hour and group, each with the fingerprint it was computed under. */
export type HourSummaries = LRUCache<string, { fingerprint: string; summary: DrawdownSummary }>;

/** About 300 bytes an entry: 200,000 entries are 30 days of hours for 270 groups. */
export function createHourSummaries(maxEntries = 200_000): HourSummaries {
  return new LRUCache({ max: maxEntries });
}

interface FingerprintRow extends GroupColumns {
  timestamp: Micros;
  n: bigint | string;
  total: number | null;
  squares: number | null;
  weighted: number | null;
  first_at: Micros;
  last_at: Micros;
}

const H = PNL_VIEW_PERIOD_US;
const DAY = 24n * H;
const floorHour = (t: Micros) => (t >= 0n || t % H === 0n ? (t / H) * H : (t / H - 1n) * H);
const ceilHour = (t: Micros) => floorHour(t + H - 1n);
const compareStart = (a: Piece, b: Piece) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0);
const ORDER = "ORDER BY timestamp, trade_id, writer";
const RUNNING = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";

/** More runs of hours to recompute in one day than this are recomputed as one span. */
const MAX_RUNS = 8;
/** Statements computing hour summaries in flight at once for one request. */
const COMPUTE_READS = 2;
/** Recovery reads in flight at once for one request. */
const RECOVERY_READS = 4;

/**
 * Per hour and group: the drawdown summary (drawdown.ts) of the closed trades matching `filter`, in
 * (timestamp, trade_id, writer) order within the hour (window functions partitioned by group and
 * hour, so a statement over a few hours reads only those). Columns as SummaryRow.
 */
function summariesSql(table: string, columns: readonly PerformanceColumn[], filter: string): string {
  const head = selectColumns(columns);
  const byHour = partitionBy(columns, [`timestamp_floor('${PNL_VIEW_STRIDE}', timestamp)`]);
  const part = partitionBy(columns, ["bucket"]);
  const low = `${part}ORDER BY cum, n`;
  const worst = `${part}ORDER BY dd DESC, n`;
  return [
    `WITH c AS (SELECT ${head}timestamp_floor('${PNL_VIEW_STRIDE}', timestamp) bucket, timestamp, realized_pnl pnl,`,
    `row_number() OVER (${byHour}${ORDER}) n, sum(realized_pnl) OVER (${byHour}${ORDER} ${RUNNING}) cum`,
    `FROM ${table} WHERE realized_pnl IS NOT NULL AND ${filter}),`,
    `d AS (SELECT ${head}bucket, timestamp, pnl, n, cum, greatest(0.0, max(cum) OVER (${part}ORDER BY n ${RUNNING})) high FROM c),`,
    `e AS (SELECT ${head}bucket, timestamp, pnl, n, cum, high, high - cum dd FROM d),`,
    `f AS (SELECT ${head}bucket, timestamp, pnl, n, cum, high, dd, max(cum) OVER (${part}) hi,`,
    `first_value(n) OVER (${low}) ln, first_value(high) OVER (${low}) lh,`,
    `first_value(n) OVER (${worst}) dn, first_value(high) OVER (${worst}) dh FROM e)`,
    `SELECT ${head}bucket, count() n, sum(pnl) total, max(cum) top, min(CASE WHEN cum = hi THEN timestamp END) top_at,`,
    "min(cum) low, max(ln) low_n, min(CASE WHEN n = ln THEN timestamp END) low_at, max(lh) low_high,",
    "min(CASE WHEN lh > 0 AND cum = lh THEN timestamp END) low_high_at, max(CASE WHEN n > ln THEN cum END) low_after,",
    "max(dd) max_drop, max(dn) drop_n, min(CASE WHEN n = dn THEN timestamp END) drop_at, max(dh) drop_high,",
    "min(CASE WHEN dh > 0 AND cum = dh THEN timestamp END) drop_high_at, max(CASE WHEN n > dn THEN cum END) drop_after",
    "FROM f",
  ].join(" ");
}

/** The pieces of a sub-range, computed from `trades` (at most max rows, else refused). */
async function computePieces(
  reads: QueryReader,
  trades: string,
  args: StrategyPerformanceArgs,
  range: TimeRange,
  max: number,
): Promise<Piece[]> {
  const columns = groupColumns(args.groupBy);
  const params: unknown[] = [];
  const sql = `${summariesSql(trades, columns, where({ ...args, range }, params))} LIMIT ${max + 1}`;
  const pieces = await reads.read<SummaryRow, Piece[] | null>({
    statement: { name: "strategyPerformance.drawdownHours", sql, params },
    tables: [trades],
    range,
    map: (rows) =>
      rows.length > max
        ? null
        : rows.map((row) => ({
            start: row.bucket,
            range: { from: maxOf(range.from, row.bucket), to: minOf(range.to, row.bucket + H) },
            values: groupValuesOf(row, columns),
            summary: toSummary(row),
          })),
  });
  if (!pieces) throw tooManyGroups(max, args.groupBy);
  return pieces;
}

const maxOf = (a: Micros, b: Micros) => (a > b ? a : b);
const minOf = (a: Micros, b: Micros) => (a < b ? a : b);

/**
 * The fingerprint of every (hour, group) of `span` with closed trades. Each hour is read from the
 * `trades_pnl_1h` view when this request's snapshot says the view reflects it, else from the
 * table (planSegments, as the statistics read their rollups: one cached statement per day and
 * source). The source is part of the fingerprint (their sums are added in another grouping, see
 * samePrint). Null when there are more than `max`.
 */
async function fingerprints(
  reads: QueryReader,
  sources: DrawdownSources,
  args: StrategyPerformanceArgs,
  span: TimeRange,
  max: number,
): Promise<Map<string, string> | null> {
  const { pnl } = sources;
  const columns = groupColumns(args.groupBy);
  const head = selectColumns(columns);
  const coverage = pnl.view ? await pnl.coverage(reads) : null;
  const prints = new Map<string, string>();
  let over = false;
  await forEachInOrder(
    planSegments(span, "HOUR", coverage),
    2,
    (segment) => {
      const params: unknown[] = [];
      const filter = where({ ...args, range: segment.range }, params);
      const sql = segment.fromView
        ? `SELECT timestamp, ${head}sum(n) n, sum(total) total, sum(squares) squares, sum(weighted) weighted, min(first_at) first_at, max(last_at) last_at FROM ${pnl.view} WHERE ${filter} SAMPLE BY ${PNL_VIEW_STRIDE}`
        : `SELECT timestamp, ${head}${PNL_FINGERPRINT} FROM ${pnl.table} WHERE realized_pnl IS NOT NULL AND ${filter} SAMPLE BY ${PNL_VIEW_STRIDE}`;
      const source = segment.fromView ? "view" : "table";
      return reads.read<FingerprintRow, [string, string][] | null>({
        statement: { name: `strategyPerformance.drawdown.${source}`, sql: `${sql} LIMIT ${max + 1}`, params },
        tables: [pnl.table],
        range: segment.range,
        map: (rows) =>
          rows.length > max
            ? null
            : rows.map((r) => [
                pieceKey(r.timestamp, groupValuesOf(r, columns)),
                `${source}|${r.n}|${r.total}|${r.squares}|${r.weighted}|${r.first_at}|${r.last_at}`,
              ]),
      });
    },
    (rows) => {
      if (!rows || over) {
        over = true;
        return;
      }
      for (const [key, print] of rows) prints.set(key, print);
      if (prints.size > max) over = true;
    },
  );
  return over ? null : prints;
}

/** Relative difference under which the two sources' sums of one hour count as the same. */
export const SOURCE_SUM_TOLERANCE = 1e-9;

/**
 * Whether a summary computed under fingerprint `a` holds for an hour whose fingerprint is now `b`.
 * From one source, the fingerprints must be equal. Across sources (an hour read from the table
 * while the view's coverage was unknown, then from the view again, or the other way round) the
 * sums come from another grouping and may differ in their last bits: the count and the first and
 * last times must be equal and the sums (Σ, Σ², Σ weighted by time) within SOURCE_SUM_TOLERANCE.
 * A real change smaller than that in all three sums at once is below the precision the answers
 * promise (sums within 1e-9 relative); a larger rounding difference (sums that cancel) only
 * recomputes the hour. Without this, every switch of source recomputed every hour of the range.
 */
export function samePrint(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a === b) return true;
  const x = a.split("|");
  const y = b.split("|");
  if (x.length !== 7 || y.length !== 7 || x[0] === y[0]) return false;
  if (x[1] !== y[1] || x[5] !== y[5] || x[6] !== y[6]) return false;
  for (const i of [2, 3, 4]) {
    const p = Number(x[i]);
    const q = Number(y[i]);
    if (!(Math.abs(p - q) <= SOURCE_SUM_TOLERANCE * Math.max(Math.abs(p), Math.abs(q)))) return false;
  }
  return true;
}

/**
 * Consecutive hours merged into runs, never across a UTC day; a day with more than MAX_RUNS runs
 * is one span from its first to its last stale hour. So a month to compute (a new instance with
 * nothing stored, a new scope) is at most one statement a day, each bounded, not one over the
 * month.
 */
export function hourRuns(starts: readonly Micros[]): TimeRange[] {
  const sorted = [...new Set(starts)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const dayOf = (t: Micros) => (t >= 0n || t % DAY === 0n ? t / DAY : t / DAY - 1n);
  const runs: TimeRange[] = [];
  let dayStart = 0;
  const closeDay = () => {
    if (runs.length - dayStart > MAX_RUNS) {
      const span = { from: (runs[dayStart] as TimeRange).from, to: (runs.at(-1) as TimeRange).to };
      runs.splice(dayStart, runs.length - dayStart, span);
    }
    dayStart = runs.length;
  };
  for (const start of sorted) {
    const last = runs.at(-1);
    if (last && dayOf(last.from) !== dayOf(start)) closeDay();
    if (last && last.to === start && dayOf(last.from) === dayOf(start)) last.to = start + H;
    else runs.push({ from: start, to: start + H });
  }
  closeDay();
  return runs;
}

/**
 * The whole hours of `span` (any order): from memory, from `drawdown_hours`, or computed (and then
 * kept in both), each under its hour's current fingerprint. Null when the span has more (hour,
 * group) rows than `max`.
 */
async function wholeHours(
  reads: QueryReader,
  sql: SqlRunner,
  hours: HourSummaries,
  sources: DrawdownSources,
  args: StrategyPerformanceArgs,
  span: TimeRange,
  max: number,
): Promise<Piece[] | null> {
  const prints = await fingerprints(reads, sources, args, span, max);
  if (!prints) return null;
  const collected: Piece[] = [];
  // Cache keys: the table, the scope (groupBy and filters), the hour, the group.
  const scope = `${sources.pnl.table}|${scopeOf(args)}|`;
  const reused = new Set<string>();
  const reuse = (key: string, summary: DrawdownSummary) => {
    const split = key.indexOf("|");
    const start = BigInt(key.slice(0, split));
    const values = JSON.parse(key.slice(split + 1)) as GroupValues;
    collected.push({ start, range: { from: start, to: start + H }, values, summary });
    reused.add(key);
  };
  // First this instance's memory, then what any instance stored, then compute.
  const missed: string[] = [];
  for (const [key, fingerprint] of prints) {
    const cached = hours.get(scope + key);
    if (cached && samePrint(cached.fingerprint, fingerprint)) reuse(key, cached.summary);
    else missed.push(key);
  }
  const stored = missed.length > 0 ? await storedPieces(reads, sources.stored, args, span, max) : new Map();
  if (!stored) return null;
  const stale: Micros[] = [];
  for (const key of missed) {
    const found = stored.get(key);
    if (samePrint(found?.fingerprint, prints.get(key))) {
      reuse(key, found.summary);
      hours.set(scope + key, found);
    } else stale.push(BigInt(key.slice(0, key.indexOf("|"))));
  }
  const computed: Piece[] = [];
  await forEachInOrder(
    hourRuns(stale),
    COMPUTE_READS,
    (run) => computePieces(reads, sources.pnl.table, args, run, max),
    (pieces) => {
      computed.push(...pieces);
    },
  );
  const toStore: (Piece & { fingerprint: string })[] = [];
  for (const piece of computed) {
    const key = pieceKey(piece.start, piece.values);
    // A run holds every group of its hours: those still current came from the cache.
    if (reused.has(key)) continue;
    collected.push(piece);
    const fingerprint = prints.get(key);
    // Computed after the fingerprint was read, so at least as new (a later write changes it).
    if (fingerprint !== undefined) {
      hours.set(scope + key, { fingerprint, summary: piece.summary });
      toStore.push({ ...piece, fingerprint });
    }
  }
  storePieces(sql, sources.stored, args, toStore);
  return collected;
}

/** The first closed trade of the piece after its row `after` whose prefix (from the piece's start) reaches `threshold`. */
async function recoveryAt(
  reads: QueryReader,
  trades: string,
  args: StrategyPerformanceArgs,
  values: GroupValues,
  place: RecoveryPlace<Piece>,
): Promise<Micros | null> {
  const params: unknown[] = [];
  let filter = where({ ...args, range: place.piece.range }, params, " AND realized_pnl IS NOT NULL");
  groupColumns(args.groupBy).forEach((column, i) => {
    const value = values[i] ?? null;
    if (value === null) filter += ` AND ${column} IS NULL`;
    else {
      params.push(value);
      filter += ` AND ${column} = $${params.length}`;
    }
  });
  params.push(place.after, place.threshold);
  const sql =
    `WITH c AS (SELECT timestamp, row_number() OVER (${ORDER}) n, sum(realized_pnl) OVER (${ORDER} ${RUNNING}) cum ` +
    `FROM ${trades} WHERE ${filter}) SELECT min(timestamp) at FROM c WHERE n > $${params.length - 1} AND cum >= $${params.length}`;
  return reads.read<{ at: Micros | null }, Micros | null>({
    statement: { name: "strategyPerformance.drawdownRecovery", sql, params },
    tables: [trades],
    range: place.piece.range,
    map: (rows) => rows[0]?.at ?? null,
  });
}

/**
 * Max drawdown per group (keyed by groupKey) over the closed trades in (timestamp, trade_id,
 * writer) order, with its peak, trough and recovery, as strategyDrawdowns computes it (see drawdown.ts).
 */
export async function drawdownsByHour(
  reads: QueryReader,
  sql: SqlRunner,
  hours: HourSummaries,
  sources: DrawdownSources,
  args: StrategyPerformanceArgs,
  max: number,
): Promise<Map<string, Drawdown>> {
  const { from, to } = args.range;
  const whole: TimeRange = { from: ceilHour(from), to: floorHour(to) };
  const groups = new Map<string, { values: GroupValues; state: FoldState<Piece> }>();
  const fold = (list: Piece[]) => {
    list.sort(compareStart);
    for (const piece of list) {
      const key = groupKey(piece.values);
      let group = groups.get(key);
      if (!group) {
        if (groups.size >= max) throw tooManyGroups(max, args.groupBy);
        group = { values: piece.values, state: emptyFold() };
        groups.set(key, group);
      }
      group.state = foldPiece(group.state, piece, piece.summary);
    }
  };
  const raw = (range: TimeRange) => computePieces(reads, sources.pnl.table, args, range, max);
  if (whole.from < whole.to) {
    // The partial edges are read while the whole hours are, and folded in their place.
    const edges = [
      from < whole.from ? raw({ from, to: whole.from }) : null,
      whole.to < to ? raw({ from: whole.to, to }) : null,
    ];
    for (const edge of edges) edge?.catch(() => undefined);
    let [first, last] = edges;
    // In time order; a span with more (hour, group) rows than MAX_RESULT_ROWS in halves, so that
    // no statement brings more into Node and the API holds one span's hours at a time.
    const spans: TimeRange[] = [whole];
    for (let span = spans.shift(); span !== undefined; span = spans.shift()) {
      const list = await wholeHours(reads, sql, hours, sources, args, span, max);
      if (first) fold(await first);
      first = null;
      if (list) fold(list);
      else if (span.to - span.from <= H) throw tooManyGroups(max, args.groupBy);
      else {
        const middle = span.from + ((span.to - span.from) / H / 2n) * H;
        spans.unshift({ from: span.from, to: middle }, { from: middle, to: span.to });
      }
    }
    if (last) fold(await last);
    last = null;
  } else fold(await raw({ from, to }));

  const answer = new Map<string, Drawdown>();
  const pending = [...groups];
  const next = async (): Promise<void> => {
    for (let entry = pending.shift(); entry !== undefined; entry = pending.shift()) {
      const [key, { values, state }] = entry;
      const figures = figuresOf(state.summary);
      if (figures.maxDrawdown === 0) {
        answer.set(key, { ...NO_DRAWDOWN, peak: figures.peak });
        continue;
      }
      const recoveredAt = state.recovery
        ? await recoveryAt(reads, sources.pnl.table, args, values, state.recovery)
        : null;
      const { maxDrawdown, peak, peakAt, troughAt } = figures;
      answer.set(key, { maxDrawdown, peak, peakAt, troughAt, recoveredAt });
    }
  };
  await Promise.all(Array.from({ length: RECOVERY_READS }, next));
  return answer;
}
