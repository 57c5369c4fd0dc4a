// Inputs shared by the statistics queries: the time range and the calendar bucket.
import { MAX_RANGE_DAYS, TIME_BUCKETS } from "../analytics/range.ts";
import { builder } from "./builder.ts";
import "./scalars.ts";

export const TimeRangeRef = builder.inputType("TimeRange", {
  description: `A UTC time range: from inclusive, to exclusive; from must be before to, and the range at most ${MAX_RANGE_DAYS} days long.`,
  fields: (t) => ({
    from: t.field({ type: "Timestamp", required: true, description: "Inclusive." }),
    to: t.field({ type: "Timestamp", required: true, description: "Exclusive." }),
  }),
});

export const TimeBucketEnum = builder.enumType("TimeBucket", {
  description:
    "Calendar buckets in UTC: MINUTE to DAY start at multiples of their length since midnight UTC, WEEK on Monday 00:00 UTC, MONTH on the first day of the month. The first and last buckets are clipped to the range.",
  values: TIME_BUCKETS,
});

/** A stable text form of resolver arguments (bigints included), for per-request memo keys. */
export const argsKey = (args: unknown): string =>
  JSON.stringify(args, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
