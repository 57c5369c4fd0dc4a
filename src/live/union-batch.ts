// Live polls that start together run as one statement (issue 15, point 3). A commit makes
// every tradeRecorded poller due at once; each used to send its own statement, and 25 of them
// queued on the light pool's 3 connections were the largest share of an event's latency
// (bench:live, "query"); so did the liveMetrics polls, due together at every second. Statements
// of the same name (one shape of columns: tradeRecorded's, liveMetrics') sent in one turn of the
// event loop are joined with UNION ALL into one: each keeps its branches, in its order (QuestDB opens a UNION
// ALL's branches in order, so a poll's count branch still sees every commit its rows saw), its
// parameters are renumbered after the previous ones', and its `part` numbers are moved to a
// range of its own, by which the rows are handed back to each caller.
import type { SqlStatement } from "../analytics/sql.ts";
import type { LiveQuery } from "./live-queries.ts";

type PartRow = { part: number };

/** A statement made of branches `(SELECT <k> part, …)`, k from 0 up; joined ones run under the first one's name. */
export type PartQuery = <R extends PartRow>(statement: SqlStatement) => Promise<R[]>;

interface Call {
  statement: SqlStatement;
  resolve: (rows: PartRow[]) => void;
  reject: (error: unknown) => void;
}

/** `$n` placeholders moved by `offset`; identifiers and values never hold a `$` here. */
const shiftParams = (text: string, offset: number) =>
  offset === 0 ? text : text.replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`);

/** Most statements joined into one (beyond, another statement). */
const MAX_JOINED = 64;

export function createUnionBatch(query: LiveQuery): PartQuery {
  /** Calls of this turn, by statement name (the statements of a name have the same columns). */
  let pending = new Map<string, Call[]>();

  const run = async (calls: Call[]) => {
    const params: unknown[] = [];
    /** The first part number of each call in the joined statement. */
    const firsts: number[] = [];
    let next = 0;
    const texts = calls.map(({ statement }) => {
      firsts.push(next);
      const first = next;
      const text = shiftParams(statement.sql, params.length).replace(/\(SELECT (\d+) part,/g, (_m, k: string) => {
        next = Math.max(next, first + Number(k) + 1);
        return `(SELECT ${first + Number(k)} part,`;
      });
      params.push(...statement.params);
      return text;
    });
    try {
      const name = calls[0]?.statement.name ?? "live.union";
      const result = await query<PartRow>({ name, sql: texts.join(" UNION ALL "), params });
      const rows: PartRow[][] = calls.map(() => []);
      for (const row of result) {
        // The call whose range holds the part: the last one starting at or before it.
        let i = firsts.length - 1;
        while (i > 0 && (firsts[i] as number) > row.part) i--;
        rows[i]?.push({ ...row, part: row.part - (firsts[i] as number) });
      }
      for (const [i, call] of calls.entries()) call.resolve(rows[i] ?? []);
    } catch (error) {
      for (const call of calls) call.reject(error);
    }
  };

  const flush = () => {
    const byName = pending;
    pending = new Map();
    for (const calls of byName.values()) {
      for (let i = 0; i < calls.length; i += MAX_JOINED) void run(calls.slice(i, i + MAX_JOINED));
    }
  };

  return <R extends PartRow>(statement: SqlStatement) =>
    new Promise<R[]>((resolve, reject) => {
      if (pending.size === 0) setImmediate(flush);
      const calls = pending.get(statement.name) ?? [];
      calls.push({ statement, resolve: (rows) => resolve(rows as R[]), reject });
      pending.set(statement.name, calls);
    });
}
