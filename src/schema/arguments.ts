// Checks of query and subscription arguments, run in the resolver before anything reaches SQL:
// every string filter gets the same length and character rules as on ingest (length first, so
// a megabyte string never reaches a regex), lists a maximum size, numbers their documented
// bounds. Each refusal is a BadInputError naming the argument's path (`filter.strategy`).
import { checkFromTo } from "../analytics/range.ts";
import type { Bounds, TradeFilter } from "../analytics/trades.ts";
import { BadInputError } from "../errors.ts";
import {
  keyProblem,
  MAX_AMOUNT,
  MAX_SAFE_LONG,
  MAX_SLIPPAGE,
  nameProblem,
  numberProblem,
  signatureProblem,
} from "../ingest/validation.ts";

/** Most items of a list argument (filter.mevStatus, groupBy); duplicates are dropped. */
export const MAX_LIST_ITEMS = 100;

const check = (field: string, problem: string | undefined) => {
  if (problem !== undefined) throw new BadInputError(field, problem);
};

/** An optional name argument (strategy, stage, token, venue). */
export function checkName(field: string, value: string | null | undefined): void {
  if (value != null) check(field, nameProblem(value));
}

/** A money argument (solPrice, startingBalance, alert thresholds): 0 to MAX_AMOUNT. */
export function checkAmount(field: string, value: number | null | undefined): void {
  if (value != null) check(field, numberProblem(value, 0, MAX_AMOUNT));
}

/** A list argument: at most MAX_LIST_ITEMS; returns it without duplicates (first occurrence kept). */
export function checkList<T>(field: string, list: readonly T[] | null | undefined): T[] | null | undefined {
  if (list == null) return list;
  if (list.length > MAX_LIST_ITEMS) {
    throw new BadInputError(field, `has ${list.length} items; at most ${MAX_LIST_ITEMS} are accepted`);
  }
  return [...new Set(list)];
}

function checkBounds<T extends number | bigint>(
  field: string,
  bounds: Bounds<T> | null | undefined,
  min: T,
  max: T,
  unit: string,
): void {
  if (bounds == null) return;
  for (const side of ["min", "max"] as const) {
    const value = bounds[side];
    if (value != null && (value < min || value > max)) {
      throw new BadInputError(`${field}.${side}`, `must be from ${min} to ${max} (${unit})`);
    }
  }
}

/** Checks a trades / tradeRecorded filter; returns it with mevStatus deduplicated. */
export function checkTradeFilter(filter: TradeFilter | null | undefined, field = "filter"): TradeFilter {
  if (filter == null) return {};
  for (const key of ["baseToken", "quoteToken", "strategy", "venue", "writer"] as const) {
    checkName(`${field}.${key}`, filter[key]);
  }
  if (filter.pair != null) {
    check(`${field}.pair.baseToken`, nameProblem(filter.pair.baseToken));
    check(`${field}.pair.quoteToken`, nameProblem(filter.pair.quoteToken));
  }
  if (filter.tradeId != null) check(`${field}.tradeId`, keyProblem(filter.tradeId));
  if (filter.signature != null) check(`${field}.signature`, signatureProblem(filter.signature));
  if (filter.from != null && filter.to != null) checkFromTo(field, filter.from, filter.to);
  checkBounds(`${field}.actualSlippage`, filter.actualSlippage, -MAX_SLIPPAGE, MAX_SLIPPAGE, "a fraction");
  checkBounds(`${field}.expectedSlippage`, filter.expectedSlippage, -MAX_SLIPPAGE, MAX_SLIPPAGE, "a fraction");
  for (const key of ["transactionFee", "priorityFee"] as const) {
    checkBounds(`${field}.${key}`, filter[key], 0n, MAX_SAFE_LONG, "lamports");
  }
  checkBounds(`${field}.totalFee`, filter.totalFee, 0n, 2n * MAX_SAFE_LONG, "lamports");
  const mevStatus = checkList(`${field}.mevStatus`, filter.mevStatus);
  return mevStatus === filter.mevStatus ? filter : { ...filter, mevStatus };
}
