// Issue 10, point 1: analytics memory is bounded by the answer, not by the data. An answer larger
// than MAX_RESULT_ROWS (buckets × groups) is refused before its rows are read, and no statement
// brings more than about MAX_RESULT_ROWS rows into Node: statements whose rows are not answer rows
// (histogram bins) run over consecutive runs of whole buckets (or sets of stages) small enough for
// that. See docs/queries.md ("Memory and result bounds").
import { LimitError } from "../errors.ts";
import type { SqlStatement } from "./sql.ts";

const WHAT = "The answer's rows (buckets × groups)";
const HINT = "choose a larger bucket, a shorter range or fewer groupBy keys";

/** Refuses an answer of `rows` rows when it is over `max` (MAX_RESULT_ROWS). */
export function checkResultRows(max: number, rows: number): void {
  if (rows > max) throw new LimitError("MAX_RESULT_ROWS", max, rows, WHAT, { hint: HINT });
}

/** Refusal when a statement read with `limited(…, max + 1)` brought back the extra row. */
export const tooManyRows = (max: number, what = WHAT, hint = HINT): LimitError =>
  new LimitError("MAX_RESULT_ROWS", max, max + 1, what, { hint, atLeast: true });

/** The statement with `LIMIT n` appended: QuestDB stops sending after n rows. */
export function limited(statement: SqlStatement, n: number): SqlStatement {
  return { ...statement, sql: `${statement.sql} LIMIT ${Math.trunc(n)}` };
}

/** Rows → null when there are more than `max` of them, else `map(rows)`. */
export const unlessOver =
  <R, T>(max: number, map: (rows: R[]) => T) =>
  (rows: R[]): T | null =>
    rows.length > max ? null : map(rows);

/**
 * Consecutive runs of `items` whose weights add up to at most `max` each (a single item heavier
 * than `max` is a run of its own). Runs whose weight is 0 are left out: they need no statement.
 */
export function runsUnder<T>(items: readonly T[], weight: (item: T) => number, max: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let sum = 0;
  const close = () => {
    if (run.length > 0 && sum > 0) runs.push(run);
    run = [];
    sum = 0;
  };
  for (const item of items) {
    const w = weight(item);
    if (run.length > 0 && sum + w > max) close();
    run.push(item);
    sum += w;
  }
  close();
  return runs;
}
