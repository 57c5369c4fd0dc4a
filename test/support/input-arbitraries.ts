// fast-check generators of the API's inputs for test/input-properties.test.ts: each field value
// carries the fault it should cause, so a property can predict the answer.
import fc from "fast-check";
import { formatIsoMicros, type Micros, nowMicros } from "../../src/time.ts";

const MAX_SAFE = 2n ** 53n - 1n;
const LONG_MAX = 2n ** 63n - 1n;
const MINUTE = 60_000_000n;

// ---------------------------------------------------------------------------------------------
// Generators: each field value carries the fault it should cause: none, a scalar's refusal
// (variable coercion, HTTP 400) or the resolver's (HTTP 200, extensions.problems).

export const MEV_STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;

export type Fault = "none" | "scalar" | "resolver";
interface Gen<T = unknown> {
  value: T;
  fault: Fault;
}
export const ok = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Gen<T>> => arb.map((value) => ({ value, fault: "none" }));
export const bad = <T>(arb: fc.Arbitrary<T>, fault: Fault = "resolver"): fc.Arbitrary<Gen<T>> =>
  arb.map((value) => ({ value, fault }));
/** A field's valid values, and its faulty ones (if it has any the schema's types allow). */
interface Field {
  ok: fc.Arbitrary<Gen>;
  bad?: fc.Arbitrary<Gen>;
}
export const field = (good: fc.Arbitrary<Gen>, ...faulty: fc.Arbitrary<Gen>[]): Field =>
  faulty.length > 0 ? { ok: good, bad: fc.oneof(...faulty) } : { ok: good };
/** Optional fields: absent (no fault) or the field's value. */
export const optional = (f: Field): Field => ({
  ok: fc.oneof(fc.constant({ value: undefined, fault: "none" as Fault }), f.ok),
  ...(f.bad ? { bad: f.bad } : {}),
});

const oddStrings = fc.oneof(
  fc.constant(""),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((s) => !/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/.test(s)),
  fc.constantFrom(
    "has space",
    "semi;colon",
    "quote'",
    "ключ",
    "🚀moon",
    "a\u0000b",
    "x".repeat(65),
    "y".repeat(100_000),
  ),
);
export const name = field(ok(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/)), bad(oddStrings));
export const key = field(
  ok(fc.stringMatching(/^[\x21-\x7e]{1,100}$/)),
  bad(fc.constantFrom("", "has space", "ключ", "k".repeat(129), "z".repeat(100_000))),
);
export const signature = field(
  ok(fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/)),
  bad(fc.constantFrom("0OIl".repeat(20), "short", "1".repeat(89))),
);
export const amount = field(
  ok(fc.oneof(fc.constantFrom(0, 1e15, 5e-324, 1), fc.double({ min: 0, max: 1e15, noNaN: true }))),
  bad(
    fc.oneof(
      fc.constantFrom(1e300, -1, 1.0000000000000002e15, -5e-324),
      fc.double({ min: 1e15, minExcluded: true, noNaN: true, noDefaultInfinity: true }),
    ),
  ),
);
export const signedAmount = field(
  ok(fc.oneof(fc.constantFrom(-1e15, 1e15, 0), fc.double({ min: -1e15, max: 1e15, noNaN: true }))),
  bad(fc.constantFrom(1e300, -1e300, -1.0000000000000002e15)),
);
export const slippage = (min: number) =>
  field(
    ok(fc.oneof(fc.constantFrom(min, 1), fc.double({ min, max: 1, noNaN: true }))),
    // Basis points and percent: the unit mistakes the bound is there for.
    bad(fc.constantFrom(1.0000000000000002, min - 0.5, 50, 2, 1e300)),
  );
export const long = field(
  ok(fc.oneof(fc.bigInt(0n, MAX_SAFE).map(String), fc.nat(), fc.constant(String(MAX_SAFE)))),
  bad(fc.oneof(fc.bigInt(MAX_SAFE + 1n, LONG_MAX).map(String), fc.constantFrom("-1", -7))),
  bad(
    fc.constantFrom(
      "9223372036854775808",
      "-9223372036854775808",
      "1.5",
      1.5,
      "0x10",
      "",
      "1e3",
      1e20,
      "9".repeat(5000),
    ),
    "scalar",
  ),
);
/** A valid timestamp in the last ten days, written with any offset and 0–6 fractional digits. */
const recentTimestamp: fc.Arbitrary<Gen<string> & { utc: string }> = fc
  .record({
    ago: fc.bigInt(MINUTE, 10n * 1440n * MINUTE),
    digits: fc.integer({ min: 0, max: 6 }),
    offset: fc.integer({ min: -14 * 60, max: 14 * 60 }),
    colon: fc.boolean(),
  })
  .map(({ ago, digits, offset, colon }) => {
    const unit = 10n ** BigInt(6 - digits);
    const micros: Micros = ((nowMicros() - ago) / unit) * unit;
    const local = formatIsoMicros(micros + BigInt(offset) * MINUTE);
    const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
    const mm = String(Math.abs(offset) % 60).padStart(2, "0");
    const zone = offset === 0 && !colon ? "Z" : `${offset < 0 ? "-" : "+"}${hh}${colon ? ":" : ""}${mm}`;
    const text = `${local.slice(0, 19)}${digits > 0 ? local.slice(19, 20 + digits) : ""}${zone}`;
    return { value: text, fault: "none" as Fault, utc: formatIsoMicros(micros) };
  });
export const timestamp = field(
  recentTimestamp,
  bad(fc.constantFrom("2020-01-01T00:00:00Z", "2999-01-01T00:00:00+14:00")),
  bad(
    fc.oneof(
      fc.constantFrom(
        "2026-01-01T00:00:00+00:99",
        "2026-01-01T00:00:00+15:00",
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:60Z",
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:00.1234567Z",
        "0000-01-01T00:00:00Z",
        "",
        "2".repeat(100_000),
      ),
      fc.string({ unit: "grapheme", maxLength: 30 }),
    ),
    "scalar",
  ),
);

export type Fields = Record<string, Field>;
export interface Item {
  input: Record<string, unknown>;
  faults: Map<string, Fault>;
  utc: string | undefined;
}
/**
 * An input object. Half the runs are clean; in the others each field is faulty with a
 * probability of 8 % or 40 %, so both answers are exercised.
 */
export function item(fields: Fields): fc.Arbitrary<Item> {
  const picks = Object.fromEntries(
    Object.entries(fields).map(([name, f]) => [name, fc.record({ ok: f.ok, bad: f.bad ?? f.ok, p: fc.nat(99) })]),
  );
  return fc.record({ rate: fc.constantFrom(0, 0, 8, 40), picks: fc.record(picks) }).map(({ rate, picks }) => {
    const input: Record<string, unknown> = {};
    const faults = new Map<string, Fault>();
    let utc: string | undefined;
    for (const [name, pick] of Object.entries(picks)) {
      const gen = pick.p < rate ? pick.bad : pick.ok;
      // JSON has no -0: the server receives 0, so 0 is what must be read back.
      if (gen.value !== undefined) input[name] = Object.is(gen.value, -0) ? 0 : gen.value;
      if (gen.fault !== "none") faults.set(name, gen.fault);
      if (name === "timestamp") utc = (gen as { utc?: string }).utc;
    }
    return { input, faults, utc };
  });
}

let serial = 0;
export function uniqueKeys(items: Item[], keys: string[]): void {
  for (const it of items) {
    serial++;
    for (const k of keys) {
      if (typeof it.input[k] === "string" && !it.faults.has(k))
        it.input[k] = `r${serial}-${(it.input[k] as string).slice(0, 100)}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------

const anyString = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,70}$/),
  fc.constantFrom("", "SOL", "x".repeat(100_000)),
);
const anyTimestamp = fc.oneof(
  fc.oneof(timestamp.ok, timestamp.bad as fc.Arbitrary<Gen>).map((g) => g.value),
  fc.constantFrom("1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z"),
);
const anyLong = fc.oneof(
  fc.bigInt(-LONG_MAX, LONG_MAX).map(String),
  fc.integer(),
  fc.constantFrom("9223372036854775808", "abc"),
);
const anyFloat = fc.double({ noNaN: true, noDefaultInfinity: true });
const bounds = <T>(arb: fc.Arbitrary<T>) => fc.record({ min: arb, max: arb }, { requiredKeys: [] });
const range = fc.record({ from: anyTimestamp, to: anyTimestamp });
const list = <T>(values: readonly T[]) =>
  fc.oneof(
    fc.array(fc.constantFrom(...values), { maxLength: 5 }),
    fc.array(fc.constantFrom(...values), { minLength: 95, maxLength: 150 }),
  );
const BUCKETS = ["MINUTE", "FIVE_MINUTES", "FIFTEEN_MINUTES", "HOUR", "FOUR_HOURS", "DAY", "WEEK", "MONTH"] as const;
const filter = fc.record(
  {
    from: anyTimestamp,
    to: anyTimestamp,
    baseToken: anyString,
    quoteToken: anyString,
    action: fc.constantFrom("BUY", "SELL"),
    strategy: anyString,
    venue: anyString,
    mevStatus: list(MEV_STATUSES),
    tradeId: anyString,
    signature: anyString,
    pair: fc.record({ baseToken: anyString, quoteToken: anyString }),
    actualSlippage: bounds(anyFloat),
    expectedSlippage: bounds(anyFloat),
    transactionFee: bounds(anyLong),
    priorityFee: bounds(anyLong),
    totalFee: bounds(anyLong),
  },
  { requiredKeys: [] },
);
const cursor = fc.oneof(
  anyString,
  fc.base64String({ maxLength: 200 }),
  fc.tuple(fc.bigInt(), fc.string({ maxLength: 140 })).map(([a, b]) => Buffer.from(`${a}|${b}`).toString("base64url")),
  fc.constant(Buffer.from(`${nowMicros()}|some-trade`).toString("base64url")),
);

/** Each query, its variables' generator, and the argument names its errors may name. */
export const QUERIES: [string, fc.Arbitrary<Record<string, unknown>>][] = [
  [
    "query($filter: TradeFilter, $first: Int!, $after: String, $order: SortOrder!) { trades(filter: $filter, first: $first, after: $after, order: $order) { nodes { tradeId } pageInfo { endCursor } } }",
    fc.record({
      filter: filter,
      first: fc.oneof(fc.integer({ min: -5, max: 1005 }), fc.integer()),
      after: fc.option(cursor, { nil: undefined }),
      order: fc.constantFrom("ASC", "DESC"),
    }),
  ],
  [
    "query($range: TimeRange!, $bucket: TimeBucket, $groupBy: [TradeGroupKey!]) { tradeStats(range: $range, bucket: $bucket, groupBy: $groupBy) { totals { count } buckets { count } } }",
    fc.record(
      {
        range,
        bucket: fc.constantFrom(...BUCKETS),
        groupBy: list(["PAIR", "STRATEGY", "ACTION", "MEV_STATUS", "VENUE"]),
      },
      { requiredKeys: ["range"] },
    ),
  ],
  [
    "query($range: TimeRange!, $stage: String, $bucket: TimeBucket) { latencyStats(range: $range, stage: $stage, bucket: $bucket) { totals { count } buckets { count } } }",
    fc.record({ range, stage: anyString, bucket: fc.constantFrom(...BUCKETS) }, { requiredKeys: ["range"] }),
  ],
  [
    "query($range: TimeRange!, $bucket: TimeBucket, $groupBy: [MevGroupKey!], $solPrice: Float!) { mevEffectiveness(range: $range, bucket: $bucket, groupBy: $groupBy) { totals { transactions netBenefit(solPrice: $solPrice) } } }",
    fc.record(
      { range, bucket: fc.constantFrom(...BUCKETS), groupBy: list(["PROTECTION", "STRATEGY"]), solPrice: anyFloat },
      { requiredKeys: ["range", "solPrice"] },
    ),
  ],
  [
    "query($range: TimeRange!, $strategy: String, $startingBalance: Float) { strategyPerformance(range: $range, strategy: $strategy, startingBalance: $startingBalance) { strategy maxDrawdown } }",
    fc.record({ range, strategy: anyString, startingBalance: anyFloat }, { requiredKeys: ["range"] }),
  ],
];
