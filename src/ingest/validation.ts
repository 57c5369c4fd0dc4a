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

  number(field: string, value: number, options: { min?: number; max?: number } = {}): number {
    if (!Number.isFinite(value)) this.fail(field, "must be a finite number");
    else if (options.min !== undefined && value < options.min) {
      this.fail(field, options.min === 0 ? "must not be negative" : `must be at least ${options.min}`);
    } else if (options.max !== undefined && value > options.max) this.fail(field, `must be at most ${options.max}`);
    return value;
  }

  optionalNumber(field: string, value: number | null | undefined, options: { min?: number; max?: number } = {}) {
    return value === null || value === undefined ? undefined : this.number(field, value, options);
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
  name(field: string, value: string, maxLength = 64): string {
    if (value.length === 0 || value.length > maxLength) this.fail(field, `must be 1 to ${maxLength} characters long`);
    else if (!NAME.test(value)) {
      this.fail(field, "may contain only letters, digits and _ . : / - and must start with a letter or digit");
    }
    return value;
  }

  optionalName(field: string, value: string | null | undefined): string | undefined {
    return value === null || value === undefined ? undefined : this.name(field, value);
  }

  /** Idempotency keys: 1–128 printable ASCII characters. */
  key(field: string, value: string): string {
    if (value.length === 0 || value.length > 128) this.fail(field, "must be 1 to 128 characters long");
    else if (!KEY.test(value)) this.fail(field, "may contain only printable ASCII characters without spaces");
    return value;
  }

  /** A Solana transaction signature: base58, 64 to 88 characters. */
  signature(field: string, value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (value.length < 64 || value.length > 88 || !BASE58.test(value)) {
      this.fail(field, "must be a base58 transaction signature (64 to 88 characters)");
    }
    return value;
  }

  /** Defaults to now; refuses times beyond the clock-skew allowance or outside retention. */
  timestamp(field: string, parsed: Micros | null | undefined): Micros {
    const now = (this.limits.now ?? nowMicros)();
    if (parsed === null || parsed === undefined) return now;
    if (parsed > now + BigInt(this.limits.maxFutureMs) * 1000n) {
      this.fail(field, `is more than ${this.limits.maxFutureMs} ms in the future; check the bot's clock`);
    } else if (parsed < now - BigInt(this.limits.retentionDays) * MICROS_PER_DAY) {
      this.fail(field, `is older than the ${this.limits.retentionDays}-day retention and would be dropped`);
    }
    return parsed;
  }
}
