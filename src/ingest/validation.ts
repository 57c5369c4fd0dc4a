// Field checks shared by every record type. Each check appends a FieldProblem instead of
// throwing, so one request reports every bad item and field at once.
import { MICROS_PER_DAY, type Micros, nowMicros } from "../time.ts";

export interface FieldProblem {
  /** Position in the request's list (0 for single-item mutations). */
  index: number;
  /** GraphQL input field name, e.g. `baseAmount`. */
  field: string;
  reason: string;
}

export interface ValidationLimits {
  retentionDays: number;
  /** How far in the future a timestamp may be (clock skew allowance). */
  maxFutureMs: number;
  /** Fixed "now" for tests; default the wall clock. */
  now?: () => Micros;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;
const KEY = /^[\x21-\x7e]+$/; // printable ASCII, no spaces or control characters
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
export const MAX_SAFE_LONG = BigInt(Number.MAX_SAFE_INTEGER);

/** Names (tokens, strategies, venues, stages): 1–64 characters. */
export const MAX_NAME_LENGTH = 64;
/** Idempotency keys (tradeId, metricId): 1–128 printable ASCII. */
export const MAX_KEY_LENGTH = 128;
/**
 * Largest |amount| of a money or token figure (amounts, prices, transfer fees, PnL, profits, loss
 * avoided): 1e15. A sum over a billion rows stays below 1e24, far from a double's overflow, and a
 * value this large is a unit mistake (lamports sent as SOL), not a trade.
 */
export const MAX_AMOUNT = 1e15;
/**
 * Largest |slippage|, as a fraction: 1 is 100 %. A bot sending basis points (50 for 0.5 %) or
 * percent (2 for 2 %) is refused with both readings named, rather than stored as 5,000 %.
 */
export const MAX_SLIPPAGE = 1;

/** The reason a name is refused, or undefined. Length first: a long string never reaches the regex. */
export function nameProblem(value: string, maxLength = MAX_NAME_LENGTH): string | undefined {
  if (value.length === 0 || value.length > maxLength) return `must be 1 to ${maxLength} characters long`;
  if (!NAME.test(value)) {
    return "may contain only letters, digits and _ . : / - and must start with a letter or digit";
  }
  return undefined;
}

/** The reason an idempotency key is refused, or undefined. */
export function keyProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_KEY_LENGTH) return `must be 1 to ${MAX_KEY_LENGTH} characters long`;
  if (!KEY.test(value)) return "may contain only printable ASCII characters without spaces";
  return undefined;
}

/** The reason a transaction signature is refused, or undefined. */
export function signatureProblem(value: string): string | undefined {
  return value.length < 64 || value.length > 88 || !BASE58.test(value)
    ? "must be a base58 transaction signature (64 to 88 characters)"
    : undefined;
}

/** The reason a number is refused, or undefined. */
export function numberProblem(value: number, min?: number, max?: number): string | undefined {
  if (!Number.isFinite(value)) return "must be a finite number";
  if (min !== undefined && value < min) return min === 0 ? "must not be negative" : `must be at least ${min}`;
  if (max !== undefined && value > max) return `must be at most ${max}`;
  return undefined;
}

/**
 * The reason a fraction (slippage) is refused; past its bounds, the value read as percent and as
 * basis points, since that is the mistake a number like 50 or 2 almost always is.
 */
export function fractionProblem(value: number, min: number, max: number): string | undefined {
  const problem = numberProblem(value, min, max);
  if (!problem || !Number.isFinite(value) || (value >= -MAX_SLIPPAGE && value <= MAX_SLIPPAGE)) return problem;
  return `must be a fraction from ${min} to ${max} (0.005 is 0.5 %); ${value} looks like percent (${value / 100}) or basis points (${value / 10_000})`;
}

/** Bounds of the record* number fields (one object each, not one per row). */
export const AMOUNT = { min: 0, max: MAX_AMOUNT } as const;
export const SIGNED_AMOUNT = { min: -MAX_AMOUNT, max: MAX_AMOUNT } as const;
export const SLIPPAGE = { min: -MAX_SLIPPAGE, max: MAX_SLIPPAGE } as const;
export const EXPECTED_SLIPPAGE = { min: 0, max: MAX_SLIPPAGE } as const;

export class Checker {
  readonly problems: FieldProblem[] = [];
  constructor(
    private readonly index: number,
    private readonly limits: ValidationLimits,
  ) {}

  private fail(field: string, reason: string): undefined {
    this.problems.push({ index: this.index, field, reason });
    return undefined;
  }

  private check(field: string, problem: string | undefined): void {
    if (problem !== undefined) this.fail(field, problem);
  }

  /** A fraction (slippage): fractionProblem's message, which suggests the unit probably meant. */
  fraction(field: string, value: number, options: { min: number; max: number }): number {
    this.check(field, fractionProblem(value, options.min, options.max));
    return value;
  }

  number(field: string, value: number, options: { min?: number; max?: number } = {}): number {
    this.check(field, numberProblem(value, options.min, options.max));
    return value;
  }

  optionalNumber(field: string, value: number | null | undefined, options: { min?: number; max?: number } = {}) {
    return value === null || value === undefined ? undefined : this.number(field, value, options);
  }

  /** An optional whole number (an INT column) within bounds. */
  optionalInteger(field: string, value: number | null | undefined, options: { min: number; max: number }) {
    if (value === null || value === undefined) return undefined;
    if (!Number.isInteger(value)) this.fail(field, "must be a whole number");
    else this.number(field, value, options);
    return value;
  }

  /** Non-negative integers that QuestDB stores as LONG; ILP carries them as exact JS numbers. */
  long(field: string, value: bigint): bigint {
    if (value < 0n) this.fail(field, "must not be negative");
    else if (value > MAX_SAFE_LONG) this.fail(field, `must be at most ${MAX_SAFE_LONG}`);
    return value;
  }

  optionalLong(field: string, value: bigint | null | undefined): bigint | undefined {
    return value === null || value === undefined ? undefined : this.long(field, value);
  }

  /** Token mints, strategy and venue names: 1–64 characters of letters, digits and `_.:/-`. */
  name(field: string, value: string, maxLength = MAX_NAME_LENGTH): string {
    this.check(field, nameProblem(value, maxLength));
    return value;
  }

  optionalName(field: string, value: string | null | undefined): string | undefined {
    return value === null || value === undefined ? undefined : this.name(field, value);
  }

  /** Idempotency keys: 1–128 printable ASCII characters. */
  key(field: string, value: string): string {
    this.check(field, keyProblem(value));
    return value;
  }

  /** A Solana transaction signature: base58, 64 to 88 characters. */
  signature(field: string, value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) return undefined;
    this.check(field, signatureProblem(value));
    return value;
  }

  /** Defaults to now; refuses times beyond the clock-skew allowance or outside retention. */
  /**
   * The row's time: the client's, or now when it sent none. With an idempotency key (`keyedBy`,
   * the name of the key field the client sent) a timestamp is required: the key and the timestamp
   * together identify the row, so a retry stamped "now" again would be stored as a second row.
   */
  timestamp(field: string, parsed: Micros | null | undefined, keyedBy?: string): Micros {
    const now = (this.limits.now ?? nowMicros)();
    if (parsed === null || parsed === undefined) {
      if (keyedBy !== undefined) {
        this.fail(
          field,
          `is required with ${keyedBy}: the key and the timestamp together identify the row, so a retry without one would be stored twice; send the time the bot saw the event`,
        );
      }
      return now;
    }
    if (parsed > now + BigInt(this.limits.maxFutureMs) * 1000n) {
      this.fail(field, `is more than ${this.limits.maxFutureMs} ms in the future; check the bot's clock`);
    } else if (parsed < now - BigInt(this.limits.retentionDays) * MICROS_PER_DAY) {
      this.fail(field, `is older than the ${this.limits.retentionDays}-day retention and would be dropped`);
    }
    return parsed;
  }
}
