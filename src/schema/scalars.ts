import { GraphQLError, Kind } from "graphql";
import { formatIsoMicros, parseIsoMicros } from "../time.ts";
import { builder } from "./builder.ts";

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function parseTimestamp(value: unknown): bigint {
  if (typeof value !== "string") throw new GraphQLError("Timestamp must be an ISO-8601 string");
  const parsed = parseIsoMicros(value);
  if (typeof parsed !== "bigint") throw new GraphQLError(`Timestamp ${JSON.stringify(value)}: ${parsed.error}`);
  return parsed;
}

builder.scalarType("Timestamp", {
  description:
    "A UTC instant with microsecond precision, as ISO-8601: `2026-01-31T12:00:00.123456Z`. Input accepts Z or an offset and 0 to 6 fractional digits; output always has 6 digits and Z.",
  serialize: (value) => formatIsoMicros(value),
  parseValue: parseTimestamp,
  parseLiteral: (ast) => parseTimestamp(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseLong(value: unknown): bigint {
  let result: bigint | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) result = BigInt(value);
  else if (typeof value === "string" && /^-?\d{1,19}$/.test(value)) result = BigInt(value);
  if (result === undefined || result < LONG_MIN || result > LONG_MAX) {
    throw new GraphQLError(
      `Long must be a 64-bit integer, as a JSON number up to 2^53 or a decimal string; got ${JSON.stringify(value)}`,
    );
  }
  return result;
}

builder.scalarType("Long", {
  description:
    "A 64-bit integer (lamports, slots, microseconds). Output is a decimal string so no digit is lost; input takes a string or an integer number up to 2^53.",
  serialize: (value) => value.toString(),
  parseValue: parseLong,
  parseLiteral: (ast) => parseLong(ast.kind === Kind.INT || ast.kind === Kind.STRING ? ast.value : undefined),
});
