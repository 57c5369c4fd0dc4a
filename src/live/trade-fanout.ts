// tradeRecorded for every filter from one stream (issue 15, point 3). A commit used to start one
// poll per distinct filter, each a statement on the light pool: with 25 filters, 25 statements
// queued on 3 connections at every commit, the largest share of an event's latency
// (bench:live, "query"). Here one poller reads the new trades once, whatever the filters (the
// late-row rule of trade-stream.ts, over all trades), and each distinct filter takes its trades
// from that page in memory, with the same predicate as the SQL (`tradeMatcher`), once per
// filter however many subscribers share it.
//
// The cost moves from statements to rows: a poll reads every new trade, not only those some
// subscriber wants (at most a page of 10,000 per poll; a full page polls again at once).
// LIVE_COHORTS=off (the benchmark's baseline) keeps one poller per subscriber with its filter
// in SQL.
import type { Bounds, TradeFilter } from "../analytics/trades.ts";
import type { Trade } from "../ingest/trade-record.ts";
import type { LiveQueries } from "./live-queries.ts";
import { createTradeStream } from "./trade-stream.ts";

export interface TradeFanout {
  /** Pushes each page of new trades matching `filter` (never an empty one); returns a function that leaves. */
  join(filter: TradeFilter, push: (trades: Trade[]) => void): () => void;
}

type Match = (trade: Trade) => boolean;

const inRange = <T extends number | bigint>(value: T, bounds: Bounds<T> | null | undefined) =>
  !bounds || ((bounds.min == null || value >= bounds.min) && (bounds.max == null || value <= bounds.max));

/**
 * The filter as a predicate, clause for clause the WHERE of `tradeWhere` (analytics/trades.ts):
 * equality never matches a missing value (SQL's `NULL = x`), an empty mevStatus list matches
 * nothing, ranges are inclusive, `to` is exclusive.
 */
export function tradeMatcher(filter: TradeFilter): Match {
  const checks: Match[] = [];
  const equal = <K extends keyof Trade>(key: K, value: Trade[K] | null | undefined) => {
    if (value != null) checks.push((t) => t[key] === value);
  };
  if (filter.from != null) {
    const from = filter.from;
    checks.push((t) => t.timestamp >= from);
  }
  if (filter.to != null) {
    const to = filter.to;
    checks.push((t) => t.timestamp < to);
  }
  if (filter.pair != null) {
    equal("baseToken", filter.pair.baseToken);
    equal("quoteToken", filter.pair.quoteToken);
  }
  equal("baseToken", filter.baseToken);
  equal("quoteToken", filter.quoteToken);
  equal("action", filter.action as Trade["action"] | null | undefined);
  equal("strategy", filter.strategy);
  equal("venue", filter.venue);
  equal("tradeId", filter.tradeId);
  equal("signature", filter.signature);
  equal("writer", filter.writer);
  if (filter.mevStatus != null) {
    const statuses = new Set<string>(filter.mevStatus);
    checks.push((t) => statuses.has(t.mevStatus));
  }
  if (filter.actualSlippage) checks.push((t) => inRange(t.actualSlippage, filter.actualSlippage));
  if (filter.expectedSlippage) checks.push((t) => inRange(t.expectedSlippage, filter.expectedSlippage));
  if (filter.transactionFee) checks.push((t) => inRange(t.transactionFee, filter.transactionFee));
  if (filter.priorityFee) checks.push((t) => inRange(t.priorityFee, filter.priorityFee));
  if (filter.totalFee) checks.push((t) => inRange(t.transactionFee + t.priorityFee, filter.totalFee));
  return (trade) => checks.every((check) => check(trade));
}

const filterKey = (filter: TradeFilter) =>
  JSON.stringify(["tradeRecorded", filter], (_k, v) => (typeof v === "bigint" ? v.toString() : v));

interface Group {
  match: Match;
  pushes: Set<(trades: Trade[]) => void>;
}

export function createTradeFanout(options: {
  live: LiveQueries;
  table: string;
  lateMs: number;
  /** false (LIVE_COHORTS=off): one poller per subscriber, its filter in SQL. */
  shared: boolean;
}): TradeFanout {
  const { live, table, lateMs, shared } = options;
  const groups = new Map<string, Group>();
  let leaveShared: (() => void) | undefined;

  /** A poller over `filter` (in SQL) whose pages go to `push` (standing for `size()` clients). */
  const poller = (key: string, filter: TradeFilter, push: (trades: Trade[]) => void, size?: () => number) => {
    const stream = createTradeStream({ query: live.query, table, filter, lateMs });
    let more = false;
    return live.join<Trade[]>(
      {
        key,
        tables: [table],
        slideMs: 0,
        stream: true,
        poll: async () => {
          const page = await stream();
          more = page.more;
          return page.trades.length > 0 ? page.trades : undefined;
        },
        again: () => more,
      },
      size ? { push, size } : { push },
    );
  };

  const deliver = (trades: Trade[]) => {
    for (const group of groups.values()) {
      const mine = trades.filter(group.match);
      if (mine.length === 0) continue;
      for (const push of group.pushes) push(mine);
    }
  };

  return {
    join(filter, push) {
      if (!shared) return poller(filterKey(filter), filter, push);
      const key = filterKey(filter);
      let group = groups.get(key);
      if (!group) {
        group = { match: tradeMatcher(filter), pushes: new Set() };
        groups.set(key, group);
      }
      group.pushes.add(push);
      leaveShared ??= poller(filterKey({}), {}, deliver, () =>
        [...groups.values()].reduce((n, g) => n + g.pushes.size, 0),
      );
      const joined = group;
      return () => {
        joined.pushes.delete(push);
        if (joined.pushes.size === 0 && groups.get(key) === joined) groups.delete(key);
        if (groups.size === 0 && leaveShared) {
          leaveShared();
          leaveShared = undefined;
        }
      };
    },
  };
}
