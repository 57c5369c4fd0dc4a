// Time ranges and calendar buckets shared by the statistics queries. Buckets are a closed set:
// each maps to a QuestDB stride literal written here, never taken from the request.
import { BadInputError } from "../errors.ts";
import { formatIsoMicros, type Micros } from "../time.ts";

export interface TimeRange {
  /** Inclusive. */
  from: Micros;
  /** Exclusive. */
  to: Micros;
}

export const TIME_BUCKETS = [
  "MINUTE",
  "FIVE_MINUTES",
  "FIFTEEN_MINUTES",
  "HOUR",
  "FOUR_HOURS",
  "DAY",
  "WEEK",
  "MONTH",
] as const;
export type TimeBucket = (typeof TIME_BUCKETS)[number];

const MINUTE = 60_000_000n;
const DAY = 1440n * MINUTE;

/** Fixed-length buckets in µs (WEEK and MONTH are calendar units, handled apart). */
const FIXED: Partial<Record<TimeBucket, bigint>> = {
  MINUTE,
  FIVE_MINUTES: 5n * MINUTE,
  FIFTEEN_MINUTES: 15n * MINUTE,
  HOUR: 60n * MINUTE,
  FOUR_HOURS: 240n * MINUTE,
  DAY,
};

/** Whether every bucket of this size lies inside one UTC day (the fixed strides, up to a day, divide the day). */
export const withinADay = (bucket: TimeBucket): boolean => FIXED[bucket] !== undefined;

/** Whether every bucket of this size lies inside one hour (MINUTE to HOUR divide the hour). */
export const withinAnHour = (bucket: TimeBucket): boolean => (FIXED[bucket] ?? DAY) <= 60n * MINUTE;

/**
 * QuestDB stride for SAMPLE BY / timestamp_floor. With ALIGN TO CALENDAR (UTC) every stride up
 * to a day divides the day, so buckets start at multiples of the stride since midnight UTC;
 * `1w` starts on Monday 00:00 UTC, `1M` on the first of the month.
 */
export const STRIDE: Readonly<Record<TimeBucket, string>> = {
  MINUTE: "1m",
  FIVE_MINUTES: "5m",
  FIFTEEN_MINUTES: "15m",
  HOUR: "1h",
  FOUR_HOURS: "4h",
  DAY: "1d",
  WEEK: "1w",
  MONTH: "1M",
};

/** Most buckets one query may produce (per group), so a request cannot ask for millions. */
export const MAX_BUCKETS = 10_000;

const MONDAY_OFFSET = 4n * DAY; // 1970-01-01 was a Thursday; 1970-01-05 a Monday

const floorDiv = (a: bigint, b: bigint) => (a >= 0n || a % b === 0n ? a / b : a / b - 1n);

/** Start of the bucket holding `t` (UTC calendar). */
export function bucketStart(t: Micros, bucket: TimeBucket): Micros {
  const fixed = FIXED[bucket];
  if (fixed !== undefined) return floorDiv(t, fixed) * fixed;
  if (bucket === "WEEK") return floorDiv(t - MONDAY_OFFSET, 7n * DAY) * 7n * DAY + MONDAY_OFFSET;
  const date = new Date(Number(floorDiv(t, 1000n)));
  return BigInt(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)) * 1000n;
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucket(start: Micros, bucket: TimeBucket): Micros {
  const fixed = FIXED[bucket];
  if (fixed !== undefined) return start + fixed;
  if (bucket === "WEEK") return start + 7n * DAY;
  const date = new Date(Number(start / 1000n));
  return BigInt(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)) * 1000n;
}

// Bigints: Math.max and Math.min do not take them.
const later = (a: Micros, b: Micros) => (a < b ? b : a);
const earlier = (a: Micros, b: Micros) => (a < b ? a : b);

/** The sub-range of `range` covered by a run of consecutive bucket starts. */
export function bucketRunRange(run: readonly Micros[], bucket: TimeBucket, range: TimeRange): TimeRange {
  const first = run[0] as Micros;
  const end = nextBucket(run[run.length - 1] as Micros, bucket);
  return { from: later(first, range.from), to: earlier(end, range.to) };
}

/** Longest range a query may span: 10 years (3,660 days), well beyond any retention. */
export const MAX_RANGE_DAYS = 3660;

/** Refuses a range whose from is not before to, or that spans more than MAX_RANGE_DAYS. */
export function checkFromTo(field: string, from: Micros, to: Micros): void {
  if (from >= to) {
    throw new BadInputError(
      field,
      `from (${formatIsoMicros(from)}) must be before to (${formatIsoMicros(to)}); to is exclusive`,
    );
  }
  if (to - from > BigInt(MAX_RANGE_DAYS) * DAY) {
    throw new BadInputError(field, `spans more than ${MAX_RANGE_DAYS} days; ask for a shorter range`);
  }
}

/** Checks a range (and its bucket count) and returns every bucket start from floor(from) to before `to`. */
export function checkRange(range: TimeRange, bucket: TimeBucket | null | undefined): Micros[] {
  checkFromTo("range", range.from, range.to);
  if (!bucket) return [];
  const starts: Micros[] = [];
  for (let start = bucketStart(range.from, bucket); start < range.to; start = nextBucket(start, bucket)) {
    if (starts.length === MAX_BUCKETS) {
      throw new BadInputError(
        "bucket",
        `the range holds more than ${MAX_BUCKETS} ${bucket} buckets; choose a larger bucket or a shorter range`,
      );
    }
    starts.push(start);
  }
  return starts;
}

/** `SAMPLE BY <stride> ALIGN TO CALENDAR`: the stride comes from the closed set above. */
export function sampleBy(bucket: TimeBucket): string {
  return `SAMPLE BY ${STRIDE[bucket]} ALIGN TO CALENDAR`;
}

/** Range parameters as QuestDB reads them (ISO-8601, µs); they drive partition pruning. */
export function rangeParams(range: TimeRange): [string, string] {
  return [formatIsoMicros(range.from), formatIsoMicros(range.to)];
}
