// Timestamp and Long. A refused value is a BAD_USER_INPUT error; graphql-js prefixes it with the
// variable and the path (`Variable "$input" got invalid value … at "input.timestamp"`).
import { Kind } from "graphql";
import { clientError } from "../errors.ts";
import { formatIsoMicros, MAX_OFFSET_MINUTES, MAX_TIMESTAMP_LENGTH, parseIsoMicros } from "../time.ts";
import { builder } from "./builder.ts";

/** Long's range: 64-bit signed without -2^63, which QuestDB reads as NULL. */
export const LONG_MAX = 2n ** 63n - 1n;
export const LONG_MIN = -LONG_MAX;

/** The value itself in a message only when it is short (a megabyte string is not echoed). */
const shown = (value: string) => (value.length <= 64 ? JSON.stringify(value) : `of ${value.length} characters`);

function parseTimestamp(value: unknown): bigint {
  if (typeof value !== "string") throw clientError("BAD_USER_INPUT", "Timestamp must be an ISO-8601 string");
  const parsed = parseIsoMicros(value);
  if (typeof parsed !== "bigint") throw clientError("BAD_USER_INPUT", `Timestamp ${shown(value)}: ${parsed.error}`);
  return parsed;
}

/**
 * The last timestamp written and its text: bucketed rows come in bucket order, one per group, so
 * most of a month's 4,320 hourly rows by pair repeat the previous row's bucket.
 */
let lastMicros: bigint | undefined;
let lastText = "";
const serializeTimestamp = (value: bigint): string => {
  if (value !== lastMicros) {
    lastText = formatIsoMicros(value);
    lastMicros = value;
  }
  return lastText;
};

builder.scalarType("Timestamp", {
  description: `A UTC instant with microsecond precision, as ISO-8601 / RFC 3339: \`2026-01-31T12:00:00.123456Z\`. Input accepts Z or an offset from -${MAX_OFFSET_MINUTES / 60}:00 to +${MAX_OFFSET_MINUTES / 60}:00 (minutes 00–59), 0 to 6 fractional digits (more only if zeros), a real calendar date and time (no Feb 30, hour 24 or second 60), years 0001 to 9999, at most ${MAX_TIMESTAMP_LENGTH} characters; output always has 6 digits and Z.`,
  serialize: serializeTimestamp,
  parseValue: parseTimestamp,
  parseLiteral: (ast) => parseTimestamp(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseLong(value: unknown): bigint {
  let result: bigint | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) result = BigInt(value);
  // Length first: the regex never sees a long string.
  else if (typeof value === "string" && value.length <= 20 && /^-?\d{1,19}$/.test(value)) result = BigInt(value);
  if (result === undefined || result < LONG_MIN || result > LONG_MAX) {
    const got = typeof value === "string" ? shown(value) : typeof value === "number" ? String(value) : typeof value;
    throw clientError(
      "BAD_USER_INPUT",
      `Long must be an integer from -(2^63-1) to 2^63-1, as a JSON number up to 2^53 or a decimal string; got ${got}`,
    );
  }
  return result;
}

builder.scalarType("Long", {
  description:
    "A 64-bit integer (lamports, slots, microseconds) from -(2^63-1) to 2^63-1. Output is a decimal string so no digit is lost; input takes a decimal string or an integer JSON number up to 2^53. Fields say their own narrower bounds (stored figures: 0 to 2^53-1).",
  serialize: (value) => value.toString(),
  parseValue: parseLong,
  parseLiteral: (ast) => parseLong(ast.kind === Kind.INT || ast.kind === Kind.STRING ? ast.value : undefined),
});
