// Property-based tests of every mutation input and every query argument against the real app
// and QuestDB: generated values (valid, boundary, out of range, odd strings, bad timestamps) are
// either accepted and read back exactly, or refused with BAD_USER_INPUT naming each bad field.
// Never a 500, never "Unexpected error.", and a plain query still answers afterwards.
import fc from "fast-check";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIsoMicros } from "../src/time.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import {
  amount,
  bad,
  type Fault,
  type Fields,
  field,
  type Item,
  item,
  key,
  long,
  MEV_STATUSES,
  name,
  ok,
  optional,
  QUERIES,
  signature,
  signedAmount,
  slippage,
  timestamp,
  uniqueKeys,
} from "./support/input-arbitraries.ts";
import { eventually, testPool } from "./support/questdb.ts";

const ADMIN = "admin-key-0123456789abcdef";

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
  extensions?: { code?: string; field?: string; limit?: string; problems?: { path: string }[] };
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

/**
 * What every answer must be: no 500, no masked error, every error a BAD_USER_INPUT (or, for a
 * valid query whose arguments ask for too much, the cost limit or the answer-size limit, whichever
 * the arguments reach first: docs/security.md).
 */
function expectClientAnswer(answer: Answer): void {
  expect(answer.status).not.toBe(500);
  for (const error of answer.errors ?? []) {
    expect(error.message).not.toBe("Unexpected error.");
    if (error.extensions?.code === "LIMIT_EXCEEDED") {
      expect(["MAX_COST", "MAX_RESULT_ROWS"], error.message).toContain(error.extensions.limit);
    } else expect(error.extensions?.code, error.message).toBe("BAD_USER_INPUT");
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
// Enough runs that the clean batches hold well over 10 rows (60 runs gave exactly 10 once in CI).
const RUNS = { numRuns: 120 };
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
        actualSlippage: slippage(-1),
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
        venue: optional(name),
        baseToken: optional(name),
        quoteToken: optional(name),
        tipFloorLamports: optional(long),
        computeUnits: optional(
          field(
            ok(fc.integer({ min: 1, max: 1_400_000 })),
            bad(fc.oneof(fc.integer({ min: -(2 ** 31), max: 0 }), fc.integer({ min: 1_400_001, max: 2 ** 31 - 1 }))),
          ),
        ),
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
        input.venue ?? null,
        input.baseToken ?? null,
        input.quoteToken ?? null,
        longText(input.tipFloorLamports),
        input.computeUnits ?? null,
      ],
      readBack: () =>
        rows(
          `SELECT metric_id, timestamp, trade_id, protection, outcome, tip_lamports, expected_profit, realized_profit, loss_avoided, attack_detected, slots_to_land, strategy, venue, base_token, quote_token, tip_floor_lamports, compute_units FROM ${t.prefix}mev_metrics`,
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
            r.venue,
            r.base_token,
            r.quote_token,
            r.tip_floor_lamports === null ? null : String(r.tip_floor_lamports),
            r.compute_units,
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
      kind: field(ok(fc.constantFrom("LATENCY_P99", "SANDWICH_RATE", "NO_TRADES", "QUEUE_DEPTH", "ATTACK_RATE"))),
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
        // Thresholds are read in their kind's unit: a rate is a fraction, a queue depth whole rows.
        const threshold = r.input.threshold;
        if (typeof threshold === "number" && !r.faults.has("threshold")) {
          if ((r.input.kind === "SANDWICH_RATE" || r.input.kind === "ATTACK_RATE") && threshold > 1)
            r.faults.set("threshold", "resolver");
          if (r.input.kind === "QUEUE_DEPTH" && !Number.isInteger(threshold)) r.faults.set("threshold", "resolver");
        }
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

describe("query arguments over generated values", () => {
  it("answer with data or a BAD_USER_INPUT naming the argument, and leave the API answering", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(...QUERIES.map(([query, vars]) => vars.map((variables) => ({ query, variables })))),
        async ({ query, variables }) => {
          const answer = await post(query, variables);
          expectClientAnswer(answer);
          for (const error of answer.errors ?? []) {
            if (error.extensions?.code === "LIMIT_EXCEEDED") continue;
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
