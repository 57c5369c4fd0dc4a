// Property-based tests of every mutation input and every query argument against the real app
// and QuestDB: generated values (valid, boundary, out of range, odd strings, bad timestamps) are
// either accepted and read back exactly, or refused with BAD_USER_INPUT naming each bad field.
// Never a 500, never "Unexpected error.", and a plain query still answers afterwards.
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIsoMicros, type Micros, nowMicros } from "../src/time.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { eventually, testPool } from "./support/questdb.ts";

const ADMIN = "admin-key-0123456789abcdef";
const MAX_SAFE = 2n ** 53n - 1n;
const LONG_MAX = 2n ** 63n - 1n;
const MINUTE = 60_000_000n;

let t: TestApp;
let pool: pg.Pool;
beforeAll(async () => {
  t = await startTestApp("inputprops", { ADMIN_API_KEYS: ADMIN });
  pool = testPool();
});
afterAll(async () => {
  await pool.end();
});

interface GqlError {
  message: string;
  extensions?: { code?: string; field?: string; problems?: { path: string }[] };
}
interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
}

async function post(query: string, variables: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, "status">) };
}

/** What every answer must be: no 500, no masked error, every error a BAD_USER_INPUT. */
function expectClientAnswer(answer: Answer): void {
  expect(answer.status).not.toBe(500);
  for (const error of answer.errors ?? []) {
    expect(error.message).not.toBe("Unexpected error.");
    expect(error.extensions?.code, error.message).toBe("BAD_USER_INPUT");
  }
}

// ---------------------------------------------------------------------------------------------
// Generators: each field value carries the fault it should cause: none, a scalar's refusal
// (variable coercion, HTTP 400) or the resolver's (HTTP 200, extensions.problems).

const MEV_STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;

type Fault = "none" | "scalar" | "resolver";
interface Gen<T = unknown> {
  value: T;
  fault: Fault;
}
const ok = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Gen<T>> => arb.map((value) => ({ value, fault: "none" }));
const bad = <T>(arb: fc.Arbitrary<T>, fault: Fault = "resolver"): fc.Arbitrary<Gen<T>> =>
  arb.map((value) => ({ value, fault }));
/** A field's valid values, and its faulty ones (if it has any the schema's types allow). */
interface Field {
  ok: fc.Arbitrary<Gen>;
  bad?: fc.Arbitrary<Gen>;
}
const field = (good: fc.Arbitrary<Gen>, ...faulty: fc.Arbitrary<Gen>[]): Field =>
  faulty.length > 0 ? { ok: good, bad: fc.oneof(...faulty) } : { ok: good };
/** Optional fields: absent (no fault) or the field's value. */
const optional = (f: Field): Field => ({
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
const name = field(ok(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/)), bad(oddStrings));
const key = field(
  ok(fc.stringMatching(/^[\x21-\x7e]{1,100}$/)),
  bad(fc.constantFrom("", "has space", "ключ", "k".repeat(129), "z".repeat(100_000))),
);
const signature = field(
  ok(fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/)),
  bad(fc.constantFrom("0OIl".repeat(20), "short", "1".repeat(89))),
);
const amount = field(
  ok(fc.oneof(fc.constantFrom(0, 1e15, 5e-324, 1), fc.double({ min: 0, max: 1e15, noNaN: true }))),
  bad(
    fc.oneof(
      fc.constantFrom(1e300, -1, 1.0000000000000002e15, -5e-324),
      fc.double({ min: 1e15, minExcluded: true, noNaN: true, noDefaultInfinity: true }),
    ),
  ),
);
const signedAmount = field(
  ok(fc.oneof(fc.constantFrom(-1e15, 1e15, 0), fc.double({ min: -1e15, max: 1e15, noNaN: true }))),
  bad(fc.constantFrom(1e300, -1e300, -1.0000000000000002e15)),
);
const slippage = (min: number) =>
  field(
    ok(fc.oneof(fc.constantFrom(min, 100), fc.double({ min, max: 100, noNaN: true }))),
    bad(fc.constantFrom(100.00000000000001, min - 0.5, 1e300)),
  );
const long = field(
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
const timestamp = field(
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

type Fields = Record<string, Field>;
interface Item {
  input: Record<string, unknown>;
  faults: Map<string, Fault>;
  utc: string | undefined;
}
/**
 * An input object. Half the runs are clean; in the others each field is faulty with a
 * probability of 8 % or 40 %, so both answers are exercised.
 */
function item(fields: Fields): fc.Arbitrary<Item> {
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
function uniqueKeys(items: Item[], keys: string[]): void {
  for (const it of items) {
    serial++;
    for (const k of keys) {
      if (typeof it.input[k] === "string" && !it.faults.has(k))
        it.input[k] = `r${serial}-${(it.input[k] as string).slice(0, 100)}`;
    }
  }
}

/** Checks a refused record* answer names exactly the faulted fields (paths `inputs[i].field`). */
let refusals = 0;
function expectRefusal(answer: Answer, items: Item[]): void {
  refusals++;
  expectClientAnswer(answer);
  expect(answer.data ?? null).toBeNull();
  const paths = (fault: Fault) =>
    items.flatMap((it, i) => [...it.faults].filter(([, f]) => f === fault).map(([field]) => `inputs[${i}].${field}`));
  const scalar = paths("scalar");
  if (scalar.length > 0) {
    expect(answer.status).toBe(400);
    const named = (answer.errors ?? []).map((e) => /at "(inputs\[\d+\]\.\w+)"/.exec(e.message)?.[1]);
    expect(new Set(named)).toEqual(new Set(scalar));
  } else {
    expect(answer.status).toBe(200);
    expect(answer.errors).toHaveLength(1);
    const problems = answer.errors?.[0]?.extensions?.problems?.map((p) => p.path) ?? [];
    expect(new Set(problems)).toEqual(new Set(paths("resolver")));
    for (const path of problems) expect(answer.errors?.[0]?.message).toContain(path);
  }
}

const batch = (fields: Fields) => fc.array(item(fields), { minLength: 0, maxLength: 2 });
const RUNS = { numRuns: 60 };
const longText = (v: unknown) => (v === undefined ? null : String(BigInt(v as string)));

/**
 * Sends generated batches to a record* mutation: a clean batch must be accepted with its keys as
 * ids, any other refused naming every bad field. Then every accepted row must read back as
 * `expected` says, keyed by `key`.
 */
async function recordProperty(options: {
  mutation: string;
  inputType: string;
  fields: Fields;
  key: string;
  expected: (item: Item) => unknown;
  readBack: () => Promise<[string, unknown][]>;
}): Promise<void> {
  const { mutation, inputType, fields, key } = options;
  const expected = new Map<string, unknown>();
  const refusedBefore = refusals;
  await fc.assert(
    fc.asyncProperty(batch(fields), async (items) => {
      uniqueKeys(items, [key]);
      const answer = await post(
        `mutation($inputs: [${inputType}!]!) { ${mutation}(inputs: $inputs) { accepted ids } }`,
        { inputs: items.map((i) => i.input) },
      );
      if (items.every((i) => i.faults.size === 0)) {
        const ids = items.map((i) => i.input[key]);
        expect(answer).toEqual({ status: 200, data: { [mutation]: { accepted: items.length, ids } } });
        for (const it of items) expected.set(it.input[key] as string, options.expected(it));
      } else expectRefusal(answer, items);
    }),
    RUNS,
  );
  expect(refusals - refusedBefore).toBeGreaterThan(10);
  expect(expected.size).toBeGreaterThan(10);
  const stored = await eventually(async () => {
    const rows = await options.readBack();
    return rows.length >= expected.size ? rows : undefined;
  }, `${expected.size} rows of ${mutation}`);
  expect(new Map(stored)).toEqual(expected);
}

/** Rows of a table over PGWire (exact doubles), keyed by their first column. */
async function rows(sql: string, map: (row: Record<string, unknown>) => unknown[]): Promise<[string, unknown][]> {
  const result = await pool.query<Record<string, unknown>>(sql);
  return result.rows.map((row) => {
    const [id, ...rest] = map(row);
    return [id as string, rest];
  });
}
const iso = (v: unknown) => formatIsoMicros(v as bigint);

// ---------------------------------------------------------------------------------------------

describe("record* mutations over generated inputs", () => {
  it("recordTrades: accepted trades read back exactly; refused ones name every bad field", async () => {
    const FIELDS =
      "timestamp tradeId signature action baseToken quoteToken baseAmount quoteAmount executedPrice transactionFee priorityFee expectedSlippage actualSlippage mevStatus transferFees strategy venue slot realizedPnl";
    await recordProperty({
      mutation: "recordTrades",
      inputType: "TradeInput",
      key: "tradeId",
      fields: {
        tradeId: key,
        signature: optional(signature),
        timestamp,
        action: field(ok(fc.constantFrom("BUY", "SELL"))),
        baseToken: name,
        quoteToken: name,
        baseAmount: amount,
        quoteAmount: amount,
        executedPrice: amount,
        transactionFee: long,
        priorityFee: long,
        expectedSlippage: slippage(0),
        actualSlippage: slippage(-100),
        mevStatus: field(ok(fc.constantFrom(...MEV_STATUSES))),
        transferFees: amount,
        strategy: optional(name),
        venue: optional(name),
        slot: optional(long),
        realizedPnl: optional(signedAmount),
      },
      expected: ({ input, utc }) => ({
        ...input,
        timestamp: utc,
        signature: input.signature ?? null,
        transactionFee: longText(input.transactionFee),
        priorityFee: longText(input.priorityFee),
        strategy: input.strategy ?? null,
        venue: input.venue ?? null,
        slot: longText(input.slot),
        realizedPnl: input.realizedPnl ?? null,
      }),
      readBack: async () => {
        const r = await post(`{ trades(first: 1000, order: ASC) { nodes { ${FIELDS} } } }`, {});
        const nodes = (r.data?.trades as { nodes: { tradeId: string }[] } | undefined)?.nodes ?? [];
        return nodes.map((n) => [n.tradeId, n]);
      },
    });
  });

  it("recordLatencyMetrics: accepted measurements read back exactly; refused ones name every bad field", async () => {
    await recordProperty({
      mutation: "recordLatencyMetrics",
      inputType: "LatencyMetricInput",
      key: "metricId",
      fields: {
        metricId: key,
        timestamp,
        stage: name,
        latencyUs: long,
        success: optional(field(ok(fc.boolean()))),
        strategy: optional(name),
        tradeId: optional(key),
      },
      expected: ({ input, utc }) => [
        utc,
        input.stage,
        longText(input.latencyUs),
        input.success ?? true,
        input.strategy ?? null,
        input.tradeId ?? null,
      ],
      readBack: () =>
        rows(
          `SELECT metric_id, timestamp, stage, latency_us, success, strategy, trade_id FROM ${t.prefix}latency_metrics`,
          (r) => [r.metric_id, iso(r.timestamp), r.stage, String(r.latency_us), r.success, r.strategy, r.trade_id],
        ),
    });
  });

  it("recordMevMetrics: accepted results read back exactly; refused ones name every bad field", async () => {
    await recordProperty({
      mutation: "recordMevMetrics",
      inputType: "MevMetricInput",
      key: "metricId",
      fields: {
        metricId: key,
        timestamp,
        tradeId: optional(key),
        protection: field(ok(fc.constantFrom("JITO_BUNDLE", "PRIVATE_RPC", "NONE", "OTHER"))),
        outcome: field(ok(fc.constantFrom("LANDED", "FAILED", "DROPPED", "SANDWICHED", "FRONT_RUN", "BACK_RUN"))),
        tipLamports: long,
        expectedProfit: optional(signedAmount),
        realizedProfit: optional(signedAmount),
        lossAvoided: optional(amount),
        attackDetected: optional(field(ok(fc.boolean()))),
        slotsToLand: optional(
          field(
            ok(fc.integer({ min: 0, max: 1_000_000 })),
            bad(fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.integer({ min: 1_000_001, max: 2 ** 31 - 1 }))),
          ),
        ),
        strategy: optional(name),
      },
      expected: ({ input, utc }) => [
        utc,
        input.tradeId ?? null,
        input.protection,
        input.outcome,
        longText(input.tipLamports),
        input.expectedProfit ?? null,
        input.realizedProfit ?? null,
        input.lossAvoided ?? null,
        input.attackDetected ?? false,
        input.slotsToLand ?? null,
        input.strategy ?? null,
      ],
      readBack: () =>
        rows(
          `SELECT metric_id, timestamp, trade_id, protection, outcome, tip_lamports, expected_profit, realized_profit, loss_avoided, attack_detected, slots_to_land, strategy FROM ${t.prefix}mev_metrics`,
          (r) => [
            r.metric_id,
            iso(r.timestamp),
            r.trade_id,
            r.protection,
            r.outcome,
            String(r.tip_lamports),
            r.expected_profit,
            r.realized_profit,
            r.loss_avoided,
            r.attack_detected,
            r.slots_to_land,
            r.strategy,
          ],
        ),
    });
  });

  it("upsertAlertRule: accepted rules are listed exactly; refused ones name every bad field", async () => {
    const rule = item({
      id: optional(
        field(
          ok(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,50}$/)),
          bad(fc.constantFrom("", "a b", "i".repeat(65), "ключ")),
        ),
      ),
      kind: field(ok(fc.constantFrom("LATENCY_P99", "SANDWICH_RATE", "NO_TRADES", "QUEUE_DEPTH"))),
      stage: optional(name),
      windowSeconds: optional(
        field(
          ok(fc.integer({ min: 1, max: 86_400 })),
          bad(fc.oneof(fc.constantFrom(0, -1), fc.integer({ min: 86_401 }))),
        ),
      ),
      threshold: amount,
      hysteresis: optional(
        field(ok(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })), bad(fc.constantFrom(1, -0.1, 1e300))),
      ),
    });
    const refusedBefore = refusals;
    await fc.assert(
      fc.asyncProperty(rule, async (r) => {
        uniqueKeys([r], ["id"]);
        if (r.input.kind === "LATENCY_P99" && r.input.stage === undefined) r.faults.set("stage", "resolver");
        const answer = await post(
          "mutation($input: AlertRuleInput!) { upsertAlertRule(input: $input) { id kind stage windowSeconds threshold hysteresis } }",
          { input: r.input },
        );
        expectClientAnswer(answer);
        if (r.faults.size === 0) {
          const stored = {
            id: r.input.id ?? expect.any(String),
            kind: r.input.kind,
            stage: r.input.stage ?? null,
            windowSeconds: r.input.windowSeconds ?? 60,
            threshold: r.input.threshold,
            hysteresis: r.input.hysteresis ?? 0.1,
          };
          expect(answer).toEqual({ status: 200, data: { upsertAlertRule: stored } });
          const listed = await post("{ alertRules { id kind stage windowSeconds threshold hysteresis } }", {});
          expect(listed.data?.alertRules).toContainEqual(answer.data?.upsertAlertRule);
        } else {
          refusals++;
          expect(answer.errors).toHaveLength(1);
          const message = answer.errors?.[0]?.message ?? "";
          const named = [...message.matchAll(/input\.(\w+):/g)].map((m) => m[1]);
          expect(new Set(named)).toEqual(new Set(r.faults.keys()));
        }
      }),
      RUNS,
    );
    expect(refusals - refusedBefore).toBeGreaterThan(10);
  });
});

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
const QUERIES: [string, fc.Arbitrary<Record<string, unknown>>][] = [
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

describe("query arguments over generated values", () => {
  it("answer with data or a BAD_USER_INPUT naming the argument, and leave the API answering", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(...QUERIES.map(([query, vars]) => vars.map((variables) => ({ query, variables })))),
        async ({ query, variables }) => {
          const answer = await post(query, variables);
          expectClientAnswer(answer);
          for (const error of answer.errors ?? []) {
            const root = error.extensions?.field?.split(/[.[]/)[0] ?? /^Variable "\$(\w+)"/.exec(error.message)?.[1];
            // netBenefit's solPrice is a field argument; a bucket count names the bucket.
            expect([...Object.keys(variables), "bucket"], error.message).toContain(root);
          }
        },
      ),
      { numRuns: 100 },
    );
    const after = await post("{ trades(first: 1) { nodes { tradeId } } }", {});
    expect(after.status).toBe(200);
    expect(after.errors).toBeUndefined();
  });
});
